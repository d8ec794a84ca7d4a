import Foundation
import Tokenize
import XCTest
@testable import Seq2Seq

/// Copy attention (the pointer-generator, See et al. 2017): extended vocabularies, the
/// mixture's gradients against central differences (whole model, every configuration), the
/// lean training step against the full one, the configuration's compatibility, and decoding
/// over the extended vocabulary.
final class CopyAttentionTests: XCTestCase {
    /// Target vocabulary of 7 (ids 0–6): a batch whose sources hold words the targets lack.
    /// Row 0 copies extended id 7 (a word seen twice in its source) and 8; row 1 a target word
    /// that is also in its source; row 2 has an empty-copy target (id 5 not in its source).
    static let sources: [[Int32]] = [[5, 6, 7, 8, 3], [4, 8, 3], [6, 3]]
    static let copy: [CopySource] = [
        CopySource(ids: [7, 4, 7, 8, 3], oovs: ["foo", "bar"]),
        CopySource(ids: [4, 7, 3], oovs: ["baz"]),
        CopySource(ids: [6, 3], oovs: []),
    ]
    static let targets: [[Int32]] = [[4, 7, 8, 3], [7, 4, 3], [5, 6, 3]]

    static func configs() -> [(String, ModelConfig)] {
        ModelGradientTests.allConfigs.map { name, c in
            var c = c
            c.copy = true
            return (name, c)
        }
    }

    func testExtendedVocabulary() {
        let vocab = Vocabulary(counting: [["a", "b", "c"]])
        let V = Int32(vocab.count)
        let c = CopySource(words: ["x", "a", "y", "x", "c"], target: vocab)
        XCTAssertEqual(c.ids, [V, vocab.id("a"), V + 1, V, vocab.id("c")])
        XCTAssertEqual(c.oovs, ["x", "y"])
        XCTAssertEqual(c.extendedTarget(words: ["y", "b", "z", "x"], target: vocab), [V + 1, vocab.id("b"), Vocabulary.unk, V])
        XCTAssertEqual(c.word(V + 1, target: vocab), "y")
        XCTAssertEqual(c.word(vocab.id("b"), target: vocab), "b")
        XCTAssertEqual(CopySource.decoderInput(V, vocabularySize: vocab.count), Vocabulary.unk)
        XCTAssertEqual(CopySource.decoderInput(V - 1, vocabularySize: vocab.count), V - 1)
    }

