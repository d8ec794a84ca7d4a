import Foundation
import Tokenize
import XCTest
@testable import Seq2Seq

/// Coverage (See, Liu & Manning 2017, §2.3): the configuration's compatibility, the whole
/// model's gradient with the coverage loss against central differences (with and without copy,
/// every encoder/attention/input-feeding setup), the lean training step, inference that carries
/// c_t as training does (greedy, sampling, beam and n-best, batched and alone), and training:
/// resume, threads, checkpoint, refusals.
final class CoverageTests: XCTestCase {
    static let sources = ModelGradientTests.sources
    static let targets = ModelGradientTests.targets

    static func configs(copy: Bool) -> [(String, ModelConfig)] {
        ModelGradientTests.allConfigs.map { name, c in
            var c = c
            c.coverage = true
            if copy { c.copy = true }
            return (name + (copy ? "/copy" : ""), c)
        }
    }

    /// No `coverage` key when off (old files stay byte for byte), an old file reads as off, on
    /// round-trips; the coverage model draws the same parameters as the model without, then w_c.
    func testConfigurationCompatibility() throws {
        var c = ModelConfig(sourceVocabSize: 9, targetVocabSize: 7)
        c.embeddingSize = 4; c.hiddenSize = 4; c.encoderHiddenSize = 3
        for copy in [false, true] {
            c.copy = copy ? true : nil
            let plain = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
            XCTAssertFalse(plain.contains("coverage"))
            XCTAssertFalse(try JSONDecoder().decode(ModelConfig.self, from: Data(plain.utf8)).coverageEnabled)
            var on = c
            on.coverage = true
            let decoded = try JSONDecoder().decode(ModelConfig.self, from: try JSONEncoder().encode(on))
            XCTAssertEqual(decoded, on)
            XCTAssertTrue(decoded.coverageEnabled)
            let a = EncoderDecoder(config: c, seed: 3), b = EncoderDecoder(config: on, seed: 3)
            XCTAssertEqual(b.params.count, a.params.count + 1)
            XCTAssertEqual(b.params.entries.last?.name, "coverage.weight")
            XCTAssertEqual(Array(UnsafeBufferPointer(start: b.params.storage, count: a.params.count)),
                           Array(UnsafeBufferPointer(start: a.params.storage, count: a.params.count)))
        }
        var o = TrainerOptions()
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(o), as: UTF8.self).contains("coverage"))
        o.coverageLossWeight = -1
        XCTAssertThrowsError(try o.validate())
    }

    /// The token loss plus λ/N·Σ min(a, c) of a teacher-forced trace, and its gradient added
    /// into `model.grads` (XENT or copy XENT, then backward with the penalty).
    static func lossAndGradient(_ model: EncoderDecoder, _ tr: DecoderTrace, copy: [CopySource]?, targets: [[Int32]],
                                lambda: Float, backward: Bool) -> Double {
        let n = targets.reduce(0) { $0 + min($1.count, tr.steps) }
        let coverage = model.coverageSum(tr, steps: targets.map { min($0.count, tr.steps) }) * Double(lambda) / Double(n)
        let penalty = model.coveragePenalty(tr, targets: targets, lambda: lambda, tokens: n)
        if let copy {
            let r = CrossEntropy.evaluateCopy(tr, gates: model.copyGates(tr), copy: copy, targets: targets)
            if backward { r.dLogits.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, copy: r.copy, coverage: penalty) } }
            return r.loss + coverage
        }
        let (loss, _, d) = CrossEntropy.evaluate(tr, targets: targets)
        if backward { d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, coverage: penalty) } }
        return loss + coverage
    }

    /// XENT + coverage loss through the whole model against central differences: both encoders
    /// × both attentions × input feeding (dropout on with fixed masks), with and without copy,
    /// two seeds; w_c set large enough that the scores feel c.
    func testWholeModelCoverageGradient() {
        var total = 0
        for copy in [false, true] {
            for (name, config) in Self.configs(copy: copy) {
                for seed in 0..<2 {
                    let model = EncoderDecoder(config: config, seed: UInt64(seed))
                    model.params.view(model.coverageWeight!)[0] = 0.8
                    let dropRNG = RandomGenerator(seed: UInt64(41 + seed))
                    let V = config.targetVocabSize
                    let sources = copy ? CopyAttentionTests.sources : Self.sources
                    let targets = copy ? CopyAttentionTests.targets : Self.targets
                    let copySources = copy ? CopyAttentionTests.copy : nil
                    let inputs = EncoderDecoder.teacherInputs(targets: targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
                    let forward = { () -> DecoderTrace in
                        var r = dropRNG
                        let enc = model.encode(source: sources, training: true, rng: &r)
                        return model.decodeForTraining(enc, inputs: inputs, training: true, rng: &r)
                    }
                    let tr = forward()
                    XCTAssertGreaterThan(model.coverageSum(tr, steps: targets.map(\.count)), 0.1, name)
                    model.grads.zero()
                    _ = Self.lossAndGradient(model, tr, copy: copySources, targets: targets, lambda: 1.5, backward: true)
                    XCTAssertNotEqual(model.grads.view(model.coverageWeight!)[0], 0, name)
                    var rng = RandomGenerator(seed: 5)
                    total += GradCheck.checkStore(model.params, model.grads, label: "coverage \(name) seed \(seed)", rng: &rng) {
                        Self.lossAndGradient(model, forward(), copy: copySources, targets: targets, lambda: 1.5, backward: false)
                    }
                }
            }
        }
        XCTAssertGreaterThan(total, 10_000)
    }

    /// The checker sees the coupling: a backward that drops the carried Σ_{t>t'} dL/dc_t (the
    /// model's coverage penalty with λ = 0 while the loss keeps λ) fails it.
    func testCheckerCatchesAMissingPenalty() {
        let config = Self.configs(copy: false)[0].1
        var worst = 0.0
        for seed in 0..<2 {
            let model = EncoderDecoder(config: config, seed: UInt64(seed))
            let inputs = EncoderDecoder.teacherInputs(targets: Self.targets)
            let forward = { () -> DecoderTrace in
                var r = RandomGenerator(seed: 0)
                let enc = model.encode(source: Self.sources, training: false, rng: &r)
                return model.decodeForTraining(enc, inputs: inputs, training: false, rng: &r)
            }
            model.grads.zero()
            _ = Self.lossAndGradient(model, forward(), copy: nil, targets: Self.targets, lambda: 0, backward: true)
            for e in model.params.entries {
                worst = max(worst, GradCheck.check(name: e.name, model.params.view(e), count: e.count, analytic: model.grads.view(e)) {
                    Self.lossAndGradient(model, forward(), copy: nil, targets: Self.targets, lambda: 2, backward: false)
                }.ratio)
            }
        }
        XCTAssertGreaterThan(worst, 1, "a missing coverage loss went unnoticed")
    }

    /// The lean step (output layer in blocks) adds the same gradient as the full trace's loss
    /// and backward with the penalty, with and without copy.
    func testLeanStepMatchesFullStep() {
        for copy in [false, true] {
            let config = Self.configs(copy: copy)[1].1
            let model = EncoderDecoder(config: config, seed: 2)
            let sources = copy ? CopyAttentionTests.sources : Self.sources
            let targets = copy ? CopyAttentionTests.targets : Self.targets
            let V = config.targetVocabSize
            var rng = RandomGenerator(seed: 8)
            model.grads.zero()
            if copy {
                CrossEntropy.copyTeacherForcedStep(model, source: sources, copy: CopyAttentionTests.copy, target: targets,
                                                   rng: &rng, coverageLossWeight: 0.7)
            } else {
                CrossEntropy.teacherForcedStep(model, source: sources, target: targets, rng: &rng, coverageLossWeight: 0.7)
            }
            let lean = Array(model.grads.buffer)
            var r = RandomGenerator(seed: 8)
            let enc = model.encode(source: sources, training: true, rng: &r)
            let inputs = EncoderDecoder.teacherInputs(targets: targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            let tr = model.decodeForTraining(enc, inputs: inputs, training: true, rng: &r)
            model.grads.zero()
            _ = Self.lossAndGradient(model, tr, copy: copy ? CopyAttentionTests.copy : nil, targets: targets, lambda: 0.7, backward: true)
            let full = Array(model.grads.buffer)
            var worst: Float = 0
            for (a, b) in zip(lean, full) { worst = max(worst, abs(a - b) / max(1e-3, abs(b))) }
            XCTAssertLessThan(worst, 1e-3, "copy \(copy)")
        }
    }

    /// Incremental decoding carries c_t as training does: stepping the teacher's inputs one at
    /// a time gives the trace's attention weights and coverage (same bits), and a state's
    /// coverage follows its rows through `select`.
    func testStepsCarryCoverageAsTraining() {
        for copy in [false, true] {
            let config = Self.configs(copy: copy)[2].1
            let model = EncoderDecoder(config: config, seed: 4)
            model.params.view(model.coverageWeight!)[0] = 1.3
            let sources = copy ? CopyAttentionTests.sources : Self.sources
            let targets = copy ? CopyAttentionTests.targets : Self.targets
            let V = config.targetVocabSize
            let inputs = EncoderDecoder.teacherInputs(targets: targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            var r = RandomGenerator(seed: 0)
            let enc = model.encode(source: sources, training: false, rng: &r)
            let tr = model.decodeForTraining(enc, inputs: inputs, training: false, rng: &r)
            var state = model.initialState(enc)
            let B = sources.count, S = enc.sourceLength
            let weights = model.packedForInference()
            for t in 0..<inputs.count {
                XCTAssertEqual(state.coverage!.slice(0, B * S), tr.coverage.slice(t * B * S, B * S), "step \(t)")
                let (_, attn, next) = model.step(state, input: inputs[t], weights: weights, copy: copy ? CopyAttentionTests.copy : nil)
                XCTAssertEqual(attn, tr.attention.slice(t * B * S, B * S), "step \(t)")
                state = next
            }
            let picked = state.select(rows: [2, 0, 0])
            XCTAssertEqual(picked.coverage!.slice(0, S), state.coverage!.slice(2 * S, S))
            XCTAssertEqual(picked.coverage!.slice(2 * S, S), state.coverage!.slice(0, S))
            // After T steps each row's coverage sums to its steps (every step's weights sum to 1).
            let c = state.coverage!.slice(0, S)
            XCTAssertEqual(Double(c.reduce(0, +)), Double(inputs.count), accuracy: 1e-4)
        }
    }

    /// Greedy, sampling and beam (n-best) of a batch equal those of each source alone, with and
    /// without copy: c_t follows each hypothesis through the batch's and the beam's reordering.
    /// And coverage changes what is decoded (w_c large) against the same model with w_c = 0.
    func testBatchedDecodingMatchesSingleSources() {
        for copy in [false, true] {
            let config = Self.configs(copy: copy)[2].1
            let model = EncoderDecoder(config: config, seed: 6)
            model.params.view(model.coverageWeight!)[0] = -3
            let decoder = SequenceDecoder(model: model)
            let sources = copy ? CopyAttentionTests.sources : Self.sources
            let copySources = copy ? CopyAttentionTests.copy : nil
            let options = DecodingOptions(maxLength: 6)
            for strategy: DecodingStrategy in [.greedy, .sample(SamplingOptions(numSamples: 2)), .beam(BeamOptions(beamSize: 3, nBest: 2))] {
                let batched = decoder.decodeAll(sources: sources, strategy: strategy, options: options, batchSize: 3, seed: 9, copy: copySources)
                for i in 0..<3 {
                    let alone = decoder.decodeAll(sources: [sources[i]], strategy: strategy, options: options, batchSize: 1, seed: 9,
                                                  firstIndex: i, copy: copySources.map { [$0[i]] })
                    XCTAssertEqual(batched[i].map(\.ids), alone[0].map(\.ids), "\(strategy) source \(i) copy \(copy)")
                    XCTAssertEqual(batched[i].map(\.score), alone[0].map(\.score), "\(strategy) source \(i) copy \(copy)")
                }
            }
        }
    }

    // MARK: - Training

    func temporary(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func makeTrainer(_ data: TrainingData, directory: URL, copy: Bool, epochs: Int = 3, threads: Int = 1,
                     configure: (inout TrainerOptions) -> Void = { _ in }) throws -> Trainer {
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = 8; mc.hiddenSize = 8; mc.encoderHiddenSize = 8; mc.dropout = 0.1
        mc.coverage = true
        if copy { mc.copy = true }
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.objective = .xent; o.epochs = epochs; o.batchSize = 6; o.seed = 3; o.logSamples = 2; o.reportEvery = 1000
        o.threads = threads; o.learningRate = 0.01
        configure(&o)
        return try Trainer(options: o, runConfig: rc, data: data, runDirectory: directory.path,
                           progress: ProgressPrinter(inPlace: false, output: { _ in }))
    }

    /// XENT, MIXER (an XENT epoch, then mixed stages) and SCST with coverage, with and without
    /// copy: finite weights, the same weights on 1 and 2 threads, a bit-exact resume from a
    /// mid-run checkpoint, a checkpoint that loads as a coverage model with the same weights and
    /// decodes (greedy, beam n-best); λ changes the XENT run's weights.
    func testTrainResumeThreadsCheckpointAndDecode() throws {
        let paths = try CopyTrainingTests.writeData(temporary("coverage-data"))
        let setups: [(String, (inout TrainerOptions) -> Void)] = [
            ("xent", { _ in }),
            ("mixer", { $0.objective = .mixer; $0.xentEpochs = 1; $0.mixerDelta = 2 }),
            ("scst", { $0.objective = .scst; $0.scstSamples = 2; $0.scstBaseline = .mean }),
            ("dad", { $0.objective = .dad }),
        ]
        for copy in [false, true] {
            let data = try CopyTrainingTests.load(paths, copy: copy)
            for (name, configure) in setups {
                let label = "\(name) copy \(copy)"
                let full = try makeTrainer(data, directory: temporary("coverage-full"), copy: copy, configure: configure)
                _ = try full.train()
                let reference = Array(full.model.params.buffer)
                XCTAssertTrue(reference.allSatisfy(\.isFinite), label)
                let log = try TrainingLog.read(full.run.log).compactMap { if case .epoch(let e) = $0 { e } else { nil } }
                XCTAssertEqual(log.count, 3, label)
                XCTAssertTrue(log.allSatisfy { $0.validPerplexity?.isFinite ?? false }, label)

                let threads = try makeTrainer(data, directory: temporary("coverage-threads"), copy: copy, threads: 2, configure: configure)
                _ = try threads.train()
                XCTAssertTrue(Array(threads.model.params.buffer) == reference, "\(label): depends on the thread count")

                let dir = temporary("coverage-resume")
                let first = try makeTrainer(data, directory: dir, copy: copy, configure: configure)
                first.shouldStop = { first.state.globalStep >= 5 }
                XCTAssertTrue(try first.train().interrupted, label)
                let second = try makeTrainer(data, directory: dir, copy: copy, configure: configure)
                try second.restore(from: try Checkpoint.open(second.run.last))
                _ = try second.train()
                XCTAssertTrue(Array(second.model.params.buffer) == reference, "\(label): resumed at step 5 differs")

                let trained = try TrainedModel(directory: full.run.last)
                XCTAssertTrue(trained.config.model.coverageEnabled, label)
                XCTAssertEqual(trained.config.model.copyEnabled, copy, label)
                XCTAssertTrue(Array(trained.model.params.buffer) == reference, "\(label): the checkpoint's weights differ")
                let lines = ["w1 w2 rareword w3", "w4 w5"]
                let greedy = try trained.decode(lines: lines, strategy: .greedy, options: DecodingOptions(maxLength: 5), batchSize: 2)
                let beams = try trained.decode(lines: lines, strategy: .beam(BeamOptions(beamSize: 3, nBest: 2)),
                                               options: DecodingOptions(maxLength: 5), batchSize: 2)
                XCTAssertEqual(greedy.count, 2, label)
                XCTAssertEqual(beams.map(\.count), [2, 2], label)

                if name == "xent" || name == "dad" {
                    let other = try makeTrainer(data, directory: temporary("coverage-lambda"), copy: copy) {
                        configure(&$0); $0.coverageLossWeight = 4
                    }
                    _ = try other.train()
                    XCTAssertFalse(Array(other.model.params.buffer) == reference, "\(label): λ changed nothing")
                }
            }
        }
    }

    /// risk refuses a coverage model with a one-line reason.
    func testRefusals() throws {
        let data = try CopyTrainingTests.load(try CopyTrainingTests.writeData(temporary("coverage-data")), copy: false)
        for objective in [TrainingObjective.risk] {
            XCTAssertThrowsError(try makeTrainer(data, directory: temporary("coverage-refused"), copy: false) { $0.objective = objective }) { e in
                XCTAssertTrue("\(e)".hasPrefix("--coverage"), "\(e)")
                XCTAssertFalse("\(e)".contains("\n"))
            }
        }
    }
}
