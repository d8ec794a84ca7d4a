import Foundation
import XCTest
@testable import Seq2Seq

final class CKernelsTests: XCTestCase {
    override func tearDown() { PackedMatrix.limitKernel(2) }

    /// x·Wᵀ by every micro-kernel the CPU has (AVX-512, AVX2, portable) against the naive
    /// oracle: row counts around the 12- and 3-row tiles, column counts around the 32-column
    /// panels (partial last panel), padded leading dimensions, beta 0 / 1 / −0.25, one and two
    /// threads. Float32 sums of k ≤ 70 terms of size ≤ 1: error ≤ ~k·6e-8; 1e-5 is a wide margin.
    func testEveryKernelMatchesNaive() {
        var rng = RandomGenerator(seed: 7)
        XCTAssertTrue(availableKernelLevels().contains(0))
        forEachKernelLevel { level in
            for trial in 0..<40 {
                let m = [1, 2, 3, 4, 11, 12, 13, 25, 37][trial % 9], n = [1, 31, 32, 33, 64, 70, 100][trial % 7]
                let k = 1 + Int(rng.next() % 70)
                let ldw = k + trial % 3, ldx = k + trial % 2, ldy = n + trial % 4
                let w = FloatBuffer(count: n * ldw), x = FloatBuffer(count: m * ldx), y1 = FloatBuffer(count: m * ldy)
                GradCheck.fill(w.pointer, w.count, rng: &rng)
                GradCheck.fill(x.pointer, x.count, rng: &rng)
                GradCheck.fill(y1.pointer, y1.count, rng: &rng)
                let y2 = FloatBuffer(y1.array)
                let beta: Float = [0, 1, -0.25][trial % 3]
                setComputeThreads(trial % 2 + 1)
                let packed = PackedMatrix(w.pointer, rows: n, cols: k, ld: ldw)
                packed.multiply(m: m, x.pointer, ldx: ldx, beta: beta, y1.pointer, ldy: ldy)
                matmulNaive(transB: true, m: m, n: n, k: k, x.pointer, lda: ldx, w.pointer, ldb: ldw, beta: beta, y2.pointer, ldc: ldy)
                for i in 0..<y1.count {
                    XCTAssertEqual(y1[i], y2[i], accuracy: 1e-5, "kernel \(level) trial \(trial) (m \(m) n \(n) k \(k)) at \(i)")
                }
            }
        }
        setComputeThreads(1)
    }

    /// A·x and Aᵀ·x on every instruction set against Double loops: lengths around the 8-, 16- and
    /// 32-lane steps and masked tails, padded leading dimensions, beta 0 / 1 / −0.5. Sums of ≤ 300
    /// terms of size ≤ 1: 1e-4 is a wide margin.
    func testGemvOnEveryPath() {
        var rng = RandomGenerator(seed: 12)
        forEachKernelLevel { level in
            for (m, n) in [(1, 1), (3, 15), (50, 16), (7, 17), (2, 33), (40, 300)] {
                for trans in [false, true] {
                    for beta: Float in [0, 1, -0.5] {
                        let lda = n + 3
                        let a = FloatBuffer(count: m * lda), x = FloatBuffer(count: trans ? m : n)
                        let y = FloatBuffer(count: trans ? n : m)
                        GradCheck.fill(a.pointer, a.count, rng: &rng)
                        GradCheck.fill(x.pointer, x.count, rng: &rng)
                        GradCheck.fill(y.pointer, y.count, rng: &rng)
                        var want = [Double](repeating: 0, count: y.count)
                        for i in 0..<m {
                            for j in 0..<n {
                                let v = Double(a[i * lda + j])
                                if trans { want[j] += v * Double(x[i]) } else { want[i] += v * Double(x[j]) }
                            }
                        }
                        for o in 0..<y.count { want[o] += beta == 0 ? 0 : Double(beta) * Double(y[o]) }
                        gemv(trans: trans, m: m, n: n, a.pointer, lda: lda, x.pointer, beta: beta, y.pointer)
                        for o in 0..<y.count {
                            XCTAssertEqual(Double(y[o]), want[o], accuracy: 1e-4, "kernel \(level) m \(m) n \(n) trans \(trans) beta \(beta)")
                        }
                    }
                }
            }
        }
    }

