import Foundation
import Tokenize
import XCTest
@testable import Seq2Seq

final class TrainerTests: XCTestCase {
    /// A tiny synthetic task: the target is the first three source tokens reversed.
    static func tinyData(pairs: Int = 24, seed: UInt64 = 3) -> TrainingData {
        var rng = RandomGenerator(seed: seed)
        let words = (0..<12).map { "w\($0)" }
        var src: [[String]] = [], tgt: [[String]] = []
        for _ in 0..<pairs {
            let n = 4 + Int(rng.next() % 4)
            let s = (0..<n).map { _ in words[Int(rng.next() % UInt64(words.count))] }
            src.append(s)
            tgt.append(Array(s.prefix(3).reversed()))
        }
        let sv = Vocabulary(counting: src), tv = Vocabulary(counting: tgt)
        var d = TrainingData(sourceVocabulary: sv, targetVocabulary: tv, trainSources: src.map { sv.encode($0) },
                             trainTargets: tgt.map { tv.encode($0) + [Vocabulary.eos] }, validSources: [], validTargets: [],
                             validSourceText: src.map { $0.joined(separator: " ") }, validReferenceText: tgt.map { $0.joined(separator: " ") })
        d.validSources = Array(d.trainSources.prefix(8))
        d.validTargets = Array(d.trainTargets.prefix(8))
        d.validSourceText = Array(d.validSourceText.prefix(8))
        d.validReferenceText = Array(d.validReferenceText.prefix(8))
        return d
    }

    func makeTrainer(_ objective: TrainingObjective, seed: UInt64 = 1, epochs: Int = 2, size: Int = 8,
                     directory: URL? = nil,
                     configure: (inout TrainerOptions) -> Void = { _ in }) throws -> Trainer {
        let data = Self.tinyData()
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = size; mc.hiddenSize = size; mc.encoderHiddenSize = size; mc.dropout = 0.1
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.objective = objective; o.epochs = epochs; o.batchSize = 6; o.seed = seed; o.xentEpochs = 1
        o.mixerDelta = 2; o.logSamples = 2; o.reportEvery = 1000
        configure(&o)
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return try Trainer(options: o, runConfig: rc, data: data, runDirectory: dir.path,
                           progress: ProgressPrinter(inPlace: false, output: { _ in }))
    }

    /// The gradient at the logits equals, entry by entry, w·(p − onehot(y)) on teacher-forced
    /// steps and w·(r − b_t)·(p − onehot(w_t)) on sampled steps, and is zero after `</s>`.
    func testLogitGradientIsTheExplicitREINFORCEFormula() throws {
        for weighting in MixerLossWeighting.allCases {
            let tr = try makeTrainer(.mixer) { $0.lossWeighting = weighting }
            let batch = tr.batcher.batch(Array(0..<6))
            let s = 2
            var drng = RandomGenerator(seed: 9)
            let enc = tr.model.encode(source: batch.sources, training: true, rng: &drng)
            let r = Rollout(tr.model, enc, targets: batch.targets, s: s, steps: tr.steps, temperature: tr.options.temperature,
                            dropout: &drng, sampling: &tr.samplingRNG)
            let reward = SequenceReward(tr.options).rewards(r, targets: batch.targets)
            let base: (Int, Int) -> Float = { t, b in 0.01 * Float(t) + 0.1 * Float(b) }
            var st = StepStatistics()
            let d = PolicyGradient.logitGradient(r, s: s, reward: reward, baseline: base, weighting: weighting, &st)
            let B = 6, V = tr.model.config.targetVocabSize, T = r.tokens.count
            var nX = 0, anyRL = false
            for t in 0..<T { for b in 0..<B where r.active[t][b] { if t < s { nX += 1 } else { anyRL = true } } }
            let mixed = nX > 0 && anyRL
            let wx: Float = weighting == .sequence ? 1 / Float(B) : (mixed ? 0.5 : 1) / Float(nX)
            let wr: Float = weighting == .sequence ? 1 / Float(B) : (mixed ? 0.5 : 1)
            for t in 0..<T {
                for b in 0..<B {
                    if t < s && r.active[t][b] { XCTAssertEqual(r.tokens[t][b], batch.targets[b][t], "teacher forcing at t=\(t)") }
                    for j in 0..<V {
                        let got = d[(t * B + b) * V + j]
                        var want: Float = 0
                        if r.active[t][b] {
                            let p = r.trace.probs[(t * B + b) * V + j]
                            let hot: Float = j == Int(r.tokens[t][b]) ? 1 : 0
                            want = t < s ? wx * (p - hot) : wr * (reward[b] - base(t, b)) * (p - hot)
                        }
                        XCTAssertEqual(got, want, accuracy: 1e-6, "\(weighting) t=\(t) b=\(b) j=\(j)")
                    }
                }
            }
            // Rewards are the Metrics reward of each row's output.
            for b in 0..<B { XCTAssertTrue(reward[b] >= 0 && reward[b] <= 1) }
        }
    }

