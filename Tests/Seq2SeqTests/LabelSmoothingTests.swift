import XCTest
import Tokenize
@testable import Seq2Seq

/// Label-smoothed cross-entropy (`CrossEntropy.labelSmoothed`): its gradient through the whole
/// model against finite differences of its loss, the lean output-layer path against it, ε = 0
/// against plain XENT, and the loss against its definition −Σ q_j log p_j.
final class LabelSmoothingTests: XCTestCase {
    private func trace(_ model: EncoderDecoder, _ rng: RandomGenerator) -> DecoderTrace {
        var r = rng
        let enc = model.encode(source: ModelGradientTests.sources, training: true, rng: &r)
        return model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: ModelGradientTests.targets), training: true, rng: &r)
    }

    func testWholeModelGradientMatchesFiniteDifferences() {
        var total = 0
        for (name, config) in ModelGradientTests.allConfigs.prefix(4) {
            for epsilon: Float in [0.1, 0.4] {
                let model = EncoderDecoder(config: config, seed: 3)
                let drop = RandomGenerator(seed: 21)
                let tr = trace(model, drop)
                let (_, _, n, d) = CrossEntropy.labelSmoothed(tr, targets: ModelGradientTests.targets, epsilon: epsilon)
                XCTAssertEqual(n, 9)
                model.grads.zero()
                d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
                var rng = RandomGenerator(seed: 5)
                total += GradCheck.checkStore(model.params, model.grads, label: "label smoothing \(epsilon) \(name)", rng: &rng) {
                    CrossEntropy.labelSmoothed(self.trace(model, drop), targets: ModelGradientTests.targets, epsilon: epsilon).loss
                }
            }
        }
        XCTAssertGreaterThan(total, 1000)
    }

    /// The loss is −(1/N) Σ Σ_j q_j log p_j with q = (1 − ε)·onehot(y) + ε/K on all but <pad>
    /// and <s>, its nll is plain XENT's loss, and ε = 0 gives XENT's loss and gradient exactly.
    func testLossIsItsDefinitionAndZeroIsXENT() {
        let model = EncoderDecoder(config: ModelGradientTests.tiny(.bilstm, .general, feeding: true, dropout: 0), seed: 4)
        let tr = trace(model, RandomGenerator(seed: 1))
        let targets = ModelGradientTests.targets
        let plain = CrossEntropy.evaluate(tr, targets: targets)
        let zero = CrossEntropy.labelSmoothed(tr, targets: targets, epsilon: 0)
        XCTAssertEqual(zero.loss, plain.loss, accuracy: 1e-12)
        XCTAssertEqual(zero.dLogits, plain.dLogits)
        let eps: Float = 0.2
        let smoothed = CrossEntropy.labelSmoothed(tr, targets: targets, epsilon: eps)
        XCTAssertEqual(smoothed.nll, plain.loss, accuracy: 1e-12)
        let V = tr.vocabSize, B = tr.batchSize, K = V - 2
        var expected = 0.0, n = 0
        for t in 0..<tr.steps {
            for b in 0..<B where t < targets[b].count {
                let r = t * B + b
                for j in 0..<V {
                    let q = (j == Int(targets[b][t]) ? Double(1 - eps) : 0)
                        + (j == Int(Vocabulary.pad) || j == Int(Vocabulary.bos) ? 0 : Double(eps) / Double(K))
                    expected -= q * log(Double(tr.probs[r * V + j]))
                }
                n += 1
            }
        }
        XCTAssertEqual(smoothed.loss, expected / Double(n), accuracy: 1e-5)
        XCTAssertGreaterThan(smoothed.loss, plain.loss * Double(1 - eps))
    }

    /// XENT's lean path (the output layer in blocks, `teacherForcedStep`) gives the same
    /// gradient as backpropagating `labelSmoothed`'s dLogits, and reports the plain cross-entropy.
    func testLeanPathEqualsTheFullTrace() {
        let model = EncoderDecoder(config: ModelGradientTests.tiny(.conv, .dot, feeding: true, dropout: 0.25), seed: 6)
        let drop = RandomGenerator(seed: 8)
        let tr = trace(model, drop)
        let full = CrossEntropy.labelSmoothed(tr, targets: ModelGradientTests.targets, epsilon: 0.3)
        model.grads.zero()
        full.dLogits.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
        let expected = Array(model.grads.buffer)
        model.grads.zero()
        var r = drop
        let reported = CrossEntropy.teacherForcedStep(model, source: ModelGradientTests.sources, target: ModelGradientTests.targets,
                                                      rng: &r, labelSmoothing: 0.3)
        XCTAssertEqual(reported, full.nll, accuracy: 1e-5)
        for (a, e) in zip(Array(model.grads.buffer), expected) { XCTAssertEqual(a, e, accuracy: 1e-6 + 1e-4 * abs(e)) }
    }
}
