import CKernels

/// C = alpha · op(A) · op(B) + beta · C over row-major Float32 matrices.
///
/// op(A) is [m, k] (A is stored [m, k] with leading dimension `lda`, or [k, m] when `transA`),
/// op(B) is [k, n] (B stored [k, n], or [n, k] when `transB`), C is [m, n] with leading
/// dimension `ldc`. Leading dimensions default to the packed row length, so sub-matrices
/// (a column block of a weight) are used in place without copies.
///
/// Runs mixer's own micro-kernels (`mk_gemm` in `CKernels`: AVX-512 12 × 32 tiles, AVX2+FMA
/// 3 × 32, portable C; the same ones as `PackedMatrix`), not the system BLAS: they run at the
/// core's FMA peak whatever kernel the BLAS library picks (`OPENBLAS_CORETYPE`), and each element
/// of C is summed in an order that depends on k alone, so a row of C never depends on the other
/// rows (a decoded sentence does not depend on its batch) nor on the thread count. Products of
/// 2²¹ flops or more are split over the threads in effect (`setBLASThreads`) by whole 32-column
/// panels of C.
/// - Complexity: O(m·n·k); B is read in place (a transposed B is copied once, in 32-column
///   panels), A too (a transposed A with k > 256 is copied once into 12-row tiles).
@inline(__always)
public func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    if m == 0 || n == 0 { return }
    let la = lda ?? (transA ? m : k)
    if transA, k > 0, k <= transposedAInPlaceMaximumK {
        // A transposed A with few rows of k is read in place: a tile of 12 rows of op(A) reads k
        // cache lines, which stay in L1 while the panels go by, and the copy would cost as much as
        // it saves (dW_o = dLogitsᵀ·O over a block of 160 rows: 5.0 ms in place, 5.0 + 0.5 packed).
        gemmPanels(transA: true, aInPlace: true, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: la,
                   b, ldb: ldb ?? (transB ? k : n), beta: beta, c, ldc: ldc ?? n)
    } else if transA, k > 0 {
        // A transposed A is first copied into 12-row tiles (`mk_pack_a`), shared by the threads.
        let packed = packTransposed(m: m, k: k, a, lda: la)
        defer { BufferPool.shared.give(packed.0, packed.1) }
        gemmPanels(transA: true, transB: transB, m: m, n: n, k: k, alpha: alpha, UnsafePointer(packed.0), lda: la,
                   b, ldb: ldb ?? (transB ? k : n), beta: beta, c, ldc: ldc ?? n)
    } else {
        gemmPanels(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: la,
                   b, ldb: ldb ?? (transB ? k : n), beta: beta, c, ldc: ldc ?? n)
    }
}

/// C_i = op(A)·B_i + beta_i·C_i with op(A) = Aᵀ [m, k] (A stored [k, m]) shared by every product:
/// `gemm(transA: true, …)` for each, with Aᵀ copied into tiles once instead of once per product
/// (the LSTM weight gradients dW_ih, dW_hh = dGᵀ·x, dGᵀ·h share dG). B_i is [k, n_i].
/// - Complexity: O(m·k·Σ n_i).
public func gemmSharedTransposedA(
    m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ products: [(n: Int, b: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>)]
) {
    if m == 0 || products.isEmpty { return }
    let la = lda ?? m
    if k == 0 {
        for q in products { gemm(transA: true, m: m, n: q.n, k: 0, a, lda: la, q.b, beta: q.beta, q.c) }
        return
    }
    let packed = packTransposed(m: m, k: k, a, lda: la)
    defer { BufferPool.shared.give(packed.0, packed.1) }
    for q in products where q.n > 0 {
        gemmPanels(transA: true, transB: false, m: m, n: q.n, k: k, alpha: 1, UnsafePointer(packed.0), lda: la,
                   q.b, ldb: q.n, beta: q.beta, q.c, ldc: q.n)
    }
}

/// Aᵀ [m, k] for A [k, m] in `mk_pack_a`'s 12-row tiles, in a block of the buffer pool (give it
/// back); the tiles are split over the threads.
private func packTransposed(m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int) -> (UnsafeMutablePointer<Float>, Int) {
    let block = BufferPool.shared.take(mk_packed_a_count(Int32(m), Int32(k)))
    let tiles = (m + Int(MK_TILE_ROWS) - 1) / Int(MK_TILE_ROWS)
    splitWork(tiles, costPerItem: k * Int(MK_TILE_ROWS)) { lo, hi in
        mk_pack_a(a, Int32(lda), Int32(m), Int32(k), block.0, Int32(lo), Int32(hi))
    }
    return block
}

/// The most rows of k for which `gemm` reads a transposed A in place rather than copying it into
/// tiles (the same bits either way).
let transposedAInPlaceMaximumK = 256

/// `mk_gemm` over the 32-column panels of C, split over the threads (A already in mk_gemm's form:
/// packed tiles when `transA`, or the transposed A itself when `aInPlace` too).
private func gemmPanels(
    transA: Bool, aInPlace: Bool = false, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int, beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let panels = (n + Int(MK_PANEL) - 1) / Int(MK_PANEL)
    splitWork(panels, costPerItem: max(1, m * k * Int(MK_PANEL) / 8)) { lo, hi in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Int(MK_KC) * Int(MK_PANEL))
        defer { buffer.deallocate() }
        mk_gemm(transA ? (aInPlace ? 2 : 1) : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta,
                c, Int32(ldc), Int32(lo), Int32(hi), buffer)
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

/// y = op(A) · x + beta · y for a row-major A [m, n] (op(A) = Aᵀ when `trans`: x has m entries
/// and y n), on mixer's kernels (`mk_gemv`: one vectorised dot product per row, or rows added
/// into y in turn). Each output's summation order depends only on the row length, so a batch
/// row's attention never depends on the other rows.
/// - Complexity: O(m·n).
@inline(__always)
public func gemv(
    trans: Bool = false, m: Int, n: Int, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ x: UnsafePointer<Float>, beta: Float = 0, _ y: UnsafeMutablePointer<Float>
) {
    if m == 0 || n == 0 { return }
    mk_gemv(trans ? 1 : 0, Int32(m), Int32(n), a, Int32(lda ?? n), x, beta, y)
}