    /// A MIXER step's model gradient is exactly the backward of the logit gradient: the
    /// baseline regressors (trained in the same step) send nothing into the network.
    func testBaselineSendsNoGradientIntoTheNetwork() throws {
        let tr = try makeTrainer(.mixer)
        let batch = tr.batcher.batch(Array(0..<6))
        let saved = (tr.dropoutRNG, tr.samplingRNG)
        tr.model.grads.zero(); tr.baseline!.grads.zero()
        XCTAssertTrue(tr.objective is MIXERObjective)
        var context = tr.objectiveContext(s: 1)
        _ = try tr.objective.step(batch, &context)
        let viaStep = Array(tr.model.grads.buffer)
        XCTAssertGreaterThan(Array(tr.baseline!.grads.buffer).map(abs).max()!, 0, "the regressors were trained")
        // Replay with the same random streams but baselines from the regressors, no MSE step.
        (tr.dropoutRNG, tr.samplingRNG) = saved
        tr.model.grads.zero()
        var drng = tr.dropoutRNG, srng = tr.samplingRNG
        let enc = tr.model.encode(source: batch.sources, training: true, rng: &drng)
        let r = Rollout(tr.model, enc, targets: batch.targets, s: 1, steps: tr.steps, temperature: tr.options.temperature,
                        dropout: &drng, sampling: &srng)
        let reward = SequenceReward(tr.options).rewards(r, targets: batch.targets)
        let H = tr.model.config.hiddenSize
        var b = [[Float]](repeating: [Float](repeating: 0, count: 6), count: r.tokens.count)
        for t in 1..<r.tokens.count {
            b[t].withUnsafeMutableBufferPointer { tr.baseline!.predict(step: t, x: r.trace.outputs.pointer + t * 6 * H, rows: 6, out: $0.baseAddress!) }
        }
        var st2 = StepStatistics()
        PolicyGradient.backward(tr.model, r, s: 1, reward: reward, baseline: { b[$0][$1] }, weighting: tr.options.lossWeighting, &st2)
        XCTAssertEqual(Array(tr.model.grads.buffer), viaStep)
    }

