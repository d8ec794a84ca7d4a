import XCTest
import Metrics
import Tokenize
@testable import Seq2Seq

/// Minimum risk training (`RiskObjective`): its gradient against finite differences of
/// L(θ) = (1/B) Σ_i Σ_y Q_θ(y)·(1 − r(y)) (+ λ·XENT) with the candidates held fixed, and a
/// trainer that runs it.
final class RiskObjectiveTests: XCTestCase {
    private func trainer(_ dir: URL, configure: (inout TrainerOptions) -> Void = { _ in }) throws -> Trainer {
        let data = TrainerTests.tinyData()
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = 6; mc.hiddenSize = 6; mc.encoderHiddenSize = 5; mc.dropout = 0; mc.initScale = 0.5
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.objective = .scst; o.batchSize = 4; o.seed = 13; o.reportEvery = 1000; o.reward = .rouge1; o.epochs = 3
        configure(&o)
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
            let reward = SequenceReward(tr.options)
            let candidates: [[Int32]] = (0..<B * k).map { rollout.output($0) + (rollout.ended[$0] ? [Vocabulary.eos] : []) }
            let cost = (0..<B * k).map { 1 - Double(reward(rollout.output($0), ended: rollout.ended[$0], target: targets[$0])) }
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

    /// Candidates from the beam, from both sources, with the reference, with duplicates merged
    /// or kept: the gradient is that of L(θ) = (1/B) Σ_i Σ_{y∈U_i} Q_θ(y)·c(y) over the same
    /// candidate sets (the samples redrawn from the same streams, the beam rerun on the same
    /// weights, merged duplicates counted once), by central finite differences.
    func testGradientOfEveryCandidateSource() throws {
        let cases: [(RiskCandidateSource, Bool, RiskDuplicates, Double)] = [
            (.beam, false, .merge, 1), (.both, true, .merge, 1.5), (.sample, true, .keep, 1.5),
            (.both, false, .keep, 1), (.sample, false, .merge, 0.4),
        ]
        var merged = 0
        for (source, withReference, duplicates, temperature) in cases {
            let what = "\(source) reference \(withReference) \(duplicates) τ \(temperature)"
            let tr = try trainer(FileManager.default.temporaryDirectory.appendingPathComponent("risk-\(UUID().uuidString)"))
            let model = tr.model
            let batch = tr.batcher.batch(Array(0..<4))
            let k = 4, B = batch.count, alpha = 2.0
            let objective = RiskObjective(steps: tr.steps, candidates: k, alpha: alpha, xentWeight: 0, temperature: temperature,
                                          source: source, includeReference: withReference, duplicates: duplicates)
            var context = tr.objectiveContext(s: 0)
            let streams = (context.dropout, context.sampling)
            model.grads.zero()
            _ = try objective.step(batch, &context)
            let analytic = Array(model.grads.buffer)

            // The candidate sets, in the objective's order: samples, beam, reference.
            var sets = [[[Int32]]](repeating: [], count: B)
            if source != .beam {
                var dropout = streams.0, sampling = streams.1
                let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
                let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
                let enc = model.encode(source: sources, training: true, rng: &dropout)
                let r = Rollout(model, enc, targets: targets, s: 0, steps: tr.steps, temperature: temperature,
                                dropout: &dropout, sampling: &sampling)
                for row in 0..<B * k { sets[row / k].append(r.output(row) + (r.ended[row] ? [Vocabulary.eos] : [])) }
            }
            if source != .sample {
                let beams = SequenceDecoder(model: model).decodeAll(
                    sources: batch.sources, strategy: .beam(BeamOptions(beamSize: k, nBest: k)),
                    options: DecodingOptions(maxLength: tr.steps), batchSize: 64)
                for i in 0..<B { for h in beams[i] { sets[i].append(h.ids + (h.ended ? [Vocabulary.eos] : [])) } }
            }
            if withReference { for i in 0..<B { sets[i].append(batch.targets[i]) } }
            if duplicates == .merge {
                for i in 0..<B {
                    var seen: Set<[Int32]> = [], unique: [[Int32]] = []
                    for y in sets[i] where seen.insert(y).inserted { unique.append(y) }
                    merged += sets[i].count - unique.count
                    sets[i] = unique
                }
            }
            let reward = SequenceReward(tr.options)
            var rows: [[Int32]] = [], rowSource: [Int] = [], cost: [Double] = []
            for i in 0..<B {
                for y in sets[i] {
                    let ended = y.last == Vocabulary.eos
                    rows.append(y); rowSource.append(i)
                    cost.append(1 - Double(reward(ended ? Array(y.dropLast()) : y, ended: ended, target: batch.targets[i])))
                }
            }
            XCTAssertGreaterThan(Set(cost).count, 1, "\(what): all candidates cost the same: a weak check")
            if withReference { XCTAssertTrue(cost.contains(0), "\(what): the reference costs 0") }
            func loss() -> Double {
                var none = RandomGenerator(seed: 0)
                let e = model.encode(source: rowSource.map { batch.sources[$0] }, training: false, rng: &none)
                let t = model.decodeForTraining(e, inputs: EncoderDecoder.teacherInputs(targets: rows), training: false, rng: &none)
                let V = t.vocabSize, N = rows.count
                var scores = [Double](repeating: 0, count: N)
                for row in 0..<N {
                    for (step, y) in rows[row].enumerated() {
                        let at = step * N + row
                        scores[row] += Double(t.logits[at * V + Int(y)]) - Double(t.logZ[at])
                    }
                    scores[row] /= Double(rows[row].count)
                }
                var total = 0.0
                for i in 0..<B {
                    let group = rows.indices.filter { rowSource[$0] == i }
                    let m = group.map { alpha * scores[$0] }.max()!
                    let z = group.map { exp(alpha * scores[$0] - m) }.reduce(0, +)
                    for y in group { total += exp(alpha * scores[y] - m) / z * cost[y] }
                }
                return total / Double(B)
            }
            let biggest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(30)
            XCTAssertGreaterThan(abs(Double(analytic[biggest.first!])), 1e-4, "\(what): the gradient is ~0")
            for i in biggest {
                let n = GradCheck.numeric(model.params.buffer.baseAddress!, i, eps: 1e-2, loss)
                let a = Double(analytic[i])
                XCTAssertLessThanOrEqual(abs(a - n), 1e-4 + 2e-2 * max(abs(a), abs(n)), "\(what): θ[\(i)] analytic \(a) numeric \(n)")
            }
        }
        XCTAssertGreaterThan(merged, 0, "no duplicate was drawn: merging went unchecked")
    }

    /// Beam and sampled candidates with the reference: the same seed gives the same weights, and
    /// a run stopped mid-epoch and resumed ends bit-identical to the run that was not stopped.
    func testBeamCandidatesAreReproducibleAndResumeExactly() throws {
        func configure(_ o: inout TrainerOptions) {
            o.objective = .risk; o.riskCandidates = 3; o.riskCandidatesFrom = .both; o.riskIncludeReference = true
            o.epochs = 2
        }
        func make(_ dir: URL) throws -> Trainer {
            let tr = try trainer(dir, configure: configure)
            return tr
        }
        let tmp = FileManager.default.temporaryDirectory
        let full = try make(tmp.appendingPathComponent("risk-\(UUID().uuidString)"))
        _ = try full.train()
        let again = try make(tmp.appendingPathComponent("risk-\(UUID().uuidString)"))
        _ = try again.train()
        XCTAssertEqual(Array(again.model.params.buffer), Array(full.model.params.buffer), "the same seed, other weights")
        let dir = tmp.appendingPathComponent("risk-\(UUID().uuidString)")
        let first = try make(dir)
        let stopAt = full.batcher.batchesPerEpoch + 1
        first.shouldStop = { first.state.globalStep >= stopAt }
        XCTAssertTrue(try first.train().interrupted)
        let second = try make(dir)
        try second.restore(from: try Checkpoint.open(second.run.last))
        XCTAssertEqual(second.state.globalStep, stopAt)
        _ = try second.train()
        XCTAssertEqual(Array(second.model.params.buffer), Array(full.model.params.buffer), "resumed at \(stopAt): other weights")
    }
}
