import XCTest
@testable import Seq2Seq

/// Finite-difference checks of each layer on its own (tolerances: see `GradCheck`). The loss
/// is a random projection L = Σ R ⊙ y of the layer's outputs, so the upstream gradient is an
/// arbitrary R rather than one a particular loss would produce.
final class LayerGradientTests: XCTestCase {
    func testLinear() {
        for seed in 0..<5 {
            var rng = RandomGenerator(seed: UInt64(seed))
            let p = ParameterStore()
            let lin = Linear(p, name: "lin", inputSize: 5, outputSize: 4)
            let g = p.zerosLike()
            GradCheck.fill(p.storage, p.count, rng: &rng)
            let N = 3
            let x = FloatBuffer(count: N * 5), y = FloatBuffer(count: N * 4), r = FloatBuffer(count: N * 4), dx = FloatBuffer(count: N * 5)
            GradCheck.fill(x.pointer, x.count, rng: &rng)
            GradCheck.fill(r.pointer, r.count, rng: &rng)
            let loss = { () -> Double in lin.forward(p, x: x.pointer, rows: N, y: y.pointer); return GradCheck.dot(r.pointer, y.pointer, y.count) }
            _ = loss()
            lin.backward(p, g, x: x.pointer, rows: N, dy: r.pointer, dx: dx.pointer)
            GradCheck.checkStore(p, g, label: "Linear seed \(seed)", rng: &rng, loss)
            let w = GradCheck.check(name: "dx", x.pointer, count: x.count, analytic: dx.pointer, loss)
            XCTAssertLessThanOrEqual(w.ratio, 1, "Linear seed \(seed): \(w)")
        }
    }

    func testEmbeddingTouchesOnlyUsedRows() {
        var rng = RandomGenerator(seed: 3)
        let p = ParameterStore()
        let emb = Embedding(p, name: "emb", vocabSize: 6, dim: 3)
        let g = p.zerosLike()
        GradCheck.fill(p.storage, p.count, rng: &rng)
        let ids: [Int32] = [4, 1, 4, -1]
        let y = FloatBuffer(count: 12), r = FloatBuffer(count: 12)
        GradCheck.fill(r.pointer, 12, rng: &rng)
        let loss = { () -> Double in emb.forward(p, ids: ids, count: 4, out: y.pointer); return GradCheck.dot(r.pointer, y.pointer, 12) }
        _ = loss()
        XCTAssertEqual(y.slice(9, 3), [0, 0, 0], "a negative id embeds to zeros")
        emb.backward(g, ids: ids, count: 4, dOut: r.pointer)
        GradCheck.checkStore(p, g, label: "Embedding", rng: &rng, loss)
        for row in [0, 2, 3, 5] { XCTAssertEqual(g.values("emb.weight")[(row * 3)..<(row * 3 + 3)], [0, 0, 0], "row \(row) untouched") }
        XCTAssertEqual(g.values("emb.weight")[12], r[0] + r[6], accuracy: 1e-6, "row 4 sums both uses")
    }

    /// A masked LSTM sequence (rows of different lengths) with initial and final-state gradients.
    func testLSTMSequenceWithMask() {
        for seed in 0..<6 {
            var rng = RandomGenerator(seed: UInt64(100 + seed))
            let p = ParameterStore()
            let I = 3, H = 4, T = 4, B = 3
            let lstm = LSTM(p, name: "lstm", inputSize: I, hiddenSize: H)
            let g = p.zerosLike()
            GradCheck.fill(p.storage, p.count, scale: 0.5, rng: &rng)
            let x = FloatBuffer(count: T * B * I), h0 = FloatBuffer(count: B * H), c0 = FloatBuffer(count: B * H)
            GradCheck.fill(x.pointer, x.count, rng: &rng)
            GradCheck.fill(h0.pointer, h0.count, scale: 0.5, rng: &rng)
            GradCheck.fill(c0.pointer, c0.count, scale: 0.5, rng: &rng)
            let lengths = [4, 2, 1 + seed % 4]
            let mask = FloatBuffer(count: T * B)
            for t in 0..<T { for b in 0..<B { mask[t * B + b] = t < lengths[b] ? 1 : 0 } }
            let rOut = FloatBuffer(count: T * B * H), rh = FloatBuffer(count: B * H), rc = FloatBuffer(count: B * H)
            GradCheck.fill(rOut.pointer, rOut.count, rng: &rng)
            GradCheck.fill(rh.pointer, rh.count, rng: &rng)
            GradCheck.fill(rc.pointer, rc.count, rng: &rng)
            var cache: LSTM.SequenceCache!
            let loss = { () -> Double in
                cache = lstm.forwardSequence(p, x: x, steps: T, rows: B, mask: mask, h0: h0.pointer, c0: c0.pointer)
                return GradCheck.dot(rOut.pointer, cache.h.pointer + B * H, T * B * H)
                    + GradCheck.dot(rh.pointer, cache.h.pointer + T * B * H, B * H) + GradCheck.dot(rc.pointer, cache.c.pointer + T * B * H, B * H)
            }
            _ = loss()
            let dx = FloatBuffer(count: x.count), dh0 = FloatBuffer(count: B * H), dc0 = FloatBuffer(count: B * H)
            lstm.backwardSequence(p, g, cache: cache, dOut: rOut.pointer, dhT: rh.pointer, dcT: rc.pointer, dx: dx.pointer,
                                  dh0: dh0.pointer, dc0: dc0.pointer)
            GradCheck.checkStore(p, g, label: "LSTM seed \(seed)", rng: &rng, loss)
            for (name, buf, d) in [("dx", x, dx), ("dh0", h0, dh0), ("dc0", c0, dc0)] {
                let w = GradCheck.check(name: name, buf.pointer, count: buf.count, analytic: d.pointer, loss)
                XCTAssertLessThanOrEqual(w.ratio, 1, "LSTM seed \(seed): \(w)")
            }
            // Padded inputs have no influence.
            for t in 0..<T { for b in 0..<B where t >= lengths[b] { for i in 0..<I { XCTAssertEqual(dx[(t * B + b) * I + i], 0) } } }
        }
    }

