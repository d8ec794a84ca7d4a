import CBLAS

// The system BLAS (OpenBLAS on Linux, Accelerate on Apple platforms) as a peer and an oracle.
//
// mixer's products run on its own kernels (`Seq2Seq.gemm`, `PackedMatrix`, `CKernels`): they run
// at the core's FMA peak whatever kernel OpenBLAS picks (the environment may pin it with
// `OPENBLAS_CORETYPE`), and they sum in an order that makes a batch row independent of the other
// rows. This module keeps `cblas_sgemm` for what it is still good for: the benchmark peer of
// `bench/gemm.sh` and a second test oracle. The libraries and the command line do not link it,
// so no OpenBLAS thread pool starts (and spins) in `mixer-cli`.

/// The kernel the system BLAS picked, as OpenBLAS names it ("Haswell", "SkylakeX"; it follows
/// `OPENBLAS_CORETYPE`), or "Accelerate" on Apple platforms.
public var blasCoreName: String {
    #if canImport(Darwin)
    return "Accelerate"
    #else
    return String(cString: openblas_get_corename())
    #endif
}

/// OpenBLAS runs single-threaded here, always: the benchmarks compare one call on one thread.
private let blasSingleThreaded: Void = {
    #if !canImport(Darwin)
    openblas_set_num_threads(1)
    #endif
}()

/// C = alpha · op(A) · op(B) + beta · C, the contract of `Seq2Seq.gemm`, computed by the system
/// BLAS (`cblas_sgemm`, one call on the calling thread): the peer of `bench/gemm.sh` and a second
/// oracle for the tests.
/// - Complexity: O(m·n·k).
public func systemGemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    _ = blasSingleThreaded
    let la = lda ?? (transA ? m : k), lb = ldb ?? (transB ? k : n), lc = ldc ?? n
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
}