    /// One row (batch-1 decoding, which takes four panels at a time on AVX-512) gives the same
    /// bits as that row inside a product with more rows, for every kernel and with beta 0 and 1,
    /// and matches the naive oracle; columns past n are never written.
    func testOneRowEqualsItsRowInABatch() {
        var rng = RandomGenerator(seed: 11)
        forEachKernelLevel { level in
            for (n, k) in [(300, 70), (128, 5), (1_000, 256)] {
                let w = FloatBuffer(count: n * k), x = FloatBuffer(count: 7 * k)
                GradCheck.fill(w.pointer, w.count, rng: &rng)
                GradCheck.fill(x.pointer, x.count, rng: &rng)
                let packed = PackedMatrix(w.pointer, rows: n, cols: k)
                for beta: Float in [0, 1] {
                    let batch = FloatBuffer(count: 7 * n), one = FloatBuffer(count: n + 3), naive = FloatBuffer(count: n)
                    GradCheck.fill(batch.pointer, batch.count, rng: &rng)
                    for j in 0..<n { one[j] = batch[3 * n + j]; naive[j] = batch[3 * n + j] }
                    for j in n..<(n + 3) { one[j] = 42 }
                    packed.multiply(m: 7, x.pointer, beta: beta, batch.pointer)
                    packed.multiply(m: 1, x.pointer + 3 * k, beta: beta, one.pointer)
                    matmulNaive(transB: true, m: 1, n: n, k: k, x.pointer + 3 * k, w.pointer, beta: beta, naive.pointer)
                    XCTAssertEqual(one.slice(0, n), batch.slice(3 * n, n), "kernel \(level) n \(n) k \(k) beta \(beta)")
                    for j in 0..<n { XCTAssertEqual(one[j], naive[j], accuracy: 1e-4) }
                    for j in n..<(n + 3) { XCTAssertEqual(one[j], 42) }
                }
            }
        }
    }

    /// A large product split over two threads equals the one-thread product bit for bit (whole
    /// panels per thread), and columns past n are never written.
    func testTwoThreadsEqualOneAndStayInBounds() {
        var rng = RandomGenerator(seed: 3)
        let m = 40, n = 1_000, k = 130
        let w = FloatBuffer(count: n * k), x = FloatBuffer(count: m * k)
        GradCheck.fill(w.pointer, w.count, rng: &rng)
        GradCheck.fill(x.pointer, x.count, rng: &rng)
        let packed = PackedMatrix(w.pointer, rows: n, cols: k)
        let ldy = n + 5
        let y1 = FloatBuffer(count: m * ldy), y2 = FloatBuffer(count: m * ldy)
        for b in [y1, y2] { for r in 0..<m { for j in n..<ldy { b[r * ldy + j] = 42 } } }
        setComputeThreads(1)
        packed.multiply(m: m, x.pointer, y1.pointer, ldy: ldy)
        setComputeThreads(2)
        packed.multiply(m: m, x.pointer, y2.pointer, ldy: ldy)
        setComputeThreads(1)
        XCTAssertEqual(y1.array, y2.array)
        for r in 0..<m { for j in n..<ldy { XCTAssertEqual(y1[r * ldy + j], 42) } }
    }

    /// repack sees a changed weight; the packed copy does not until then.
    func testPackedMatrixIsASnapshotUntilRepacked() {
        let w = FloatBuffer([1, 2, 3, 4]), x = FloatBuffer([1, 1]), y = FloatBuffer(count: 2)
        let packed = PackedMatrix(w.pointer, rows: 2, cols: 2)
        w[0] = 10
        packed.multiply(m: 1, x.pointer, y.pointer)
        XCTAssertEqual(y.array, [3, 7])
        packed.repack(from: w.pointer)
        packed.multiply(m: 1, x.pointer, y.pointer)
        XCTAssertEqual(y.array, [12, 7])
    }
}

extension CKernelsTests {
    /// PackedMatrix(transposeOf: M) computes x·M (M [k, n] with a padded leading dimension).
    func testTransposedPackingComputesXTimesM() {
        var rng = RandomGenerator(seed: 11)
        for (m, k, n) in [(1, 1, 1), (5, 40, 33), (13, 64, 96), (3, 7, 100)] {
            let ldm = n + 3
            let mat = FloatBuffer(count: k * ldm), x = FloatBuffer(count: m * k)
            GradCheck.fill(mat.pointer, mat.count, rng: &rng)
            GradCheck.fill(x.pointer, x.count, rng: &rng)
            let y1 = FloatBuffer(count: m * n), y2 = FloatBuffer(count: m * n)
            PackedMatrix(transposeOf: mat.pointer, k: k, n: n, ld: ldm).multiply(m: m, x.pointer, y1.pointer)
            matmulNaive(m: m, n: n, k: k, x.pointer, mat.pointer, ldb: ldm, y2.pointer)
            for i in 0..<y1.count { XCTAssertEqual(y1[i], y2[i], accuracy: 1e-5, "m \(m) k \(k) n \(n) at \(i)") }
        }
    }
}