    /// The bidirectional encoder: gradients of memory and final states; padding invariance.
    func testBiLSTMEncoder() {
        for seed in 0..<5 {
            var rng = RandomGenerator(seed: UInt64(200 + seed))
            let p = ParameterStore()
            let enc = BiLSTMEncoder(p, name: "enc", vocabSize: 9, embeddingSize: 3, hiddenSize: 3)
            let g = p.zerosLike()
            GradCheck.fill(p.storage, p.count, scale: 0.5, rng: &rng)
            let src: [[Int32]] = [[1, 5, 7, 2], [3, 8], [4, 4, 6 + Int32(seed % 3)]]
            let B = 3, S = 4, D = 6
            let rM = FloatBuffer(count: B * S * D), rH = FloatBuffer(count: B * D), rC = FloatBuffer(count: B * D)
            GradCheck.fill(rM.pointer, rM.count, rng: &rng); GradCheck.fill(rH.pointer, rH.count, rng: &rng); GradCheck.fill(rC.pointer, rC.count, rng: &rng)
            let dropSeed = RandomGenerator(seed: UInt64(seed))
            var cache: BiLSTMEncoder.Cache!
            let loss = { () -> Double in
                var r = dropSeed
                let o = enc.forward(p, source: src, dropout: 0.3, rng: &r)
                cache = o.cache
                return GradCheck.dot(rM.pointer, o.memory.pointer, B * S * D) + GradCheck.dot(rH.pointer, o.finalH.pointer, B * D)
                    + GradCheck.dot(rC.pointer, o.finalC.pointer, B * D)
            }
            _ = loss()
            enc.backward(p, g, cache: cache, dMemory: rM.pointer, dFinalH: rH.pointer, dFinalC: rC.pointer)
            GradCheck.checkStore(p, g, label: "BiLSTM seed \(seed)", rng: &rng, loss)
            // Padding invariance: row 1 encoded alone gives the same memory and final states.
            var r0 = RandomGenerator(seed: 0)
            let batch = enc.forward(p, source: src, dropout: 0, rng: &r0)
            let alone = enc.forward(p, source: [src[1]], dropout: 0, rng: &r0)
            for j in 0..<2 { for i in 0..<D { XCTAssertEqual(batch.memory[(1 * S + j) * D + i], alone.memory[j * D + i], accuracy: 1e-6) } }
            for i in 0..<D {
                XCTAssertEqual(batch.memory[(1 * S + 3) * D + i], 0, "padding is zero")
                XCTAssertEqual(batch.finalH[D + i], alone.finalH[i], accuracy: 1e-6)
                XCTAssertEqual(batch.finalC[D + i], alone.finalC[i], accuracy: 1e-6)
            }
        }
    }

