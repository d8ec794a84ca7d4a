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