extension CKernelsTests {
    /// softmax, its log-partition and log-softmax by every vector path against Double
    /// arithmetic: widths around the 8- and 16-lane tails, logits up to ±60, rows with −∞ entries
    /// (masked tokens) and a shift of 1000 (stability). The exp polynomial is within 2 ulp, the
    /// Float argument x − m carries up to |x − m|·6e-8 absolute rounding (so as much relative
    /// error in e^(x−m)), and the sums run over ≤ 10,000 Float terms: 2e-6 + |x − m|·1.2e-7
    /// relative on p, 1e-4 absolute on log p and log Z.
    func testSoftmaxKernelsMatchDoubleOnEveryPath() {
        var rng = RandomGenerator(seed: 5)
        forEachKernelLevel { level in
            for cols in [1, 7, 8, 9, 15, 16, 17, 33, 100, 10_000] {
                let rows = 3
                let x = FloatBuffer(count: rows * cols)
                for i in 0..<x.count { x[i] = (rng.nextUniform() * 2 - 1) * 60 }
                for j in stride(from: 1, to: cols, by: 3) { x[j] = -.infinity }  // row 0: masked entries
                for j in 0..<cols { x[2 * cols + j] += 1000 }
                let p = FloatBuffer(x.array), logZ = FloatBuffer(count: rows), lp = FloatBuffer(count: rows * cols)
                Kernels.softmaxRows(p.pointer, rows: rows, cols: cols, logZ: logZ.pointer)
                Kernels.logSoftmaxRows(x.pointer, lp.pointer, rows: rows, cols: cols)
                for r in 0..<rows {
                    let row = (0..<cols).map { Double(x[r * cols + $0]) }
                    let m = row.max()!
                    let z = row.reduce(0) { $0 + ($1 == -.infinity ? 0 : Foundation.exp($1 - m)) }
                    XCTAssertEqual(Double(logZ[r]), m + Foundation.log(z), accuracy: 1e-4, "kernel \(level) cols \(cols) row \(r)")
                    for j in 0..<cols {
                        let want = row[j] == -.infinity ? 0 : Foundation.exp(row[j] - m) / z
                        XCTAssertEqual(Double(p[r * cols + j]), want, accuracy: (2e-6 + 1.2e-7 * abs(row[j] - m)) * max(want, 1e-30) + 1e-37,
                                       "kernel \(level) cols \(cols) p[\(r), \(j)]")
                        if row[j] == -.infinity {
                            XCTAssertEqual(lp[r * cols + j], -.infinity)
                        } else {
                            XCTAssertEqual(Double(lp[r * cols + j]), row[j] - m - Foundation.log(z), accuracy: 1e-4,
                                           "kernel \(level) cols \(cols) log p[\(r), \(j)]")
                        }
                    }
                }
            }
        }
    }

    /// A NaN logit makes the whole row NaN on every path (so a diverged model is detected).
    func testSoftmaxPropagatesNaN() {
        forEachKernelLevel { level in
            for cols in [5, 40] {
                let x = FloatBuffer(count: cols)
                for j in 0..<cols { x[j] = Float(j) }
                x[cols / 2] = .nan
                let p = FloatBuffer(x.array), logZ = FloatBuffer(count: 1), lp = FloatBuffer(count: cols)
                Kernels.softmaxRows(p.pointer, rows: 1, cols: cols, logZ: logZ.pointer)
                Kernels.logSoftmaxRows(x.pointer, lp.pointer, rows: 1, cols: cols)
                XCTAssertTrue(logZ[0].isNaN, "kernel \(level) cols \(cols)")
                XCTAssertTrue(p.array.allSatisfy(\.isNaN) && lp.array.allSatisfy(\.isNaN), "kernel \(level) cols \(cols)")
            }
        }
    }
}

