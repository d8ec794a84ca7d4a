import XCTest
import Metrics
import Tokenize
@testable import Seq2Seq

/// SCST's gradient, checked against its formula (Rennie et al., 2017): with k samples w^{i,j}
/// per source i, rewards r_ij, baselines b_ij and the `sequence` weighting w = 1/(B·k),
///
///     L(θ) = −w · Σ_ij (r_ij − b_ij) · log p_θ(w^{ij} | x_i)      (samples, r and b held fixed)
///
/// where b_ij = (Σ_{j'≠j} r_ij') / (k − 1) (leave-one-out, `--scst-baseline mean`) or
/// b_ij = r(greedy output of x_i) (`greedy`). The step's gradient must equal ∂L/∂θ, computed here
/// by central differences of L itself, on a model without dropout.
final class SCSTGradientTests: XCTestCase {
    func testGradientIsTheBaselinedPolicyGradient() throws {
        for baseline in [SCSTBaseline.mean, .greedy] {
            let data = TrainerTests.tinyData()
            var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
            mc.embeddingSize = 6; mc.hiddenSize = 6; mc.encoderHiddenSize = 5; mc.dropout = 0; mc.initScale = 0.5
            let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
            var o = TrainerOptions()
            o.objective = .scst; o.scstSamples = 3; o.scstBaseline = baseline; o.batchSize = 4; o.seed = 11
            o.lossWeighting = .sequence; o.reportEvery = 1000; o.reward = .rouge1; o.temperature = 1.5
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scst-\(UUID().uuidString)")
            addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
            let tr = try Trainer(options: o, runConfig: rc, data: data, runDirectory: dir.path,
                                 progress: ProgressPrinter(inPlace: false, output: { _ in }))
            let model = tr.model
            let batch = tr.batcher.batch(Array(0..<4))
            let k = o.scstSamples, B = batch.count

            // The step, on the trainer's context (copies of its streams).
            var context = tr.objectiveContext(s: 0)
            let streams = (context.dropout, context.sampling)
            model.grads.zero()
            _ = try tr.objective.step(batch, &context)
            let analytic = Array(model.grads.buffer)

            // The same samples again, from the same streams (no dropout: the encoder draws nothing
            // that changes them), and their rewards.
            var dropout = streams.0, sampling = streams.1
            let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
            let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
            let enc = model.encode(source: sources, training: true, rng: &dropout)
            let rollout = Rollout(model, enc, targets: targets, s: 0, steps: tr.steps, temperature: o.temperature,
                                  dropout: &dropout, sampling: &sampling)
            let reward = SequenceReward(o)
            let samples: [[Int32]] = (0..<B * k).map { rollout.output($0) + (rollout.ended[$0] ? [Vocabulary.eos] : []) }
            let r = (0..<B * k).map { reward(rollout.output($0), ended: rollout.ended[$0], target: targets[$0]) }
            XCTAssertGreaterThan(Set(r).count, 1, "the samples' rewards all tie: the check would be weak")
            var b = [Float](repeating: 0, count: B * k)
            for i in 0..<B {
                for j in 0..<k {
                    switch baseline {
                    case .mean:
                        b[i * k + j] = ((0..<k).filter { $0 != j }.map { r[i * k + $0] }.reduce(0, +)) / Float(k - 1)
                    case .greedy:
                        let g = SequenceDecoder(model: model).greedy(sources: [batch.sources[i]], options: DecodingOptions(maxLength: tr.steps))[0]
                        b[i * k + j] = reward(g.ids, ended: g.ended, target: batch.targets[i])
                    }
                }
            }
            let w = 1 / Double(B * k)
            // L(θ) with log p summed in Double over each sample's tokens (teacher-forced on it).
            func loss() -> Double {
                var none = RandomGenerator(seed: 0)
                let e = model.encode(source: sources, training: false, rng: &none)
                let trace = model.decodeForTraining(e, inputs: EncoderDecoder.teacherInputs(targets: samples), training: false, rng: &none)
                let V = mc.targetVocabSize
                var total = 0.0
                for row in 0..<B * k {
                    var logp = 0.0
                    for (t, y) in samples[row].enumerated() {
                        let at = (t * B * k + row) * V
                        logp += Double(trace.logits[at + Int(y)]) - Double(trace.logZ[t * B * k + row])
                    }
                    total -= w * Double(r[row] - b[row]) * logp
                }
                return total
            }
            // Every coordinate of a few tensors, and the largest gradients of all.
            let biggest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(40)
            var checked = 0
            for i in biggest {
                let n = GradCheck.numeric(model.params.buffer.baseAddress!, i, eps: 1e-2, loss)
                let a = Double(analytic[i])
                XCTAssertLessThanOrEqual(abs(a - n), 1e-4 + 2e-2 * max(abs(a), abs(n)), "\(baseline): θ[\(i)] analytic \(a) numeric \(n)")
                checked += 1
            }
            XCTAssertEqual(checked, 40)
            XCTAssertGreaterThan(abs(Double(analytic[biggest.first!])), 1e-4, "\(baseline): the gradient is ~0")
        }
    }

