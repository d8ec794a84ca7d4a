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
/// - Complexity: O(m·n·k); op(B) is copied once in 32-column panels, A is read in place (a
///   transposed A is copied once into 12-row tiles).
@inline(__always)
public func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int? = nil,
    _ b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    if m == 0 || n == 0 { return }
    let la = Int32(lda ?? (transA ? m : k))
    let lb = Int32(ldb ?? (transB ? k : n))
    let lc = Int32(ldc ?? n)
    let panels = (n + Int(MK_PANEL) - 1) / Int(MK_PANEL)
    // A transposed A is first copied into 12-row tiles (`mk_pack_a`), shared by the threads.
    var packedA: (UnsafeMutablePointer<Float>, Int)? = nil
    if transA, k > 0 {
        let block = BufferPool.shared.take(mk_packed_a_count(Int32(m), Int32(k)))
        let tiles = (m + Int(MK_TILE_ROWS) - 1) / Int(MK_TILE_ROWS)
        splitWork(tiles, costPerItem: k * Int(MK_TILE_ROWS)) { lo, hi in
            mk_pack_a(a, la, Int32(m), Int32(k), block.0, Int32(lo), Int32(hi))
        }
        packedA = block
    }
    defer { if let (p, c) = packedA { BufferPool.shared.give(p, c) } }
    let aOperand = packedA.map { UnsafePointer($0.0) } ?? a
    splitWork(panels, costPerItem: max(1, m * k * Int(MK_PANEL) / 8)) { lo, hi in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Int(MK_KC) * Int(MK_PANEL))
        defer { buffer.deallocate() }
        mk_gemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, aOperand, la, b, lb, beta, c, lc,
                Int32(lo), Int32(hi), buffer)
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