extension CKernelsTests {
    /// tanh, and the LSTM cell's σ/tanh gates and state update, by every vector path against
    /// Double libm over a dense sweep of [−90, 90] (saturation included, never NaN): relative
    /// error under 1e-6 for tanh and σ; c, tanh(c) and h within 1e-6 absolute of Double on the
    /// kernel's own gate values. H = 37 exercises the vector tails; a masked row copies the state.
    func testTanhAndLSTMCellOnEveryPath() {
        forEachKernelLevel { level in
            let n = 10_405
            let x = FloatBuffer(count: n)
            for j in 0..<n { x[j] = -90 + Float(j) * 0.0173 }
            let t = FloatBuffer(x.array)
            Kernels.tanhInPlace(t.pointer, n)
            var worst = 0.0
            for j in 0..<n {
                let want = Foundation.tanh(Double(x[j]))
                XCTAssertTrue(t[j].isFinite)
                if want != 0 { worst = max(worst, abs(Double(t[j]) - want) / abs(want)) }
            }
            XCTAssertLessThan(worst, 1e-6, "tanh, kernel \(level)")
            XCTAssertEqual(t.pointer[0], -1, "kernel \(level)")

            let H = 37, B = 3
            var rng = RandomGenerator(seed: UInt64(level))
            let gates = FloatBuffer(count: B * 4 * H), cPrev = FloatBuffer(count: B * H), hPrev = FloatBuffer(count: B * H)
            for i in 0..<gates.count { gates[i] = -90 + rng.nextUniform() * 180 }
            for i in 0..<(4 * H) { gates[i] = (rng.nextUniform() - 0.5) * 4 }  // row 0: the usual range
            for i in 0..<cPrev.count { cPrev[i] = (rng.nextUniform() - 0.5) * 4; hPrev[i] = rng.nextUniform() }
            let pre = gates.array
            let c = FloatBuffer(count: B * H), h = FloatBuffer(count: B * H), tc = FloatBuffer(count: B * H)
            let mask = FloatBuffer([1, 1, 0])
            LSTM.cellForward(gates: gates.pointer, cPrev: cPrev.pointer, hPrev: hPrev.pointer, c: c.pointer, h: h.pointer,
                             tanhC: tc.pointer, rows: B, hidden: H, mask: mask.pointer)
            for b in 0..<2 {
                for j in 0..<H {
                    let g = { (k: Int) in Double(pre[b * 4 * H + k * H + j]) }
                    let sig = { (v: Double) in 1 / (1 + Foundation.exp(-v)) }
                    let want = [sig(g(0)), sig(g(1)), Foundation.tanh(g(2)), sig(g(3))]
                    for k in 0..<4 {
                        let got = Double(gates[b * 4 * H + k * H + j])
                        XCTAssertEqual(got, want[k], accuracy: 1e-6 * max(abs(want[k]), 1e-30) + 1e-38, "kernel \(level) gate \(k) row \(b) unit \(j)")
                    }
                    let a = (0..<4).map { Double(gates[b * 4 * H + $0 * H + j]) }
                    let cv = a[1] * Double(cPrev[b * H + j]) + a[0] * a[2]
                    XCTAssertEqual(Double(c[b * H + j]), cv, accuracy: 1e-6, "kernel \(level) c row \(b) unit \(j)")
                    XCTAssertEqual(Double(tc[b * H + j]), Foundation.tanh(Double(c[b * H + j])), accuracy: 1e-6)
                    XCTAssertEqual(Double(h[b * H + j]), a[3] * Double(tc[b * H + j]), accuracy: 1e-6)
                }
            }
            XCTAssertEqual(Array(c.array[(2 * H)...]), Array(cPrev.array[(2 * H)...]), "masked row carries c")
            XCTAssertEqual(Array(h.array[(2 * H)...]), Array(hPrev.array[(2 * H)...]), "masked row carries h")
        }
    }
}

extension CKernelsTests {
    /// argmax on every path: the first maximum on ties, NaN never chosen, 0 for all −∞ or n = 0,
    /// and equal to a plain scan on random rows of many widths.
    func testArgmaxOnEveryPath() {
        var rng = RandomGenerator(seed: 9)
        forEachKernelLevel { level in
            for n in [1, 2, 15, 16, 17, 100, 10_000] {
                var x = (0..<n).map { _ in Float(Int(rng.next() % 50)) }  // many ties
                var want = 0
                for j in 1..<n where x[j] > x[want] { want = j }
                XCTAssertEqual(Constraints.argmax(x, n), want, "kernel \(level) n \(n)")
                x[n - 1] = .nan
                if n > 1 { XCTAssertNotEqual(Constraints.argmax(x, n), n - 1, "NaN chosen, kernel \(level) n \(n)") }
            }
            XCTAssertEqual(Constraints.argmax([-.infinity, -.infinity, -.infinity], 3), 0)
            XCTAssertEqual(Constraints.argmax([1, 3, 3, 2], 4), 1)
        }
    }
}