    /// The trainer trains with an objective it has never heard of: every step goes to it, its
    /// stage name reaches the log, and it learns (its loss on the first tokens falls), while
    /// the random streams flow through the context as for the built-in objectives.
    func testANewObjectiveIsOneType() throws {
        let tr = try makeTrainer(.xent, epochs: 15, size: 16) { $0.learningRate = 0.01 }
        let objective = FirstTokenObjective()  // FirstTokenObjective.swift, the test target's one file of it
        tr.objective = objective
        XCTAssertNil(tr.baseline)
        let batch = tr.batcher.batch(Array(0..<6))
        func firstTokenLoss() -> Double {
            var r = RandomGenerator(seed: 0)
            let targets = batch.targets.map { Array($0.prefix(1)) }
            let enc = tr.model.encode(source: batch.sources, training: false, rng: &r)
            let trace = tr.model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: targets), training: false, rng: &r)
            return CrossEntropy.evaluate(trace, targets: targets).loss
        }
        let before = firstTokenLoss()
        let dropoutBefore = tr.dropoutRNG.state
        _ = try tr.train()
        XCTAssertEqual(objective.steps, 15 * tr.batcher.batchesPerEpoch)
        XCTAssertLessThan(firstTokenLoss(), 0.8 * before)
        XCTAssertNotEqual(tr.dropoutRNG.state, dropoutBefore, "the context's dropout stream came back to the trainer")
        let log = try String(contentsOfFile: tr.run.log, encoding: .utf8)
        XCTAssertTrue(log.contains("\"stage\":\"first-token\""), "the objective's stage is logged")
    }

    /// The factory maps each option to its type, and only MIXER gets baseline regressors.
    func testFactoryMakesEachObjective() throws {
        for objective in TrainingObjective.allCases {
            let tr = try makeTrainer(objective)
            switch objective {
            case .xent: XCTAssertTrue(tr.objective is XENTObjective)
            case .mixer: XCTAssertTrue(tr.objective is MIXERObjective)
            case .dad: XCTAssertTrue(tr.objective is DADObjective)
            case .scst: XCTAssertTrue(tr.objective is SCSTObjective)
            case .risk: XCTAssertTrue(tr.objective is RiskObjective)
            }
            XCTAssertEqual(tr.baseline != nil, objective == .mixer)
        }
    }

    /// The same seed gives bit-identical weights after XENT + MIXER epochs; another seed does not.
    func testSeededRunsAreReproducible() throws {
        func run(_ seed: UInt64, _ objective: TrainingObjective) throws -> [Float] {
            let tr = try makeTrainer(objective, seed: seed, epochs: 3)
            _ = try tr.train()
            return Array(tr.model.params.buffer)
        }
        for objective in TrainingObjective.allCases {
            let a = try run(5, objective), b = try run(5, objective), c = try run(6, objective)
            XCTAssertEqual(a, b, "\(objective) is not reproducible")
            XCTAssertNotEqual(a, c, "\(objective) ignores the seed")
        }
    }

    /// Every objective writes a complete run: log records per epoch, checkpoints, valid output.
    func testEachObjectiveWritesARun() throws {
        for objective in TrainingObjective.allCases {
            let tr = try makeTrainer(objective, epochs: 3) { $0.scstSamples = 2; $0.scstBaseline = .mean }
            let summary = try tr.train()
            XCTAssertEqual(summary.epochs, 3)
            let log = try TrainingLog.read(tr.run.log)
            let epochs = log.compactMap { if case .epoch(let e) = $0 { e } else { nil } }
            XCTAssertEqual(epochs.map(\.epoch), [1, 2, 3], "\(objective)")
            XCTAssertNotNil(epochs.last?.validROUGE2)
            if objective == .mixer || objective == .scst { XCTAssertNotNil(epochs.last?.meanReward, "\(objective)") }
            if objective == .mixer { XCTAssertNotNil(epochs.last?.baselineMSE) }
            // Step records count epochs from 1, as epoch records do.
            let steps = log.compactMap { if case .step(let r) = $0 { r } else { nil } }
            XCTAssertFalse(steps.isEmpty, "\(objective)")
            XCTAssertEqual(Set(steps.map(\.epoch)), [1, 2, 3], "\(objective)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: tr.run.last + "/model.safetensors"))
            XCTAssertNoThrow(try TrainedModel(directory: tr.run.path))
        }
    }

    /// A tiny model learns the task with XENT (loss falls well below its start).
    func testXENTLearns() throws {
        let tr = try makeTrainer(.xent, epochs: 40, size: 24) { $0.learningRate = 0.01 }
        _ = try tr.train()
        let log = try TrainingLog.read(tr.run.log).compactMap { if case .epoch(let e) = $0 { e } else { nil } }
        let first = log.first?.trainLoss ?? 0, last = log.last?.trainLoss ?? 0
        XCTAssertLessThan(last, first * 0.3, "loss \(first) → \(last)")
    }

    /// A run of N epochs, and the same run stopped (mid-epoch, or at an epoch end) and resumed
    /// from its last/ checkpoint, end with bit-identical weights: XENT, MIXER (its regressors and
    /// their optimizer included), DAD and SCST.
    func testResumeIsExact() throws {
        for objective in TrainingObjective.allCases {
            let full = try makeTrainer(objective, epochs: 4) { $0.xentEpochs = 1; $0.mixerDelta = 2 }
            _ = try full.train()
            let reference = Array(full.model.params.buffer)
            for stopAt in [3, 8] {   // 4 batches an epoch: step 3 is mid-epoch 1, step 8 ends epoch 2
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
                let first = try makeTrainer(objective, epochs: 4, directory: dir) { $0.xentEpochs = 1; $0.mixerDelta = 2 }
                first.shouldStop = { first.state.globalStep >= stopAt }
                let s1 = try first.train()
                XCTAssertTrue(s1.interrupted, "\(objective) did not stop")
                let second = try makeTrainer(objective, epochs: 4, directory: dir) { $0.xentEpochs = 1; $0.mixerDelta = 2 }
                try second.restore(from: try Checkpoint.open(second.run.last))
                XCTAssertEqual(second.state.globalStep, stopAt)
                _ = try second.train()
                XCTAssertEqual(Array(second.model.params.buffer), reference, "\(objective) resumed at step \(stopAt) differs")
                if let b = full.baseline, let b2 = second.baseline {
                    XCTAssertEqual(Array(b2.params.buffer), Array(b.params.buffer), "baseline regressors differ")
                }
            }
        }
    }

    /// The resume matrix: for every objective, runs stopped at random steps (seeded) and at a
    /// step inside a pure REINFORCE stage, with DAD on a schedule that samples most inputs,
    /// resumed from their last/ in a new trainer, end with the uninterrupted run's weights (and
    /// MIXER's regressors), bit for bit.
    func testResumeMatrixAtRandomStepsEndsBitIdentical() throws {
        var rng = RandomGenerator(seed: 2026)
        for objective in TrainingObjective.allCases {
            func configure(_ o: inout TrainerOptions) {
                o.xentEpochs = 1; o.mixerDelta = 2
                o.dadSchedule = .linear(decaySteps: 4, minimum: 0.2)
                o.scstSamples = 2; o.scstBaseline = .mean
                o.riskCandidates = 3; o.labelSmoothing = 0.1
            }
            let full = try makeTrainer(objective, epochs: 4, configure: configure)
            _ = try full.train()
            let perEpoch = full.batcher.batchesPerEpoch
            // Epoch 4 of MIXER here has s = 0 (pure REINFORCE): stop in its middle too.
            var stops = [3 * perEpoch + perEpoch / 2]
            for _ in 0..<3 { stops.append(1 + Int(rng.next() % UInt64(4 * perEpoch - 1))) }
            for stopAt in stops {
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString)")
                let first = try makeTrainer(objective, epochs: 4, directory: dir, configure: configure)
                first.shouldStop = { first.state.globalStep >= stopAt }
                XCTAssertTrue(try first.train().interrupted, "\(objective) did not stop at \(stopAt)")
                let second = try makeTrainer(objective, epochs: 4, directory: dir, configure: configure)
                try second.restore(from: try Checkpoint.open(second.run.last))
                XCTAssertEqual(second.state.globalStep, stopAt)
                _ = try second.train()
                XCTAssertEqual(Array(second.model.params.buffer), Array(full.model.params.buffer),
                               "\(objective) resumed at step \(stopAt) differs")
                if let b = full.baseline, let b2 = second.baseline {
                    XCTAssertEqual(Array(b2.params.buffer), Array(b.params.buffer), "\(objective) at \(stopAt): baselines differ")
                }
                XCTAssertEqual(second.state.validation, full.state.validation, "\(objective) at \(stopAt)")
            }
        }
    }

    /// DAD with a teacher-forcing probability of 1 feeds the ground truth everywhere: it is
    /// XENT, and trains to the same weights bit for bit (the DAD step's gradient at ε = 1).
    func testDADWithEpsilonOneIsXENT() throws {
        let xent = try makeTrainer(.xent, epochs: 1)
        _ = try xent.train()
        let dad = try makeTrainer(.dad, epochs: 1) { $0.dadSchedule = .linear(decaySteps: 1_000_000, minimum: 1) }
        _ = try dad.train()
        let a = Array(xent.model.params.buffer), b = Array(dad.model.params.buffer)
        XCTAssertEqual(a.count, b.count)
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
        XCTAssertEqual(worst, 0, "DAD at ε = 1 differs from XENT by up to \(worst)")
    }

    /// Non-finite gradients skip the update, lower the learning rate, and abort after the
    /// configured number in a row; the saved checkpoint stays finite.
    func testDivergenceGuard() throws {
        let tr = try makeTrainer(.xent, epochs: 1) { $0.maxDivergentSteps = 2 }
        // Poison the output bias: every step's loss and gradient are now NaN.
        let bias = try XCTUnwrap(tr.model.params.entry("output.bias"))
        tr.model.params.view(bias).pointee = .nan
        let before = Array(tr.model.params.buffer)
        let lr0 = tr.state.learningRate
        XCTAssertThrowsError(try tr.train()) { e in
            XCTAssertTrue("\(e)".contains("diverged"), "\(e)")
        }
        XCTAssertLessThan(tr.state.learningRate, lr0)
        let after = Array(tr.model.params.buffer)
        XCTAssertTrue(zip(after, before).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "an update was applied")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tr.run.last), "non-finite weights must never be saved")
        let log = try TrainingLog.read(tr.run.log)
        XCTAssertEqual(log.filter { if case .skippedStep = $0 { true } else { false } }.count, 2)
    }
}