    /// A configuration without copy writes no `copy` key (old files stay byte for byte) and an
    /// old file reads as copy off; copy on round-trips; the copy model draws the same
    /// parameters as the model without copy, then its gate's.
    func testConfigurationCompatibility() throws {
        var c = ModelConfig(sourceVocabSize: 9, targetVocabSize: 7)
        c.embeddingSize = 4; c.hiddenSize = 4; c.encoderHiddenSize = 3
        let plain = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        XCTAssertFalse(plain.contains("copy"))
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(plain.utf8)).copyEnabled, false)
        var on = c
        on.copy = true
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: try JSONEncoder().encode(on))
        XCTAssertEqual(decoded, on)
        XCTAssertTrue(decoded.copyEnabled)
        let a = EncoderDecoder(config: c, seed: 3), b = EncoderDecoder(config: on, seed: 3)
        XCTAssertEqual(b.params.count, a.params.count + 4 + 4 + 2 * 3 + 1)  // w [1, D + H + E] and b
        XCTAssertEqual(Array(UnsafeBufferPointer(start: b.params.storage, count: a.params.count)),
                       Array(UnsafeBufferPointer(start: a.params.storage, count: a.params.count)))
    }

    /// The copy loss's gradient (logits, p_gen, attention weights) through the whole model
    /// against central differences: both encoders × both attentions × input feeding, dropout
    /// on with fixed masks, several seeds.
    func testWholeModelCopyGradient() {
        var total = 0
        for (name, config) in Self.configs() {
            for seed in 0..<2 {
                let model = EncoderDecoder(config: config, seed: UInt64(seed))
                let dropRNG = RandomGenerator(seed: UInt64(41 + seed))
                let V = config.targetVocabSize
                let inputs = EncoderDecoder.teacherInputs(targets: Self.targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
                XCTAssertEqual(inputs[1], [4, 1, 5])  // extended ids read <unk>
                XCTAssertEqual(inputs[2], [1, 4, 6])
                let forward = { () -> (DecoderTrace, FloatBuffer) in
                    var r = dropRNG
                    let enc = model.encode(source: Self.sources, training: true, rng: &r)
                    let tr = model.decodeForTraining(enc, inputs: inputs, training: true, rng: &r)
                    return (tr, model.copyGates(tr))
                }
                let loss = { () -> Double in
                    let (tr, g) = forward()
                    return CrossEntropy.evaluateCopy(tr, gates: g, copy: Self.copy, targets: Self.targets).loss
                }
                let (tr, g) = forward()
                let r = CrossEntropy.evaluateCopy(tr, gates: g, copy: Self.copy, targets: Self.targets)
                XCTAssertEqual(r.tokens, 10)
                XCTAssertTrue(r.loss.isFinite && r.loss > 0)
                model.grads.zero()
                r.dLogits.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, copy: r.copy) }
                var rng = RandomGenerator(seed: 5)
                total += GradCheck.checkStore(model.params, model.grads, label: "copy \(name) seed \(seed)", rng: &rng, loss)
            }
        }
        XCTAssertGreaterThan(total, 5_000)
    }

    /// The checker sees the copy terms: dropping the attention-weight gradient (or the gate's)
    /// makes the whole-model check fail.
    func testCheckerCatchesAMissingCopyTerm() {
        let config = Self.configs()[0].1
        for drop in ["weights", "gate"] {
          var worst = 0.0
          for seed in 0..<3 {
            let model = EncoderDecoder(config: config, seed: UInt64(seed))
            let V = config.targetVocabSize
            let inputs = EncoderDecoder.teacherInputs(targets: Self.targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            let forward = { () -> (DecoderTrace, FloatBuffer) in
                var r = RandomGenerator(seed: 0)
                let enc = model.encode(source: Self.sources, training: false, rng: &r)
                let tr = model.decodeForTraining(enc, inputs: inputs, training: false, rng: &r)
                return (tr, model.copyGates(tr))
            }
            let (tr, g) = forward()
            let r = CrossEntropy.evaluateCopy(tr, gates: g, copy: Self.copy, targets: Self.targets)
            let dz = FloatBuffer(count: r.copy.dGate.count), da = FloatBuffer(count: r.copy.dWeights.count)
            if drop == "weights" { dz.pointer.update(from: r.copy.dGate.pointer, count: dz.count) }
            else { da.pointer.update(from: r.copy.dWeights.pointer, count: da.count) }
            model.grads.zero()
            r.dLogits.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, copy: CopyGradient(dGate: dz, dWeights: da)) }
            for e in model.params.entries {
                worst = max(worst, GradCheck.check(name: e.name, model.params.view(e), count: e.count, analytic: model.grads.view(e)) {
                    let (tr, g) = forward()
                    return CrossEntropy.evaluateCopy(tr, gates: g, copy: Self.copy, targets: Self.targets).loss
                }.ratio)
            }
          }
          XCTAssertGreaterThan(worst, 1, "dropping the \(drop) term went unnoticed")
        }
    }

    /// The lean step (output layer in blocks, one and several) adds the same gradient as the
    /// full trace's `evaluateCopy` + `backward`, and reports the same loss.
    func testLeanStepMatchesFullStep() {
        for (name, config) in Self.configs() {
            let model = EncoderDecoder(config: config, seed: 2)
            let V = config.targetVocabSize
            var r = RandomGenerator(seed: 8)
            let enc = model.encode(source: Self.sources, training: true, rng: &r)
            let inputs = EncoderDecoder.teacherInputs(targets: Self.targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            let tr = model.decodeForTraining(enc, inputs: inputs, training: true, rng: &r)
            let full = CrossEntropy.evaluateCopy(tr, gates: model.copyGates(tr), copy: Self.copy, targets: Self.targets)
            model.grads.zero()
            full.dLogits.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, copy: full.copy) }
            let expected = Array(UnsafeBufferPointer(start: model.grads.storage, count: model.grads.count))
            for blockFloats in [1 << 22, 2 * V] {
                let saved = EncoderDecoder.outputBlockFloats
                EncoderDecoder.outputBlockFloats = blockFloats
                defer { EncoderDecoder.outputBlockFloats = saved }
                model.grads.zero()
                var r2 = RandomGenerator(seed: 8)
                let loss = CrossEntropy.copyTeacherForcedStep(model, source: Self.sources, copy: Self.copy, target: Self.targets, rng: &r2)
                XCTAssertEqual(loss, full.loss, accuracy: 1e-5 * max(1, abs(full.loss)), name)
                for i in 0..<expected.count {
                    XCTAssertEqual(model.grads.storage[i], expected[i], accuracy: 1e-5 + 1e-4 * abs(expected[i]), "\(name) parameter \(i)")
                }
            }
        }
    }

    /// A decoding step's mixed distribution sums to 1 over each row's extended vocabulary,
    /// gives −∞ to a row's unused extended ids, and with p_gen ≈ 0 (the gate's bias far
    /// negative) greedy search copies: its first output is the source's most attended id,
    /// an extended id that the caller spells as the source word.
    func testDecodingOverTheExtendedVocabulary() {
        let config = Self.configs()[0].1
        let model = EncoderDecoder(config: config, seed: 4)
        let decoder = SequenceDecoder(model: model)
        var unused = RandomGenerator(seed: 0)
        let enc = model.encode(source: Self.sources, training: false, rng: &unused)
        let Vx = model.extendedVocabularySize(Self.copy)
        XCTAssertEqual(Vx, 9)
        let (lp, attn, _) = model.step(model.initialState(enc), input: [2, 2, 2], copy: Self.copy)
        XCTAssertEqual(lp.count, 3 * Vx)
        for b in 0..<3 {
            let total = (0..<Vx).reduce(0.0) { $0 + Double(exp(lp[b * Vx + $1])) }
            XCTAssertEqual(total, 1, accuracy: 1e-4)
        }
        XCTAssertEqual(lp[1 * Vx + 8], -.infinity)  // row 1 has one out-of-vocabulary word (id 7)
        XCTAssertEqual(lp[2 * Vx + 7], -.infinity)
        // The mixture by hand at row 0: p(7) = (1 − g)(a_0 + a_2) from copying alone.
        XCTAssertGreaterThan(lp[7], log(attn[0] + attn[2]) + log(Float(1e-3)))
        model.params.view(model.copyGate!.bias!)[0] = -40
        let pointing = SequenceDecoder(model: model)
        let out = pointing.greedy(sources: [Self.sources[0]], options: DecodingOptions(maxLength: 2, minLength: 1),
                                  copy: [Self.copy[0]])
        let (lp0, a0, _) = model.step(model.initialState(pointing.encode([Self.sources[0]])), input: [2], copy: [Self.copy[0]])
        var mass = [Float](repeating: 0, count: 9)
        for (i, id) in Self.copy[0].ids.enumerated() where id != 3 { mass[Int(id)] += a0[i] }
        let best = mass.indices.max { mass[$0] < mass[$1] }!
        XCTAssertEqual(out[0].ids.first, Int32(best))
        XCTAssertEqual(lp0[best], log(mass[best]), accuracy: 1e-4)
        _ = decoder
    }

    /// Greedy, sampling and beam search of a batch equal those of each source alone (copy
    /// rows follow their source through the batch's reordering).
    func testBatchedDecodingMatchesSingleSources() {
        let config = Self.configs()[2].1
        let model = EncoderDecoder(config: config, seed: 6)
        let decoder = SequenceDecoder(model: model)
        let options = DecodingOptions(maxLength: 6)
        for strategy: DecodingStrategy in [.greedy, .sample(SamplingOptions(numSamples: 2)), .beam(BeamOptions(beamSize: 3, nBest: 2))] {
            let batched = decoder.decodeAll(sources: Self.sources, strategy: strategy, options: options, batchSize: 3, seed: 9, copy: Self.copy)
            for i in 0..<3 {
                let alone = decoder.decodeAll(sources: [Self.sources[i]], strategy: strategy, options: options, batchSize: 1, seed: 9,
                                              firstIndex: i, copy: [Self.copy[i]])
                XCTAssertEqual(batched[i].map(\.ids), alone[0].map(\.ids), "\(strategy) source \(i)")
                for h in batched[i] { XCTAssertTrue(h.ids.allSatisfy { Int($0) < 7 + Self.copy[i].oovs.count }) }
            }
        }
    }
}