extension CKernelsTests {
    /// The elementwise kernels of the training step give, on every path and for lengths around the
    /// vector widths, the bits of the formula written out one rounded operation at a time: the
    /// LSTM cell's gradient (with a masked row: zero gate gradients, dh and dc untouched), y += x,
    /// y *= x, x *= a, bias rows and row sums (rows added in order).
    func testElementwiseKernelsGiveTheFormulasBitsOnEveryPath() {
        var rng = RandomGenerator(seed: 21)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextUniform() - 0.5 } }
        forEachKernelLevel { level in
            for H in [1, 7, 8, 15, 16, 17, 37, 64] {
                let B = 3
                let gates = values(B * 4 * H).map { 0.5 + $0 * 0.9 }  // activations in (0.05, 0.95)
                let cPrev = values(B * H), tanhC = values(B * H), dh0 = values(B * H), dc0 = values(B * H)
                var dh = dh0, dc = dc0, dG = [Float](repeating: 9, count: B * 4 * H)
                let mask: [Float] = [1, 0, 1]
                LSTM.cellBackward(gates: gates, cPrev: cPrev, tanhC: tanhC, dh: &dh, dc: &dc, dGates: &dG,
                                  rows: B, hidden: H, mask: mask)
                for b in 0..<B {
                    for j in 0..<H {
                        let r = b * H + j, g = b * 4 * H
                        if mask[b] == 0 {
                            for q in 0..<4 { XCTAssertEqual(dG[g + q * H + j], 0) }
                            XCTAssertEqual(dh[r].bitPattern, dh0[r].bitPattern)
                            XCTAssertEqual(dc[r].bitPattern, dc0[r].bitPattern)
                            continue
                        }
                        let i = gates[g + j], f = gates[g + H + j], gg = gates[g + 2 * H + j], o = gates[g + 3 * H + j]
                        let tc = tanhC[r], d = dh0[r]
                        let dho = d * o, tc2 = tc * tc, oneMinus = 1 - tc2, carry = dho * oneMinus
                        let dct = dc0[r] + carry
                        let e1 = dct * gg, e2 = e1 * i, di = e2 * (1 - i)
                        let f1 = dct * cPrev[r], f2 = f1 * f, df = f2 * (1 - f)
                        let g1 = dct * i, g2 = gg * gg, dg = g1 * (1 - g2)
                        let o1 = d * tc, o2 = o1 * o, dO = o2 * (1 - o)
                        let want = [di, df, dg, dO]
                        for q in 0..<4 {
                            XCTAssertEqual(dG[g + q * H + j].bitPattern, want[q].bitPattern, "kernel \(level) H \(H) gate \(q)")
                        }
                        let dcWant = dct * f
                        XCTAssertEqual(dc[r].bitPattern, dcWant.bitPattern, "kernel \(level) H \(H) dc")
                        XCTAssertEqual(dh[r], 0)
                    }
                }
                let x = values(H * 5), y0 = values(H * 5), bias = values(H)
                var y = y0
                Kernels.add(x, into: &y, H * 5)
                XCTAssertEqual(y.map(\.bitPattern), zip(y0, x).map { ($0 + $1).bitPattern }, "add, kernel \(level)")
                y = y0
                Kernels.multiply(x, into: &y, H * 5)
                XCTAssertEqual(y.map(\.bitPattern), zip(y0, x).map { ($0 * $1).bitPattern }, "multiply, kernel \(level)")
                y = y0
                Kernels.scale(&y, H * 5, 0.3)
                XCTAssertEqual(y.map(\.bitPattern), y0.map { ($0 * 0.3).bitPattern }, "scale, kernel \(level)")
                y = y0
                Kernels.addBiasRows(&y, bias, rows: 5, cols: H)
                XCTAssertEqual(y.map(\.bitPattern), y0.indices.map { (y0[$0] + bias[$0 % H]).bitPattern }, "bias, kernel \(level)")
                for cols in [H, 128 + H, 300] {
                    let rows = 7, dy = values(rows * cols), db0 = values(cols)
                    var db = db0
                    Kernels.sumRowsInto(dy, &db, rows: rows, cols: cols)
                    var want = db0
                    for r in 0..<rows { for j in 0..<cols { want[j] = want[j] + dy[r * cols + j] } }
                    XCTAssertEqual(db.map(\.bitPattern), want.map(\.bitPattern), "row sums, kernel \(level) cols \(cols)")
                }
            }
        }
    }
}

