import CBLAS
import Dispatch

/// Which BLAS kernel runs the matrix products, as OpenBLAS names it ("Haswell", "SkylakeX"),
/// or "Accelerate" on Apple platforms.
public var blasCoreName: String {
    #if canImport(Darwin)
    return "Accelerate"
    #else
    return String(cString: openblas_get_corename())
    #endif
}

/// Sets the number of BLAS threads (OpenBLAS); a no-op on Accelerate.
public func setBLASThreads(_ n: Int) {
    #if !canImport(Darwin)
    openblas_set_num_threads(Int32(n))
    #endif
}

/// The number of BLAS threads now in effect (1 on Accelerate).
func blasThreads() -> Int {
    #if canImport(Darwin)
    return 1
    #else
    return Int(openblas_get_num_threads())
    #endif
}

/// Runs `a` and `b` at the same time on two threads, each with single-threaded BLAS, when BLAS
/// has at least two threads (then restores the BLAS thread count); otherwise runs them one
/// after the other. For two independent halves of a layer (the two directions of a biLSTM),
/// whose small per-step GEMMs split poorly over threads.
func runPair(_ a: () -> Void, _ b: () -> Void) {
    let n = blasThreads()
    guard n >= 2 else { a(); b(); return }
    setBLASThreads(1)
    DispatchQueue.concurrentPerform(iterations: 2) { i in if i == 0 { a() } else { b() } }
    setBLASThreads(n)
}

/// Runs `body(lo, hi)` over 0..<count, split in two halves on two threads when BLAS runs at
/// least two and the work is large enough (`count·costPerItem ≥ 2¹⁸`), else in one call. For
/// independent rows or elements (softmax rows, the optimizer's elementwise update): the result
/// never depends on the split. Halves are rounded to multiples of `align`.
func splitInTwo(_ count: Int, costPerItem: Int = 1, align: Int = 1, _ body: (_ lo: Int, _ hi: Int) -> Void) {
    guard count >= 2, count * costPerItem >= 1 << 18, blasThreads() >= 2 else { body(0, count); return }
    let half = max(align, (count / 2) / align * align)
    if half >= count { body(0, count); return }
    DispatchQueue.concurrentPerform(iterations: 2) { i in i == 0 ? body(0, half) : body(half, count) }
}
