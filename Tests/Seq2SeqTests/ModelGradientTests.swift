import XCTest
@testable import Seq2Seq

/// Finite-difference checks of the whole EncoderDecoder (tolerances: see `GradCheck`): both
/// encoders × both attentions × input feeding on/off, padding in source and target batches,
/// dropout on with fixed masks (the generator is copied before each forward pass), several
/// seeds; for XENT and for an arbitrary upstream gradient at the logits (REINFORCE's path).
final class ModelGradientTests: XCTestCase {
    static let sources: [[Int32]] = [[5, 6, 7, 8, 3], [4, 8, 3], [6, 3]]
    static let targets: [[Int32]] = [[4, 5, 3], [6, 3], [5, 4, 6, 3]]

    static func tiny(_ encoder: ModelConfig.EncoderKind, _ attention: LuongAttention.Score, feeding: Bool, dropout: Float) -> ModelConfig {
        var c = ModelConfig(sourceVocabSize: 9, targetVocabSize: 7)
        c.embeddingSize = 4; c.hiddenSize = 4; c.encoderHiddenSize = encoder == .bilstm && attention == .dot ? 2 : 3
        c.encoder = encoder; c.attention = attention; c.inputFeeding = feeding; c.dropout = dropout
        c.initScale = 0.5; c.maxSourcePositions = 4
        return c
    }

    static var allConfigs: [(String, ModelConfig)] {
        var out: [(String, ModelConfig)] = []
        for e in ModelConfig.EncoderKind.allCases {
            for a in LuongAttention.Score.allCases {
                for f in [true, false] {
                    out.append(("\(e)/\(a)/feeding \(f)", tiny(e, a, feeding: f, dropout: f ? 0.25 : 0)))
                }
            }
        }
        return out
    }

    /// XENT: L = mean cross-entropy over non-pad target tokens.
    func testWholeModelXENT() {
        var total = 0
        for (name, config) in Self.allConfigs {
            for seed in 0..<3 {
                let model = EncoderDecoder(config: config, seed: UInt64(seed))
                let dropRNG = RandomGenerator(seed: UInt64(77 + seed))
                let inputs = EncoderDecoder.teacherInputs(targets: Self.targets)
                let loss = { () -> (Double, DecoderTrace) in
                    var r = dropRNG
                    let enc = model.encode(source: Self.sources, training: true, rng: &r)
                    let tr = model.decodeForTraining(enc, inputs: inputs, training: true, rng: &r)
                    return (CrossEntropy.evaluate(tr, targets: Self.targets).loss, tr)
                }
                let (_, tr) = loss()
                let (_, n, d) = CrossEntropy.evaluate(tr, targets: Self.targets)
                XCTAssertEqual(n, 9)
                model.grads.zero()
                d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
                var rng = RandomGenerator(seed: 9)
                total += GradCheck.checkStore(model.params, model.grads, label: "XENT \(name) seed \(seed)", rng: &rng) { loss().0 }
            }
        }
        XCTAssertGreaterThan(total, 10_000)
        print("ModelGradientTests: \(total) coordinates checked; worst error / tolerance so far \(GradCheck.worstRatio)")
    }

    /// An arbitrary gradient R at the logits (L = Σ R ⊙ logits), with inputs chosen by a
    /// callback (fixed "samples" standing in for MIXER's, so that perturbing θ cannot change
    /// them): covers REINFORCE's gradient path, not only XENT's.
    func testWholeModelArbitraryLogitGradientThroughCallback() {
        for (name, config) in Self.allConfigs {
            for seed in 0..<2 {
                let model = EncoderDecoder(config: config, seed: UInt64(10 + seed))
                var rng = RandomGenerator(seed: UInt64(500 + seed))
                let T = 4, B = 3, V = 7
                let samples: [[Int32]] = (0..<T).map { _ in (0..<B).map { _ in Int32(rng.next() % 7) } }
                let R = FloatBuffer(count: T * B * V)
                GradCheck.fill(R.pointer, R.count, rng: &rng)
                let dropRNG = RandomGenerator(seed: UInt64(88 + seed))
                let run = { () -> (Double, DecoderTrace) in
                    var r = dropRNG
                    let enc = model.encode(source: Self.sources, training: true, rng: &r)
                    let tr = model.decodeForTraining(enc, steps: T, firstInput: [2, 2, 2], nextInput: { t, probs in
                        XCTAssertEqual((0..<V).reduce(Float(0)) { $0 + probs[$1] }, 1, accuracy: 1e-5)
                        return samples[t + 1]
                    }, training: true, rng: &r)
                    return (GradCheck.dot(R.pointer, tr.logits.pointer, T * B * V), tr)
                }
                let (_, tr) = run()
                XCTAssertEqual(tr.inputs, [[2, 2, 2]] + samples[1...])
                model.grads.zero()
                model.backward(tr, dLogits: R.pointer)
                var crng = RandomGenerator(seed: 3)
                GradCheck.checkStore(model.params, model.grads, label: "dLogits \(name) seed \(seed)", rng: &crng) { run().0 }
            }
        }
    }

