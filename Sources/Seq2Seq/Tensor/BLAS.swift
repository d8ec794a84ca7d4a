import CBLAS

/// C = alpha · op(A) · op(B) + beta · C over row-major Float32 matrices, through `cblas_sgemm`.
///
/// op(A) is [m, k] (A is stored [m, k] with leading dimension `lda`, or [k, m] when `transA`),
/// op(B) is [k, n] (B stored [k, n], or [n, k] when `transB`), C is [m, n] with leading
/// dimension `ldc`. Leading dimensions default to the packed row length, so sub-matrices
/// (a column block of a weight) are used in place without copies. Products of 2²¹ flops or more
/// are split over the threads in effect (`setBLASThreads`), one single-threaded BLAS call each.
/// - Complexity: O(m·n·k).
@inline(__always)
public func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta != 1 {
            let l = ldc ?? n
            for i in 0..<m { for j in 0..<n { c[i * l + j] = beta == 0 ? 0 : c[i * l + j] * beta } }
        }
        return
    }
    _ = blasSingleThreaded
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
    // Large products: row blocks of C (or column blocks when C is wide), one single-threaded
    // OpenBLAS call per thread (`splitWork`); deterministic for a given thread count.
    if m >= n {
        splitWork(m, costPerItem: max(1, n * k / 8), align: 16) { lo, hi in
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(hi - lo), Int32(n), Int32(k), alpha,
                        transA ? a + lo : a + lo * la, Int32(la), b, Int32(lb), beta, c + lo * lc, Int32(lc))
        }
    } else {
        splitWork(n, costPerItem: max(1, m * k / 8), align: 16) { lo, hi in
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(hi - lo), Int32(k), alpha,
                        a, Int32(la), transB ? b + lo * lb : b + lo, Int32(lb), beta, c + lo, Int32(lc))
        }
    }
}

/// The test oracle for `gemm`: the same contract computed by three plain loops in Double.
/// - Complexity: O(m·n·k).
public func matmulNaive(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    let lc = ldc ?? n
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = transA ? a[p * la + i] : a[i * la + p]
                let bv = transB ? b[j * lb + p] : b[p * lb + j]
                s += Double(av) * Double(bv)
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * lc + j])
            c[i * lc + j] = Float(Double(alpha) * s + old)
        }
    }
}

/// y = alpha · op(A) · x + beta · y for a row-major A [m, n] (op(A) = Aᵀ when `trans`).
/// - Complexity: O(m·n).
@inline(__always)
public func gemv(
    trans: Bool = false, m: Int, n: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ x: UnsafePointer<Float>, beta: Float = 0, _ y: UnsafeMutablePointer<Float>
) {
    if m == 0 || n == 0 { return }
    cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
                Int32(lda ?? n), x, 1, beta, y, 1)
}