    /// The reward counts `</s>` (`--reward-eos count`): a sample is scored on what it emitted up
    /// to and including `</s>`, so stopping early or running on loses the n-grams that end with
    /// the reference's `</s>`; a sample cut at the length limit without `</s>` is scored on its
    /// tokens with no `</s>` to match (below the same words ended, above nothing). With
    /// `ignore`, the words alone.
    func testRewardCountsEndOfSequence() {
        let eos = Vocabulary.eos
        let target: [Int32] = [10, 11, 12, eos]
        let count = SequenceReward(metric: .rougeN(2), countsEOS: true)
        let ignore = SequenceReward(metric: .rougeN(2), countsEOS: false)
        // Reference bigrams with </s>: (10 11) (11 12) (12 </s>).
        XCTAssertEqual(count([10, 11, 12], ended: true, target: target), 1)
        // Cut at the limit: (10 11) (11 12) of 3 reference bigrams: P 1, R 2/3, F 0.8.
        XCTAssertEqual(count([10, 11, 12], ended: false, target: target), 0.8, accuracy: 1e-6)
        // Runs on: (10 11) (11 12) (12 13) (13 </s>): 2 of 4 and 2 of 3: F = 4/7.
        XCTAssertEqual(count([10, 11, 12, 13], ended: true, target: target), 4.0 / 7, accuracy: 1e-6)
        // Stops early: (10 11) (11 </s>): 1 of 2 and 1 of 3: F = 0.4.
        XCTAssertEqual(count([10, 11], ended: true, target: target), 0.4, accuracy: 1e-6)
        // Without </s> the words alone: the cut sample scores as the ended one.
        XCTAssertEqual(ignore([10, 11, 12], ended: true, target: target), 1)
        XCTAssertEqual(ignore([10, 11, 12], ended: false, target: target), 1)
        XCTAssertEqual(ignore([10, 11], ended: true, target: target), 2.0 / 3, accuracy: 1e-6)
        // A reference without </s> (or padded) is read as ending where its ids end.
        XCTAssertEqual(count([10, 11, 12], ended: true, target: [10, 11, 12]), 1)
        XCTAssertEqual(count([10, 11, 12], ended: true, target: [10, 11, 12, eos, Vocabulary.pad]), 1)
        // The greedy baseline is scored the same way: an ended greedy output gets its </s>.
        let greedy = [[Hypothesis(ids: [10, 11, 12], ended: true, logProb: 0, score: 0, attentionArgmax: [])],
                      [Hypothesis(ids: [10, 11, 12], ended: false, logProb: 0, score: 0, attentionArgmax: [])]]
        XCTAssertEqual(SCSTObjective.greedyRewards(greedy, targets: [target, target], reward: count), [1, 0.8])
        XCTAssertEqual(SCSTObjective.greedyRewards(greedy, targets: [target, target], reward: ignore), [1, 1])
        // The trainer's reward follows the option; a saved run without it keeps `ignore`.
        var o = TrainerOptions()
        XCTAssertTrue(SequenceReward(o).countsEOS)
        o.rewardEOS = .ignore
        XCTAssertFalse(SequenceReward(o).countsEOS)
    }
}