    /// A bigger model: a few random coordinates of every tensor and one random direction
    /// (the directional derivative (L(θ+εu) − L(θ−εu))/2ε against ∇L·u).
    func testBigModelSampledCoordinatesAndDirection() {
        for encoder in ModelConfig.EncoderKind.allCases {
            var c = ModelConfig(sourceVocabSize: 60, targetVocabSize: 50)
            c.embeddingSize = 16; c.hiddenSize = 16; c.encoderHiddenSize = 12; c.encoder = encoder; c.dropout = 0.2
            let model = EncoderDecoder(config: c, seed: 42)
            var rng = RandomGenerator(seed: 43)
            let src: [[Int32]] = (0..<4).map { b in (0..<(3 + 2 * b)).map { _ in Int32(4 + rng.next() % 56) } }
            let tgt: [[Int32]] = (0..<4).map { b in (0..<(5 - b)).map { _ in Int32(4 + rng.next() % 46) } + [3] }
            let dropRNG = RandomGenerator(seed: 44)
            let loss = { () -> Double in
                var r = dropRNG
                let enc = model.encode(source: src, training: true, rng: &r)
                let tr = model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: tgt), training: true, rng: &r)
                return CrossEntropy.evaluate(tr, targets: tgt).loss
            }
            model.grads.zero()
            var r = dropRNG
            let enc = model.encode(source: src, training: true, rng: &r)
            let tr = model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: tgt), training: true, rng: &r)
            let d = CrossEntropy.evaluate(tr, targets: tgt).dLogits
            d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
            GradCheck.checkStore(model.params, model.grads, label: "big \(encoder)", sample: 6, rng: &rng, loss)
            // One random direction u, entries uniform in [−1, 1].
            let n = model.params.count
            let u = FloatBuffer(count: n)
            GradCheck.fill(u.pointer, n, rng: &rng)
            let analytic = GradCheck.dot(u.pointer, model.grads.storage, n)
            let saved = FloatBuffer(count: n)
            saved.pointer.update(from: model.params.storage, count: n)
            let eps: Float = 1e-3
            for i in 0..<n { model.params.storage[i] = saved[i] + eps * u[i] }
            let lp = loss()
            for i in 0..<n { model.params.storage[i] = saved[i] - eps * u[i] }
            let lm = loss()
            model.params.storage.update(from: saved.pointer, count: n)
            let numeric = (lp - lm) / (2 * Double(eps))
            XCTAssertEqual(numeric, analytic, accuracy: 1e-3 + 1e-2 * abs(analytic), "big \(encoder): directional derivative")
        }
    }

    /// A deliberately wrong gradient must be caught: the checker is not vacuous.
    func testCheckerCatchesAWrongGradient() {
        let model = EncoderDecoder(config: Self.tiny(.bilstm, .general, feeding: true, dropout: 0), seed: 1)
        var r = RandomGenerator(seed: 0)
        let loss = { () -> Double in
            var r = RandomGenerator(seed: 0)
            let enc = model.encode(source: Self.sources, training: false, rng: &r)
            let tr = model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: Self.targets), training: false, rng: &r)
            return CrossEntropy.evaluate(tr, targets: Self.targets).loss
        }
        let enc = model.encode(source: Self.sources, training: false, rng: &r)
        let tr = model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: Self.targets), training: false, rng: &r)
        let d = CrossEntropy.evaluate(tr, targets: Self.targets).dLogits
        model.grads.zero()
        d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
        let e = model.grads.entry("decoder.lstm.whh")!
        model.grads.view(e)[3] += 0.05
        let w = GradCheck.check(name: e.name, model.params.view(e), count: e.count, analytic: model.grads.view(e), loss)
        XCTAssertGreaterThan(w.ratio, 1)
        XCTAssertEqual(w.index, 3)
    }
}
