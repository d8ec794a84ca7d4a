import XCTest
@testable import Seq2Seq
import SystemBLAS

final class TensorTests: XCTestCase {
    /// gemm against the naive oracle for every transpose pair, with padded leading
    /// dimensions and alpha/beta. Float32 BLAS vs Double loops over k ≤ 37 terms of size ≤ 1:
    /// the difference is bounded by ~k·6e-8; 1e-5 leaves a wide margin.
    func testGemmMatchesNaive() {
        var rng = RandomGenerator(seed: 1)
        for seed in 0..<20 {
            let m = 1 + Int(rng.next() % 9), n = 1 + Int(rng.next() % 11), k = 1 + Int(rng.next() % 37)
            for ta in [false, true] {
                for tb in [false, true] {
                    let lda = (ta ? m : k) + seed % 3, ldb = (tb ? k : n) + seed % 2, ldc = n + seed % 4
                    let a = FloatBuffer(count: (ta ? k : m) * lda), b = FloatBuffer(count: (tb ? n : k) * ldb)
                    let c1 = FloatBuffer(count: m * ldc)
                    GradCheck.fill(a.pointer, a.count, rng: &rng)
                    GradCheck.fill(b.pointer, b.count, rng: &rng)
                    GradCheck.fill(c1.pointer, c1.count, rng: &rng)
                    let c2 = FloatBuffer(c1.array)
                    let alpha: Float = seed % 2 == 0 ? 1 : 0.5, beta: Float = [0, 1, -0.25][seed % 3]
                    gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a.pointer, lda: lda, b.pointer, ldb: ldb,
                         beta: beta, c1.pointer, ldc: ldc)
                    matmulNaive(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a.pointer, lda: lda, b.pointer, ldb: ldb,
                                beta: beta, c2.pointer, ldc: ldc)
                    for i in 0..<c1.count {
                        XCTAssertEqual(c1[i], c2[i], accuracy: 1e-5, "seed \(seed) transA \(ta) transB \(tb) at \(i)")
                    }
                }
            }
        }
    }

    /// Large products split over threads (whole 32-column panels per thread, every transpose)
    /// equal the one-thread product bit for bit, and match the naive oracle.
    func testSplitGemmEqualsOneThread() {
        var rng = RandomGenerator(seed: 4)
        for (m, n, k) in [(300, 70, 120), (40, 900, 64)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n)
                    GradCheck.fill(a.pointer, a.count, rng: &rng)
                    GradCheck.fill(b.pointer, b.count, rng: &rng)
                    let c1 = FloatBuffer(count: m * n), c2 = FloatBuffer(count: m * n), c3 = FloatBuffer(count: m * n)
                    setComputeThreads(1)
                    gemm(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, b.pointer, c1.pointer)
                    for threads in [2, 3, 7, 16, 64] {
                        setComputeThreads(threads)
                        gemm(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, b.pointer, c2.pointer)
                        setComputeThreads(1)
                        XCTAssertEqual(c1.array, c2.array, "m \(m) n \(n) transA \(ta) transB \(tb): depends on the threads (\(threads), \(PackedMatrix.kernelName))")
                    }
                    matmulNaive(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, b.pointer, c3.pointer)
                    for i in stride(from: 0, to: c1.count, by: 97) { XCTAssertEqual(c1[i], c3[i], accuracy: 1e-4) }
                }
            }
        }
    }

    /// Every micro-kernel (AVX-512, AVX2, portable) on shapes that cross the 12-row tiles, the
    /// 32-column panels, the 512-deep k chunks and the row blocks, against the naive oracle and
    /// against the system BLAS (a transposed A is packed into tiles for k > 256 and read in place
    /// otherwise: both paths are here). Sums of up to 1,100 products of terms in [−1, 1]: Float32 error
    /// ≲ √k·6e-8·|terms| with random signs, k·6e-8 at worst; 2e-4 covers the worst case.
    func testGemmEveryKernelLargeShapes() {
        var rng = RandomGenerator(seed: 9)
        forEachKernelLevel { level in
            for (m, n, k) in [(13, 33, 1_100), (300, 65, 513), (150, 70, 203), (25, 40, 1)] {
                for ta in [false, true] {
                    for tb in [false, true] {
                        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n)
                        GradCheck.fill(a.pointer, a.count, rng: &rng)
                        GradCheck.fill(b.pointer, b.count, rng: &rng)
                        let c1 = FloatBuffer(count: m * n)
                        GradCheck.fill(c1.pointer, c1.count, rng: &rng)
                        let c2 = FloatBuffer(c1.array), c3 = FloatBuffer(c1.array)
                        gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a.pointer, b.pointer, beta: 1, c1.pointer)
                        matmulNaive(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a.pointer, b.pointer, beta: 1, c2.pointer)
                        systemGemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a.pointer, b.pointer, beta: 1, c3.pointer)
                        var worst: Float = 0
                        for i in 0..<c1.count { worst = max(worst, abs(c1[i] - c2[i]), abs(c1[i] - c3[i])) }
                        XCTAssertLessThan(worst, 2e-4, "kernel \(level) m \(m) n \(n) k \(k) transA \(ta) transB \(tb)")
                    }
                }
            }
        }
    }

    /// A row of C never depends on the other rows: the product of a subset of rows of op(A)
    /// equals those rows of the whole product bit for bit (every transpose, every kernel). This
    /// is what makes a decoded sentence independent of its batch.
    func testGemmRowsDoNotDependOnTheBatch() {
        var rng = RandomGenerator(seed: 10)
        let m = 29, n = 70, k = 600
        forEachKernelLevel { level in
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n)
                    GradCheck.fill(a.pointer, a.count, rng: &rng)
                    GradCheck.fill(b.pointer, b.count, rng: &rng)
                    let whole = FloatBuffer(count: m * n)
                    gemm(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, b.pointer, whole.pointer)
                    for (lo, rows) in [(0, 1), (5, 7), (13, 16), (28, 1)] {
                        let part = FloatBuffer(count: rows * n)
                        // Rows lo ..< lo + rows of op(A): in place when A is [m, k], a column block when A is [k, m].
                        gemm(transA: ta, transB: tb, m: rows, n: n, k: k, ta ? a.pointer + lo : a.pointer + lo * k,
                             lda: ta ? m : k, b.pointer, part.pointer)
                        XCTAssertEqual(part.array, whole.slice(lo * n, rows * n), "kernel \(level) transA \(ta) transB \(tb) rows \(lo)+\(rows)")
                    }
                }
            }
        }
    }

    /// A transposed A (read in place for k ≤ 256, else copied into tiles 512 rows of k at a time)
    /// gives the bits of the same product on Aᵀ stored row-major: the kernels sum each element in
    /// the same order whatever the layout of A, and the chunked copy keeps mk_gemm's chunk order.
    /// Every kernel, k across one, two and three chunks, both layouts of B, alpha and beta.
    func testTransposedAGivesTheBitsOfTheRowMajorProduct() {
        var rng = RandomGenerator(seed: 14)
        forEachKernelLevel { level in
            for (m, n, k) in [(37, 45, 200), (30, 64, 700), (13, 33, 1_100)] {
                for tb in [false, true] {
                    let a = FloatBuffer(count: k * m), b = FloatBuffer(count: k * n), c0 = FloatBuffer(count: m * n)
                    for buf in [a, b, c0] { GradCheck.fill(buf.pointer, buf.count, rng: &rng) }
                    let at = FloatBuffer(count: m * k)  // Aᵀ [m, k], row-major
                    for i in 0..<m { for p in 0..<k { at[i * k + p] = a[p * m + i] } }
                    let c1 = FloatBuffer(c0.array), c2 = FloatBuffer(c0.array)
                    gemm(transA: true, transB: tb, m: m, n: n, k: k, alpha: 0.5, a.pointer, b.pointer, beta: 1, c1.pointer)
                    gemm(transB: tb, m: m, n: n, k: k, alpha: 0.5, at.pointer, b.pointer, beta: 1, c2.pointer)
                    XCTAssertEqual(c1.array, c2.array, "kernel \(level) m \(m) n \(n) k \(k) transB \(tb)")
                }
            }
        }
    }

    /// The buffer pool hands an idle block back for a request of its class, or of a class up to
    /// 4× smaller (its pages are resident already), never for a much smaller one; blocks come
    /// back to their own class.
    func testBufferPoolReusesIdleBlocksOfTheSameOrASomewhatLargerClass() {
        let pool = BufferPool()
        let (big, bigCapacity) = pool.take(4_000_000)
        pool.give(big, bigCapacity)
        let (same, sameCapacity) = pool.take(3_900_000)
        XCTAssertEqual(same, big)
        XCTAssertEqual(sameCapacity, bigCapacity)
        pool.give(same, sameCapacity)
        let (smaller, smallerCapacity) = pool.take(1_500_000)
        XCTAssertEqual(smaller, big, "an idle block up to 4× larger serves the request")
        XCTAssertEqual(smallerCapacity, bigCapacity, "and keeps its own capacity")
        let (tiny, tinyCapacity) = pool.take(300_000)
        XCTAssertNotEqual(tiny, big)
        pool.give(smaller, smallerCapacity)
        let (other, otherCapacity) = pool.take(300_000)
        XCTAssertNotEqual(other, big, "a block over 4× larger is not handed out")
        pool.give(tiny, tinyCapacity)
        pool.give(other, otherCapacity)
    }

    /// The thread pool runs every part of every loop exactly once, for loops posted back to back
    /// (the workers never sleep between them) and after a pause (they have blocked), with more
    /// parts than threads, and with a nested loop inside a part (run by libdispatch).
    func testParallelPartsRunEachPartOnce() {
        for threads in [2, 3, 5] {
            for parts in [2, 3, 7, 64] {
                var counts = [Int](repeating: 0, count: parts)
                counts.withUnsafeMutableBufferPointer { c in
                    for loop in 0..<500 {
                        if loop == 250 { usleep(5_000) }  // past the spin: the workers block, then wake
                        parallelParts(parts, threads: threads) { i in c[i] += 1 }
                    }
                }
                XCTAssertEqual(counts, [Int](repeating: 500, count: parts), "threads \(threads) parts \(parts)")
            }
        }
        var inner = [Int](repeating: 0, count: 12)
        inner.withUnsafeMutableBufferPointer { c in
            parallelParts(3, threads: 3) { i in
                parallelParts(4, threads: 2) { j in c[i * 4 + j] += 1 }
            }
        }
        XCTAssertEqual(inner, [Int](repeating: 1, count: 12))
    }

    /// Products sharing a transposed A (packed once) equal separate `gemm(transA: true, …)` calls
    /// bit for bit, with their own betas; with k ≤ 256 `gemm` reads A in place, so this also
    /// checks that reading A in place and from its tiles give the same bits.
    func testSharedTransposedAEqualsSeparateProducts() {
        for k in [530, 203] { sharedTransposedAEqualsSeparateProducts(k: k) }
    }

    func sharedTransposedAEqualsSeparateProducts(k: Int) {
        var rng = RandomGenerator(seed: 13)
        let m = 37
        let a = FloatBuffer(count: k * m), b1 = FloatBuffer(count: k * 45), b2 = FloatBuffer(count: k * 70)
        for buf in [a, b1, b2] { GradCheck.fill(buf.pointer, buf.count, rng: &rng) }
        let c1 = FloatBuffer(count: m * 45), c2 = FloatBuffer(count: m * 70)
        GradCheck.fill(c2.pointer, c2.count, rng: &rng)
        let d1 = FloatBuffer(c1.array), d2 = FloatBuffer(c2.array)
        gemmSharedTransposedA(m: m, k: k, a.pointer, [(45, UnsafePointer(b1.pointer), 0, c1.pointer),
                                                       (70, UnsafePointer(b2.pointer), 1, c2.pointer)])
        gemm(transA: true, m: m, n: 45, k: k, a.pointer, b1.pointer, d1.pointer)
        gemm(transA: true, m: m, n: 70, k: k, a.pointer, b2.pointer, beta: 1, d2.pointer)
        XCTAssertEqual(c1.array, d1.array, "k \(k)")
        XCTAssertEqual(c2.array, d2.array, "k \(k)")
    }

    func testMatmulNaiveSmallExample() {
        // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]
        let a = FloatBuffer([1, 2, 3, 4]), b = FloatBuffer([5, 6, 7, 8]), c = FloatBuffer(count: 4)
        matmulNaive(m: 2, n: 2, k: 2, a.pointer, b.pointer, c.pointer)
        XCTAssertEqual(c.array, [19, 22, 43, 50])
        gemm(transA: true, m: 2, n: 2, k: 2, a.pointer, b.pointer, c.pointer)  // aᵀ·b = [[26,30],[38,44]]
        XCTAssertEqual(c.array, [26, 30, 38, 44])
    }

    func testSoftmaxAndLogSoftmaxAreStable() {
        let x = FloatBuffer([1000, 1001, 1002, -1000, -1e30, 0])
        let y = FloatBuffer(count: 6)
        Kernels.logSoftmaxRows(x.pointer, y.pointer, rows: 2, cols: 3)
        // log softmax of (0, 1, 2) shifted by 1000.
        let lz = log(exp(0.0) + exp(1.0) + exp(2.0))
        XCTAssertEqual(Double(y[0]), -lz, accuracy: 1e-5)
        XCTAssertEqual(Double(y[2]), 2 - lz, accuracy: 1e-5)
        XCTAssertEqual(y[5], 0, accuracy: 1e-6)
        XCTAssertTrue(y.array.allSatisfy { $0.isFinite || $0 == -.infinity })
        let logZ = FloatBuffer(count: 2)
        Kernels.softmaxRows(x.pointer, rows: 2, cols: 3, logZ: logZ.pointer)
        XCTAssertEqual(Double(x[2]), exp(2 - lz), accuracy: 1e-6)
        XCTAssertEqual(x[0] + x[1] + x[2], 1, accuracy: 1e-6)
        XCTAssertEqual(x[5], 1, accuracy: 1e-6)
        XCTAssertEqual(Double(logZ[0]), 1000 + lz, accuracy: 1e-3)
    }

    func testDropoutMaskIsSeededAndScaled() {
        var r1 = RandomGenerator(seed: 5), r2 = RandomGenerator(seed: 5)
        let m1 = Dropout.mask(count: 10_000, p: 0.3, rng: &r1)!, m2 = Dropout.mask(count: 10_000, p: 0.3, rng: &r2)!
        XCTAssertEqual(m1.array, m2.array)
        let zeros = m1.array.filter { $0 == 0 }.count
        XCTAssertEqual(Double(zeros) / 10_000, 0.3, accuracy: 0.03)
        XCTAssertTrue(m1.array.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        var r3 = RandomGenerator(seed: 5)
        XCTAssertNil(Dropout.mask(count: 10, p: 0, rng: &r3))
    }
}
