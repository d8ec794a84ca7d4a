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
/// 2²¹ flops or more are split over the threads in effect (`setComputeThreads`) by whole 32-column
/// panels of C.
/// - Complexity: O(m·n·k); B is read in place (a transposed B is copied once, in 32-column
///   panels), A too (a transposed A with k > 256 is copied into 12-row tiles 512 rows of k at a
///   time).
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
        transposedAInChunks(m: m, k: k, a, lda: la, [(n, b, ldb ?? (transB ? k : n), transB, alpha, beta, c, ldc ?? n)])
    } else {
        gemmPanels(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: la,
                   b, ldb: ldb ?? (transB ? k : n), beta: beta, c, ldc: ldc ?? n)
    }
}

/// Products C_i = alpha_i·Aᵀ·op(B_i) + beta_i·C_i sharing a transposed A [k, m], in chunks of
/// `MK_KC` rows of k: each chunk of A is copied into 12-row tiles (`mk_pack_a`, split over the
/// threads) and every product runs on it, chunk after chunk (beta_i on the first, 1 after). That
/// is exactly the chunk loop inside `mk_gemm`, so the bits are those of one call over the whole
/// k; the copy is a chunk (m·512 floats, 2 MB for an LSTM's dGᵀ) instead of the whole A, and is
/// still in cache when the products read it.
private func transposedAInChunks(
    m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
    _ products: [(n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool, alpha: Float, beta: Float,
                  c: UnsafeMutablePointer<Float>, ldc: Int)]
) {
    let chunk = Int(MK_KC), tiles = (m + Int(MK_TILE_ROWS) - 1) / Int(MK_TILE_ROWS)
    let block = BufferPool.shared.take(mk_packed_a_count(Int32(m), Int32(min(k, chunk))))
    defer { BufferPool.shared.give(block.0, block.1) }
    for k0 in stride(from: 0, to: k, by: chunk) {
        let kc = min(chunk, k - k0)
        splitWork(tiles, costPerItem: kc * Int(MK_TILE_ROWS)) { lo, hi in
            mk_pack_a(a + k0 * lda, Int32(lda), Int32(m), Int32(kc), block.0, Int32(lo), Int32(hi))
        }
        for q in products where q.n > 0 {
            // Rows k0 ..< k0 + kc of op(B): B [k, n] from row k0, or B [n, k] from column k0.
            let bChunk = q.transB ? q.b + k0 : q.b + k0 * q.ldb
            gemmPanels(transA: true, transB: q.transB, m: m, n: q.n, k: kc, alpha: q.alpha, UnsafePointer(block.0),
                       lda: lda, bChunk, ldb: q.ldb, beta: k0 == 0 ? q.beta : 1, q.c, ldc: q.ldc)
        }
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
    transposedAInChunks(m: m, k: k, a, lda: la, products.map { ($0.n, $0.b, $0.n, false, 1, $0.beta, $0.c, $0.n) })
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
        mk_gemm(transA ? (aInPlace ? 2 : 1) : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta,
                c, Int32(ldc), Int32(lo), Int32(hi), nil)
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
