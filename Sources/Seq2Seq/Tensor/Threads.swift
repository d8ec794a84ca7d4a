import CKernels
import Dispatch
import Foundation

/// The threads mixer's own code splits its work over (see `setComputeThreads`).
private nonisolated(unsafe) var computeThreads: Int = defaultComputeThreads()

/// The default thread count: `MIXER_THREADS` when set to a positive number, else
/// `OMP_NUM_THREADS` when set to one (the convention PyTorch and OpenMP programs follow), else
/// the active processors. (Until 0.2.0 this read `OPENBLAS_NUM_THREADS`, from the days the
/// products ran on OpenBLAS; mixer links no BLAS now, so it no longer does.)
func defaultComputeThreads(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
    for key in ["MIXER_THREADS", "OMP_NUM_THREADS"] {
        if let s = environment[key], let n = Int(s.trimmingCharacters(in: .whitespaces)), n > 0 { return n }
    }
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Sets the number of threads for the matrix products and the other large loops (at least 1).
/// Each large product (`gemm`, `PackedMatrix`) is split into whole 32-column panels, one part
/// per thread, so a product gives the same bits for any thread count, and so do the elementwise
/// loops.
public func setComputeThreads(_ n: Int) {
    computeThreads = max(1, n)
}

/// The name of ``setComputeThreads(_:)`` until 0.2.0, when the products still ran on a BLAS.
@available(*, deprecated, renamed: "setComputeThreads")
public func setBLASThreads(_ n: Int) { setComputeThreads(n) }

/// The number of threads in effect (see `setComputeThreads`).
public func computeThreadCount() -> Int { computeThreads }

/// Runs `a` and `b` at the same time on two threads, each with half the threads, when at least
/// two are in effect (then restores the count); otherwise runs them one after the other. For two
/// independent halves of a layer (the two directions of a biLSTM), whose small per-step products
/// split poorly over threads.
func runPair(_ a: () -> Void, _ b: () -> Void) {
    let n = computeThreadCount()
    guard n >= 2 else { a(); b(); return }
    computeThreads = n / 2
    parallelParts(2, threads: 2) { i in if i == 0 { a() } else { b() } }
    computeThreads = n
}

/// Runs `body(lo, hi)` over 0..<count in as many contiguous parts as there are threads in
/// effect (`setComputeThreads`), on that many threads, when the work is large enough
/// (`count·costPerItem ≥ 2¹⁸`); else in one call. For independent rows or elements (softmax
/// rows, the optimizer's elementwise update, row blocks of a product): the result never depends
/// on the split. Part boundaries are multiples of `align`.
func splitWork(_ count: Int, costPerItem: Int = 1, align: Int = 1, _ body: (_ lo: Int, _ hi: Int) -> Void) {
    let threads = computeThreadCount()
    guard count >= 2, threads >= 2, count * costPerItem >= 1 << 18 else { body(0, count); return }
    let blocks = (count + align - 1) / align
    let parts = min(threads, blocks)
    if parts < 2 { body(0, count); return }
    parallelParts(parts, threads: threads) { i in
        let lo = min(count, (blocks * i / parts) * align), hi = min(count, (blocks * (i + 1) / parts) * align)
        if lo < hi { body(lo, hi) }
    }
}

/// Runs `body(0)` … `body(parts − 1)` (independent parts) on `threads` threads: mixer's pool
/// (`mk_parallel`, whose idle workers spin briefly instead of sleeping, so the hundreds of short
/// loops of a training step do not each wake a thread through the kernel), or libdispatch when
/// called from inside a part of the pool (a nested loop: the pool runs one loop at a time).
func parallelParts(_ parts: Int, threads: Int, _ body: (Int) -> Void) {
    if mk_parallel_inside_part() != 0 {
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
        return
    }
    withoutActuallyEscaping(body) { body in
        var task = body
        withUnsafeMutablePointer(to: &task) { context in
            _ = mk_parallel(Int32(parts), Int32(threads), { context, part in
                context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(part))
            }, context)
        }
    }
}