    func testConvEncoder() {
        for seed in 0..<5 {
            var rng = RandomGenerator(seed: UInt64(300 + seed))
            let p = ParameterStore()
            let enc = ConvEncoder(p, name: "enc", vocabSize: 9, embeddingSize: 3, maxPositions: 5, window: 5)
            let g = p.zerosLike()
            GradCheck.fill(p.storage, p.count, rng: &rng)
            let src: [[Int32]] = [[1, 5, 7, 2, 3, 8], [3, 8], [4, 4, 6 + Int32(seed % 3)]]
            let B = 3, S = 6, E = 3
            let rK = FloatBuffer(count: B * S * E), rV = FloatBuffer(count: B * S * E), rM = FloatBuffer(count: B * E)
            GradCheck.fill(rK.pointer, rK.count, rng: &rng); GradCheck.fill(rV.pointer, rV.count, rng: &rng); GradCheck.fill(rM.pointer, rM.count, rng: &rng)
            let dropSeed = RandomGenerator(seed: UInt64(seed))
            var cache: ConvEncoder.Cache!
            let loss = { () -> Double in
                var r = dropSeed
                let o = enc.forward(p, source: src, dropout: 0.3, rng: &r)
                cache = o.cache
                return GradCheck.dot(rK.pointer, o.keys.pointer, B * S * E) + GradCheck.dot(rV.pointer, o.values.pointer, B * S * E)
                    + GradCheck.dot(rM.pointer, o.mean.pointer, B * E)
            }
            _ = loss()
            enc.backward(g, cache: cache, dKeys: rK.pointer, dValues: rV.pointer, dMean: rM.pointer)
            GradCheck.checkStore(p, g, label: "ConvEncoder seed \(seed)", rng: &rng, loss)
        }
        // Keys are window averages: key 0 of a 2-token row is the mean of its two values.
        let p = ParameterStore()
        let enc = ConvEncoder(p, name: "enc", vocabSize: 9, embeddingSize: 2, maxPositions: 3)
        var rng = RandomGenerator(seed: 1)
        GradCheck.fill(p.storage, p.count, rng: &rng)
        let o = enc.forward(p, source: [[1, 2, 3, 4], [5, 6]], dropout: 0, rng: &rng)
        XCTAssertEqual(o.keys[(4 + 0) * 2], (o.values[8] + o.values[10]) / 2, accuracy: 1e-6)
        XCTAssertEqual(o.keys[(4 + 2) * 2], 0, "padding key is zero")
        // Position 3 shares the last position embedding (maxPositions 3).
        let e3 = o.values[3 * 2] - p.values("enc.embedding.weight")[4 * 2]
        XCTAssertEqual(e3, p.values("enc.positions.weight")[2 * 2], accuracy: 1e-6)
    }

    func testLuongAttention() {
        for score in LuongAttention.Score.allCases {
            for seed in 0..<4 {
                var rng = RandomGenerator(seed: UInt64(400 + seed))
                let p = ParameterStore()
                let H = 3, Dk = score == .dot ? 3 : 4, Dv = 4, B = 3, S = 4
                let att = LuongAttention(p, name: "att", score: score, hiddenSize: H, keySize: Dk, valueSize: Dv)
                let g = p.zerosLike()
                GradCheck.fill(p.storage, p.count, rng: &rng)
                let keys = FloatBuffer(count: B * S * Dk), values = FloatBuffer(count: B * S * Dv), h = FloatBuffer(count: B * H)
                GradCheck.fill(keys.pointer, keys.count, rng: &rng); GradCheck.fill(values.pointer, values.count, rng: &rng)
                GradCheck.fill(h.pointer, h.count, rng: &rng)
                let lengths = [4, 2, 1 + seed % 4]
                let rC = FloatBuffer(count: B * Dv), rW = FloatBuffer(count: B * S)
                GradCheck.fill(rC.pointer, rC.count, rng: &rng); GradCheck.fill(rW.pointer, rW.count, rng: &rng)
                let w = FloatBuffer(count: B * S), ctx = FloatBuffer(count: B * Dv)
                var kp: FloatBuffer!
                // L = Σ rC ⊙ context (the weights' gradient is checked through the context).
                let loss = { () -> Double in
                    kp = att.projectKeys(p, keys: keys, rows: B * S)
                    att.attend(h: h.pointer, projectedKeys: kp.pointer, values: values.pointer, lengths: lengths, encoderRows: nil,
                               sourceLength: S, rows: B, weights: w.pointer, context: ctx.pointer, contextStride: Dv)
                    return GradCheck.dot(rC.pointer, ctx.pointer, B * Dv)
                }
                _ = loss()
                for b in 0..<B { XCTAssertEqual((0..<S).reduce(Float(0)) { $0 + w[b * S + $1] }, 1, accuracy: 1e-6) }
                for b in 0..<B { for j in lengths[b]..<S { XCTAssertEqual(w[b * S + j], 0, "padding gets no weight") } }
                let dh = FloatBuffer(count: B * H), dKp = FloatBuffer(count: B * S * H), dV = FloatBuffer(count: B * S * Dv)
                let dK = FloatBuffer(count: B * S * Dk), scratch = FloatBuffer(count: B * S)
                att.attendBackward(dContext: rC.pointer, contextStride: Dv, h: h.pointer, projectedKeys: kp.pointer, values: values.pointer,
                                   weights: w.pointer, lengths: lengths, sourceLength: S, rows: B, scratch: scratch.pointer,
                                   dh: dh.pointer, dProjectedKeys: dKp.pointer, dValues: dV.pointer)
                att.projectKeysBackward(p, g, keys: keys, rows: B * S, dProjected: dKp.pointer, dKeys: dK.pointer)
                if score == .general { GradCheck.checkStore(p, g, label: "attention \(score) seed \(seed)", rng: &rng, loss) }
                for (name, buf, d) in [("dh", h, dh), ("dKeys", keys, dK), ("dValues", values, dV)] {
                    let wst = GradCheck.check(name: name, buf.pointer, count: buf.count, analytic: d.pointer, loss)
                    XCTAssertLessThanOrEqual(wst.ratio, 1, "attention \(score) seed \(seed): \(wst)")
                }
            }
        }
    }
}