extension CKernelsTests {
    /// The products, dot products, softmax, log-softmax, tanh and the LSTM cell give the same
    /// bits on every path the CPU has (portable, AVX2, AVX-512): every sum split over vector lanes
    /// follows one 16-lane order (mk_sum16), every scalar tail and the portable path fuse exactly
    /// where the vectors do. Sizes around the 8-, 16- and 32-lane steps and the 512-row chunks of
    /// k, alpha and beta of both kinds, transposed and packed operands, one and two threads.
    /// (Weights trained on each path are the same too: TrainCommandTests, MIXER_KERNEL.)
    func testEveryPathGivesTheSameBits() {
        var rng = RandomGenerator(seed: 33)
        func values(_ n: Int, _ scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.nextUniform() - 0.5) * scale } }
        func onEveryPath(_ name: String, _ body: () -> [Float]) {
            var first: [Float]? = nil
            forEachKernelLevel { level in
                let got = body()
                if let want = first {
                    let differ = zip(got, want).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                    XCTAssertEqual(differ, 0, "\(name): kernel \(level) differs from kernel 0 in \(differ) of \(got.count) values")
                } else {
                    first = got
                }
            }
        }
        for (m, n, k) in [(1, 33, 7), (5, 70, 300), (13, 129, 1100), (37, 300, 260)] {
            let a = values(m * k), w = values(n * k), c0 = values(m * n), aT = values(k * m)
            for (alpha, beta): (Float, Float) in [(1, 0), (1, 1), (0.5, -0.25)] {
                for threads in [1, 2] {
                    setComputeThreads(threads)
                    onEveryPath("gemm m \(m) n \(n) k \(k) alpha \(alpha) beta \(beta)") {
                        var c = c0
                        gemm(transB: true, m: m, n: n, k: k, alpha: alpha, a, w, beta: beta, &c)
                        return c
                    }
                    onEveryPath("gemm Aᵀ m \(m) n \(n) k \(k) alpha \(alpha) beta \(beta)") {
                        var c = c0
                        gemm(transA: true, m: m, n: n, k: k, alpha: alpha, aT, w, beta: beta, &c)
                        return c
                    }
                    if alpha == 1 {
                        onEveryPath("packed m \(m) n \(n) k \(k) beta \(beta)") {
                            var c = c0
                            PackedMatrix(w, rows: n, cols: k).multiply(m: m, a, beta: beta, &c)
                            return c
                        }
                    }
                }
            }
        }
        setComputeThreads(1)
        for n in [1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 100, 257] {
            let a = values(3 * n), x = values(n), xt = values(3), y0 = values(max(n, 3))
            onEveryPath("gemv n \(n)") { var y = Array(y0[..<3]); gemv(trans: false, m: 3, n: n, a, x, beta: 0.5, &y); return y }
            onEveryPath("gemvᵀ n \(n)") { var y = Array(y0[..<n]); gemv(trans: true, m: 3, n: n, a, xt, beta: 1, &y); return y }
        }
        for cols in [1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 100, 10_007] {
            let x = values(3 * cols, 80)
            onEveryPath("softmax cols \(cols)") {
                var p = x, logZ = [Float](repeating: 0, count: 3)
                Kernels.softmaxRows(&p, rows: 3, cols: cols, logZ: &logZ)
                return p + logZ
            }
            onEveryPath("log-softmax cols \(cols)") {
                var y = x
                Kernels.logSoftmaxRows(x, &y, rows: 3, cols: cols)
                return y
            }
        }
        let t = values(10_001, 40)
        onEveryPath("tanh") { var y = t; Kernels.tanhInPlace(&y, y.count); return y }
        for H in [1, 7, 8, 15, 16, 17, 37, 64] {
            let gates = values(3 * 4 * H, 16), cPrev = values(3 * H, 4), hPrev = values(3 * H)
            onEveryPath("LSTM cell H \(H)") {
                var g = gates, c = [Float](repeating: 0, count: 3 * H), h = c, tc = c
                LSTM.cellForward(gates: &g, cPrev: cPrev, hPrev: hPrev, c: &c, h: &h, tanhC: &tc, rows: 3, hidden: H, mask: nil)
                return g + c + h + tc
            }
        }
    }
}
