import XCTest
import Metrics
import Tokenize
@testable import Seq2Seq

/// Minimum risk training (`RiskObjective`): its gradient against finite differences of
/// L(θ) = (1/B) Σ_i Σ_y Q_θ(y)·(1 − r(y)) (+ λ·XENT) with the candidates held fixed, and a
/// trainer that runs it.
final class RiskObjectiveTests: XCTestCase {
    private func trainer(_ dir: URL) throws -> Trainer {
        let data = TrainerTests.tinyData()
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = 6; mc.hiddenSize = 6; mc.encoderHiddenSize = 5; mc.dropout = 0; mc.initScale = 0.5
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.objective = .scst; o.batchSize = 4; o.seed = 13; o.reportEvery = 1000; o.reward = .rouge1; o.epochs = 3
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return try Trainer(options: o, runConfig: rc, data: data, runDirectory: dir.path,
                           progress: ProgressPrinter(inPlace: false, output: { _ in }))
    }

    func testGradientIsTheExpectedRiskGradient() throws {
        for (alpha, lambda) in [(1.0, Float(0)), (3.0, Float(0)), (2.0, Float(0.5))] {
            let tr = try trainer(FileManager.default.temporaryDirectory.appendingPathComponent("risk-\(UUID().uuidString)"))
            let model = tr.model
            let batch = tr.batcher.batch(Array(0..<4))
            let k = 4, B = batch.count
            let objective = RiskObjective(steps: tr.steps, candidates: k, alpha: alpha, xentWeight: lambda, temperature: 1.5)
            var context = tr.objectiveContext(s: 0)
            let streams = (context.dropout, context.sampling)
            model.grads.zero()
            _ = try objective.step(batch, &context)
            let analytic = Array(model.grads.buffer)

            // The same candidates again (no dropout), and their costs.
            // (Without dropout the XENT term draws nothing: the sampling stream is as it was.)
            var dropout = streams.0, sampling = streams.1
            let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
            let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
            let enc = model.encode(source: sources, training: true, rng: &dropout)
            let rollout = Rollout(model, enc, targets: targets, s: 0, steps: tr.steps, temperature: 1.5, dropout: &dropout, sampling: &sampling)
            let reward = SequenceReward(metric: tr.options.rewardMetric)
            let candidates: [[Int32]] = (0..<B * k).map { rollout.output($0) + (rollout.ended[$0] ? [Vocabulary.eos] : []) }
            let cost = (0..<B * k).map { 1 - Double(reward(rollout.output($0), target: targets[$0])) }
            XCTAssertGreaterThan(Set(cost).count, 1, "all candidates cost the same: a weak check")
            func loss() -> Double {
                var none = RandomGenerator(seed: 0)
                let e = model.encode(source: sources, training: false, rng: &none)
                let t = model.decodeForTraining(e, inputs: EncoderDecoder.teacherInputs(targets: candidates), training: false, rng: &none)
                let V = t.vocabSize
                var scores = [Double](repeating: 0, count: B * k)
                for row in 0..<B * k {
                    for (step, y) in candidates[row].enumerated() {
                        let at = step * B * k + row
                        scores[row] += Double(t.logits[at * V + Int(y)]) - Double(t.logZ[at])
                    }
                    scores[row] /= Double(max(candidates[row].count, 1))
                }
                var total = 0.0
                for i in 0..<B {
                    let group = (i * k)..<((i + 1) * k)
                    let m = group.map { alpha * scores[$0] }.max()!
                    let z = group.map { exp(alpha * scores[$0] - m) }.reduce(0, +)
                    for y in group { total += exp(alpha * scores[y] - m) / z * cost[y] }
                }
                var xent = 0.0
                if lambda > 0 {
                    let e2 = model.encode(source: batch.sources, training: false, rng: &none)
                    let t2 = model.decodeForTraining(e2, inputs: EncoderDecoder.teacherInputs(targets: batch.targets), training: false, rng: &none)
                    xent = CrossEntropy.evaluate(t2, targets: batch.targets).loss
                }
                return total / Double(B) + Double(lambda) * xent
            }
            let biggest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(40)
            XCTAssertGreaterThan(abs(Double(analytic[biggest.first!])), 1e-4, "α \(alpha) λ \(lambda): the gradient is ~0")
            for i in biggest {
                let n = GradCheck.numeric(model.params.buffer.baseAddress!, i, eps: 1e-2, loss)
                let a = Double(analytic[i])
                XCTAssertLessThanOrEqual(abs(a - n), 1e-4 + 2e-2 * max(abs(a), abs(n)), "α \(alpha) λ \(lambda): θ[\(i)] analytic \(a) numeric \(n)")
            }
        }
    }

    /// The trainer runs it as any objective: finite losses, the stage logged, rewards recorded.
    func testTheTrainerRunsIt() throws {
        let tr = try trainer(FileManager.default.temporaryDirectory.appendingPathComponent("risk-\(UUID().uuidString)"))
        tr.objective = RiskObjective(steps: tr.steps, candidates: 3, alpha: 1, xentWeight: 0.3, temperature: 1)
        let summary = try tr.train()
        XCTAssertEqual(summary.epochs, 3)
        let log = try String(contentsOfFile: tr.run.log, encoding: .utf8)
        XCTAssertTrue(log.contains("\"stage\":\"risk\""), log)
        XCTAssertTrue(Array(tr.model.params.buffer).allSatisfy(\.isFinite))
    }
}
