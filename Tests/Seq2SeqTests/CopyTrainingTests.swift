import Foundation
import Metrics
import Tokenize
import XCTest
@testable import Seq2Seq

/// Training with copy attention end to end: the data's extended vocabularies, XENT on the
/// mixed distribution, the checkpoint (configuration and gate) round trip, bit-exact resume,
/// the same weights on any thread count, decoding that writes the copied rare word, and the
/// refusals.
final class CopyTrainingTests: XCTestCase {
    /// Files of a task that needs copying: the target is the first three source words reversed,
    /// and the second source word of every other pair is a word seen once (outside the
    /// vocabularies at min-count 2).
    static func writeData(_ dir: URL, pairs: Int = 30) throws -> [String] {
        var rng = RandomGenerator(seed: 11)
        var src: [String] = [], tgt: [String] = []
        for i in 0..<pairs {
            var s = (0..<(4 + Int(rng.next() % 3))).map { _ in "w\(rng.next() % 8)" }
            if i % 2 == 0 { s[1] = "rare\(i)" }
            src.append(s.joined(separator: " "))
            tgt.append(s.prefix(3).reversed().joined(separator: " "))
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let paths = ["train.src", "train.tgt", "valid.src", "valid.tgt"].map { dir.appendingPathComponent($0).path }
        try (src.joined(separator: "\n") + "\n").write(toFile: paths[0], atomically: true, encoding: .utf8)
        try (tgt.joined(separator: "\n") + "\n").write(toFile: paths[1], atomically: true, encoding: .utf8)
        try (src.prefix(8).joined(separator: "\n") + "\n").write(toFile: paths[2], atomically: true, encoding: .utf8)
        try (tgt.prefix(8).joined(separator: "\n") + "\n").write(toFile: paths[3], atomically: true, encoding: .utf8)
        return paths
    }

    static func load(_ paths: [String], copy: Bool) throws -> TrainingData {
        try TrainingData.load(trainSource: paths[0], trainTarget: paths[1], validSource: paths[2], validTarget: paths[3],
                              tokenizer: TokenizerSettings(), sourceVocabulary: .init(minCount: 2), targetVocabulary: .init(minCount: 2),
                              maxSourceLength: 10, maxTargetLength: 4, copy: copy)
    }

    func temporary(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func makeTrainer(_ data: TrainingData, directory: URL, epochs: Int = 3, threads: Int = 1, copy: Bool = true,
                     configure: (inout TrainerOptions) -> Void = { _ in }) throws -> Trainer {
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = 8; mc.hiddenSize = 8; mc.encoderHiddenSize = 8; mc.dropout = 0.1
        if copy { mc.copy = true }
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.objective = .xent; o.epochs = epochs; o.batchSize = 6; o.seed = 3; o.logSamples = 2; o.reportEvery = 1000
        o.threads = threads; o.learningRate = 0.01
        configure(&o)
        return try Trainer(options: o, runConfig: rc, data: data, runDirectory: directory.path,
                           progress: ProgressPrinter(inPlace: false, output: { _ in }))
    }

    func testDataCarriesExtendedVocabularies() throws {
        let paths = try Self.writeData(temporary("copy-data"))
        let plain = try Self.load(paths, copy: false), data = try Self.load(paths, copy: true)
        XCTAssertNil(plain.trainCopy)
        XCTAssertEqual(plain.trainSources, data.trainSources)
        let V = Int32(data.targetVocabulary.count)
        XCTAssertFalse(data.targetVocabulary.contains("rare0"))
        // Pair 0: source w? rare0 …, target w? rare0 w?: rare0 is extended id V, also in the target.
        XCTAssertEqual(data.trainCopy![0].oovs.first, "rare0")
        XCTAssertEqual(data.trainCopy![0].ids[1], V)
        XCTAssertEqual(data.trainTargets[0][1], V)
        XCTAssertEqual(plain.trainTargets[0][1], Vocabulary.unk)
        XCTAssertEqual(data.validCopy!.count, data.validSources.count)
        for (c, s) in zip(data.trainCopy!, data.trainSources) { XCTAssertEqual(c.ids.count, s.count) }
        XCTAssertEqual(data.validTargetWords([V, 3], pair: 0), ["rare0", "</s>"])
    }

    /// XENT with copy trains (loss falls), resumes bit for bit from a mid-run checkpoint, gives
    /// the same weights on 1 and 2 threads, and its checkpoint loads as a copy model that
    /// decodes a rare source word as itself.
    func testTrainResumeThreadsAndDecode() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        let fullDir = temporary("copy-full")
        let full = try makeTrainer(data, directory: fullDir, epochs: 3)
        _ = try full.train()
        let reference = Array(full.model.params.buffer)
        XCTAssertNotNil(full.model.copyGate)
        let log = try TrainingLog.read(full.run.log).compactMap { if case .epoch(let e) = $0 { e } else { nil } }
        XCTAssertEqual(log.count, 3)
        XCTAssertLessThan(log.last!.trainLoss!, log.first!.trainLoss!)
        XCTAssertTrue(log.allSatisfy { $0.validPerplexity?.isFinite ?? false })

        let threads = try makeTrainer(data, directory: temporary("copy-threads"), epochs: 3, threads: 2)
        _ = try threads.train()
        XCTAssertTrue(Array(threads.model.params.buffer) == reference, "copy training depends on the thread count")

        let dir = temporary("copy-resume")
        let first = try makeTrainer(data, directory: dir, epochs: 3)
        first.shouldStop = { first.state.globalStep >= 4 }
        XCTAssertTrue(try first.train().interrupted)
        let second = try makeTrainer(data, directory: dir, epochs: 3)
        try second.restore(from: try Checkpoint.open(second.run.last))
        _ = try second.train()
        XCTAssertTrue(Array(second.model.params.buffer) == reference, "copy training resumed at step 4 differs")

        let trained = try TrainedModel(directory: full.run.last)
        XCTAssertTrue(trained.config.model.copyEnabled)
        XCTAssertTrue(Array(trained.model.params.buffer) == reference, "the checkpoint's weights differ")
        // The gate forced to copy, on a source of words outside both vocabularies: every
        // output word is one of them, spelled as itself (not <unk>).
        trained.model.params.view(trained.model.copyGate!.bias!)[0] = -40
        let line = "rareword otherword thirdword"
        let out = try trained.decode(lines: [line], strategy: .greedy, options: DecodingOptions(maxLength: 5, minLength: 3), batchSize: 1)
        XCTAssertTrue(out[0][0].tokens.allSatisfy { line.split(separator: " ").map(String.init).contains($0) }, "\(out[0][0].tokens)")
        let beams = try trained.decode(lines: [line], strategy: .beam(BeamOptions(beamSize: 3, nBest: 2)),
                                       options: DecodingOptions(maxLength: 5, minLength: 3), batchSize: 1, replaceUnk: true)
        XCTAssertEqual(beams[0].count, 2)
        for b in beams[0] {
            XCTAssertTrue(b.tokens.allSatisfy { line.split(separator: " ").map(String.init).contains($0) }, "\(b.tokens)")
        }
    }

    /// MIXER (a mixed stage, then REINFORCE), SCST (both baselines), risk (beam, samples and the
    /// reference; samples alone) and scheduled sampling (sampled and argmax feed) with copy: they
    /// train (finite weights and losses, rewards logged), give the same weights on 1 and 2
    /// threads, and resume bit for bit from a mid-run checkpoint.
    func testSequenceLevelObjectivesTrainResumeAndThreads() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        let setups: [(String, (inout TrainerOptions) -> Void)] = [
            ("mixer", { $0.objective = .mixer; $0.xentEpochs = 1; $0.mixerDelta = 2 }),
            ("scst-mean", { $0.objective = .scst; $0.scstSamples = 2; $0.scstBaseline = .mean }),
            ("scst-greedy", { $0.objective = .scst; $0.scstSamples = 2; $0.scstBaseline = .greedy }),
            ("risk-both", { $0.objective = .risk; $0.riskCandidates = 2; $0.riskCandidatesFrom = .both; $0.riskIncludeReference = true }),
            ("risk-sample", { $0.objective = .risk; $0.riskCandidates = 2; $0.riskXentWeight = 0 }),
            ("dad", { $0.objective = .dad; $0.dadSchedule = .inverseSigmoid(k: 3) }),
            ("dad-argmax", { $0.objective = .dad; $0.dadSchedule = .linear(decaySteps: 10, minimum: 0.2); $0.dadFeed = .argmax }),
            ("xent-ls", { $0.objective = .xent; $0.labelSmoothing = 0.1 }),
            ("mixer-ls", { $0.objective = .mixer; $0.xentEpochs = 1; $0.mixerDelta = 2; $0.labelSmoothing = 0.1 }),
        ]
        for (name, configure) in setups {
            let full = try makeTrainer(data, directory: temporary("copy-\(name)"), epochs: 3, configure: configure)
            _ = try full.train()
            let reference = Array(full.model.params.buffer)
            XCTAssertTrue(reference.allSatisfy(\.isFinite), name)
            let log = try TrainingLog.read(full.run.log).compactMap { if case .epoch(let e) = $0 { e } else { nil } }
            XCTAssertEqual(log.count, 3, name)
            if !name.hasPrefix("dad") && name != "xent-ls" { XCTAssertTrue(log.contains { $0.meanReward != nil }, "\(name): no reward logged") }
            XCTAssertTrue(log.allSatisfy { $0.trainLoss?.isFinite ?? true }, name)

            let threads = try makeTrainer(data, directory: temporary("copy-\(name)-threads"), epochs: 3, threads: 2, configure: configure)
            _ = try threads.train()
            XCTAssertTrue(Array(threads.model.params.buffer) == reference, "\(name): copy training depends on the thread count")

            let dir = temporary("copy-\(name)-resume")
            let first = try makeTrainer(data, directory: dir, epochs: 3, configure: configure)
            first.shouldStop = { first.state.globalStep >= 7 }
            XCTAssertTrue(try first.train().interrupted, name)
            let second = try makeTrainer(data, directory: dir, epochs: 3, configure: configure)
            try second.restore(from: try Checkpoint.open(second.run.last))
            _ = try second.train()
            XCTAssertTrue(Array(second.model.params.buffer) == reference, "\(name): copy training resumed at step 7 differs")
        }
    }

    /// The reward reads extended ids: a target's rare word that occurs in the source has the id
    /// of the copied word, so an output that copies it scores above one that writes `<unk>` (and
    /// below nothing else).
    func testCopyingTheRareWordEarnsReward() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        let V = Int32(data.targetVocabulary.count)
        let target = data.trainTargets[0]
        XCTAssertEqual(target[1], V, "pair 0's target should hold its copied rare word")
        let words = Array(target.dropLast())
        var unk = words
        unk[1] = Vocabulary.unk
        for metric in [RewardMetric.bleuPlusOne, .rougeN(2)] {
            let reward = SequenceReward(metric: metric, countsEOS: true)
            let copied = reward(words, ended: true, target: target), missed = reward(unk, ended: true, target: target)
            XCTAssertEqual(copied, 1, accuracy: 1e-6, "\(metric)")
            XCTAssertGreaterThan(copied, missed, "\(metric): copying the rare word earns nothing")
            // Another row's extended id V + 1 is no match either.
            var other = words
            other[1] = V + 1
            XCTAssertEqual(reward(other, ended: true, target: target), missed, accuracy: 1e-6, "\(metric)")
        }
    }

    /// MIXER's step with copy is the gradient of its surrogate loss, with the samples, rewards
    /// and baselines held fixed (``PolicyGradient/copyGradient(_:_:s:reward:baseline:weighting:totals:_:)``):
    /// with the `sequence` weighting w = 1/B and P_t the mixed distribution,
    ///
    ///     L(θ) = w·[Σ_{t<s} −log P_t(y_t) + Σ_{t≥s} (r_b − b_t)·(−log P_t(w_t))]
    ///
    /// checked by central differences on a model without dropout, on samples that copy.
    func testMIXERCopyGradientIsTheSurrogateLossGradient() throws {
        try checkMIXERCopyGradient(labelSmoothing: 0)
    }

    /// The same with label smoothing ε: the teacher-forced steps' term −log P_t(y_t) becomes the
    /// smoothed copy loss (1 − ε)·(−log P_t(y_t)) + (ε/K)·Σ_{w ∈ classes} −log P_t(w) over the
    /// row's K = V + |oovs| − 2 classes (``smoothedCopyLoss(_:sources:copy:rows:inputs:epsilon:)``);
    /// sampled steps are not smoothed.
    func testMIXERCopyGradientWithLabelSmoothing() throws {
        try checkMIXERCopyGradient(labelSmoothing: 0.2)
    }

    func checkMIXERCopyGradient(labelSmoothing epsilon: Double) throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = 6; mc.hiddenSize = 6; mc.encoderHiddenSize = 5; mc.dropout = 0; mc.initScale = 0.5; mc.copy = true
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.objective = .mixer; o.batchSize = 6; o.seed = 5; o.lossWeighting = .sequence; o.reportEvery = 1000
        o.reward = .rouge1; o.temperature = 1.5; o.labelSmoothing = epsilon
        let tr = try Trainer(options: o, runConfig: rc, data: data, runDirectory: temporary("copy-fd").path,
                             progress: ProgressPrinter(inPlace: false, output: { _ in }))
        let model = tr.model, V = mc.targetVocabSize
        let batch = tr.batcher.batch(Array(0..<6))
        let copy = try XCTUnwrap(batch.copy)
        let s = 1, B = batch.count, T = tr.steps
        // p_gen ≈ σ(−2): most of the mass on copying, so samples copy the rows' rare words.
        model.params.view(model.copyGate!.bias!)[0] = -2

        var context = tr.objectiveContext(s: s)
        let streams = (context.dropout, context.sampling)
        model.grads.zero()
        _ = try tr.objective.step(batch, &context)
        let analytic = Array(model.grads.buffer)

        // The same rollout again from the same streams, its rewards and (detached) baselines.
        var dropout = streams.0, sampling = streams.1
        let enc = model.encode(source: batch.sources, training: true, rng: &dropout)
        let r = Rollout(model, enc, targets: batch.targets, s: s, steps: T, temperature: o.temperature,
                        dropout: &dropout, sampling: &sampling, copy: copy)
        let reward = SequenceReward(o).rewards(r, targets: batch.targets)
        XCTAssertGreaterThan(Set(reward).count, 1, "the rewards all tie: the check would be weak")
        XCTAssertTrue((s..<T).contains { t in (0..<B).contains { r.active[t][$0] && Int(r.tokens[t][$0]) >= V } },
                      "no sample copied an extended id: the check would not cover copying")
        let regressors = try XCTUnwrap(tr.baseline)
        var b = [[Float]](repeating: [Float](repeating: 0, count: B), count: T)
        for t in s..<T {
            b[t].withUnsafeMutableBufferPointer { regressors.predict(step: t, x: r.trace.outputs.pointer + t * B * mc.hiddenSize, rows: B, out: $0.baseAddress!) }
        }
        let rows: [[Int32]] = (0..<B).map { row in (0..<T).filter { r.active[$0][row] }.map { r.tokens[$0][row] } }
        let w = 1 / Double(B)
        func loss() -> Double {
            var none = RandomGenerator(seed: 0)
            let e = model.encode(source: batch.sources, training: false, rng: &none)
            let inputs = EncoderDecoder.teacherInputs(targets: rows.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            let trace = model.decodeForTraining(e, inputs: inputs, training: false, rng: &none)
            let gates = model.copyGates(trace)
            let S = e.sourceLength
            var total = 0.0
            for row in 0..<B {
                for (t, y) in rows[row].enumerated() {
                    let at = t * B + row
                    var P = 0.0
                    if Int(y) < V { P = Double(gates[at]) * exp(Double(trace.logits[at * V + Int(y)]) - Double(trace.logZ[at])) }
                    for i in 0..<e.lengths[row] where copy[row].ids[i] == y {
                        P += (1 - Double(gates[at])) * Double(trace.attention[at * S + i])
                    }
                    if t < s && epsilon > 0 {
                        // Smoothed: the whole mixed distribution over the row's extended ids.
                        let Vx = V + copy[row].oovs.count, g = Double(gates[at])
                        var Pw = [Double](repeating: 0, count: Vx)
                        for j in 0..<V { Pw[j] = g * exp(Double(trace.logits[at * V + j]) - Double(trace.logZ[at])) }
                        for i in 0..<e.lengths[row] { Pw[Int(copy[row].ids[i])] += (1 - g) * Double(trace.attention[at * S + i]) }
                        var smooth = 0.0
                        for j in 0..<Vx where j != Int(Vocabulary.pad) && j != Int(Vocabulary.bos) { smooth -= log(max(Pw[j], 1e-30)) }
                        total += w * ((1 - epsilon) * -log(P) + epsilon / Double(Vx - 2) * smooth)
                        continue
                    }
                    let weight = t < s ? 1 : Double(reward[row] - b[t][row])
                    total -= w * weight * log(P)
                }
            }
            return total
        }
        let biggest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(40)
        // The gate's weights too: the copy mixture's own parameters.
        let gate = model.copyGate!
        let gateIndices = (0..<4).map { gate.weight.offset + $0 } + [gate.bias!.offset]
        for i in Array(biggest) + gateIndices {
            let n = GradCheck.numeric(model.params.buffer.baseAddress!, i, eps: 1e-2, loss)
            let a = Double(analytic[i])
            XCTAssertLessThanOrEqual(abs(a - n), 1e-4 + 2e-2 * max(abs(a), abs(n)), "θ[\(i)] analytic \(a) numeric \(n)")
        }
        XCTAssertGreaterThan(abs(Double(analytic[biggest.first!])), 1e-4, "the gradient is ~0")
    }

    /// A trainer over the copy task for gradient checks: a tiny copy model without dropout.
    func gradientCheckTrainer(_ data: TrainingData, configure: (inout TrainerOptions) -> Void) throws -> Trainer {
        var mc = ModelConfig(sourceVocabSize: data.sourceVocabulary.count, targetVocabSize: data.targetVocabulary.count)
        mc.embeddingSize = 6; mc.hiddenSize = 6; mc.encoderHiddenSize = 5; mc.dropout = 0; mc.initScale = 0.5; mc.copy = true
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 4, mixerVersion: "test")
        var o = TrainerOptions()
        o.batchSize = 6; o.seed = 5; o.reportEvery = 1000; o.reward = .rouge1
        configure(&o)
        return try Trainer(options: o, runConfig: rc, data: data, runDirectory: temporary("copy-fd").path,
                           progress: ProgressPrinter(inPlace: false, output: { _ in }))
    }

    /// log max(P_t(y_t), 10⁻³⁰) at every step of each row under the mixed distribution, no
    /// dropout: row j reads `inputs` (T arrays of rows' ids; nil: `<s>` and its own ids, an
    /// extended id read as `<unk>`) and is scored on `rows[j]`, with the source and copy
    /// source of `owner[j]`.
    static func copyLogProbabilities(_ model: EncoderDecoder, sources: [[Int32]], copy: [CopySource], owner: [Int],
                                     rows: [[Int32]], inputs: [[Int32]]? = nil) -> [[Double]] {
        let V = model.config.targetVocabSize, N = rows.count
        var none = RandomGenerator(seed: 0)
        let e = model.encode(source: owner.map { sources[$0] }, training: false, rng: &none)
        let read = inputs ?? EncoderDecoder.teacherInputs(targets: rows.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
        let trace = model.decodeForTraining(e, inputs: read, training: false, rng: &none)
        let gates = model.copyGates(trace), S = e.sourceLength
        return (0..<N).map { j in
            rows[j].prefix(trace.steps).enumerated().map { t, y in
                let at = t * N + j
                var P = 0.0
                if Int(y) < V { P = Double(gates[at]) * exp(Double(trace.logits[at * V + Int(y)]) - Double(trace.logZ[at])) }
                for i in 0..<e.lengths[j] where copy[owner[j]].ids[i] == y {
                    P += (1 - Double(gates[at])) * Double(trace.attention[at * S + i])
                }
                return log(max(P, 1e-30))
            }
        }
    }

    /// The mean over the rows' tokens of the label-smoothed copy loss (ε = 0: the copy
    /// cross-entropy), from its definition, no dropout: with P the mixed distribution and K the
    /// row's V + |oovs| − 2 classes (all but `<pad>` and `<s>`),
    /// (1 − ε)·(−log max(P(y), 10⁻³⁰)) + (ε/K)·Σ_{w ∈ classes} −log max(P(w), 10⁻³⁰).
    /// Row b reads `inputs` (nil: teacher forcing on its own ids).
    static func smoothedCopyLoss(_ model: EncoderDecoder, sources: [[Int32]], copy: [CopySource], rows: [[Int32]],
                                 inputs: [[Int32]]? = nil, epsilon: Double) -> Double {
        let V = model.config.targetVocabSize, B = rows.count
        var none = RandomGenerator(seed: 0)
        let e = model.encode(source: sources, training: false, rng: &none)
        let read = inputs ?? EncoderDecoder.teacherInputs(targets: rows.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
        let trace = model.decodeForTraining(e, inputs: read, training: false, rng: &none)
        let gates = model.copyGates(trace), S = e.sourceLength
        var total = 0.0, n = 0
        for b in 0..<B {
            let Vx = V + copy[b].oovs.count, K = Double(Vx - 2)
            for (t, y) in rows[b].prefix(trace.steps).enumerated() {
                let at = t * B + b, g = Double(gates[at])
                var P = [Double](repeating: 0, count: Vx)
                for w in 0..<V { P[w] = g * exp(Double(trace.logits[at * V + w]) - Double(trace.logZ[at])) }
                for i in 0..<e.lengths[b] { P[Int(copy[b].ids[i])] += (1 - g) * Double(trace.attention[at * S + i]) }
                var smooth = 0.0
                for w in 0..<Vx where w != Int(Vocabulary.pad) && w != Int(Vocabulary.bos) { smooth -= log(max(P[w], 1e-30)) }
                total += (1 - epsilon) * -log(max(P[Int(y)], 1e-30)) + epsilon / K * smooth
                n += 1
            }
        }
        return total / Double(n)
    }

    /// Central differences of `loss` against the analytic gradient on the 40 largest entries and
    /// the gate's parameters.
    func checkGradient(_ model: EncoderDecoder, _ analytic: [Float], _ what: String, _ loss: () -> Double) {
        let biggest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(40)
        XCTAssertGreaterThan(abs(Double(analytic[biggest.first!])), 1e-4, "\(what): the gradient is ~0")
        let gate = model.copyGate!
        let gateIndices = (0..<4).map { gate.weight.offset + $0 } + [gate.bias!.offset]
        for i in Array(biggest) + gateIndices {
            let n = GradCheck.numeric(model.params.buffer.baseAddress!, i, eps: 1e-2, loss)
            let a = Double(analytic[i])
            XCTAssertLessThanOrEqual(abs(a - n), 1e-4 + 2e-2 * max(abs(a), abs(n)), "\(what): θ[\(i)] analytic \(a) numeric \(n)")
        }
    }

    /// Minimum risk training with copy: its gradient is that of
    /// L(θ) = (1/B) Σ_i Σ_{y∈U_i} Q_θ(y)·(1 − r(y)) + λ·XENT_copy, with s(y) the mean of
    /// log P_t(y_t) over the mixed distribution, over the same candidate sets (samples redrawn
    /// from the same streams, the beam over the mixed distribution rerun, the reference, merged
    /// duplicates counted once), by central differences; candidates copy extended ids.
    func testRiskCopyGradientIsTheExpectedRiskGradient() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        let cases: [(RiskCandidateSource, Bool, RiskDuplicates, Float)] = [
            (.sample, false, .keep, 0), (.both, true, .merge, 0.5), (.beam, false, .merge, 0),
        ]
        for (source, withReference, duplicates, lambda) in cases {
            let what = "\(source) reference \(withReference) \(duplicates) λ \(lambda)"
            let tr = try gradientCheckTrainer(data) { $0.objective = .risk }
            let model = tr.model, V = model.config.targetVocabSize
            // Mass on copying, so that candidates copy the rows' rare words (the beam needs more).
            model.params.view(model.copyGate!.bias!)[0] = source == .beam ? -4 : -1
            let batch = tr.batcher.batch(Array(0..<6))
            let copy = try XCTUnwrap(batch.copy)
            let k = 3, B = batch.count, alpha = 2.0, temperature = 1.5
            let objective = RiskObjective(steps: tr.steps, candidates: k, alpha: alpha, xentWeight: lambda, temperature: temperature,
                                          source: source, includeReference: withReference, duplicates: duplicates)
            var context = tr.objectiveContext(s: 0)
            let streams = (context.dropout, context.sampling)
            model.grads.zero()
            _ = try objective.step(batch, &context)
            let analytic = Array(model.grads.buffer)

            var sets = [[[Int32]]](repeating: [], count: B)
            if source != .beam {
                var dropout = streams.0, sampling = streams.1
                let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
                let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
                let enc = model.encode(source: sources, training: true, rng: &dropout)
                let r = Rollout(model, enc, targets: targets, s: 0, steps: tr.steps, temperature: temperature,
                                dropout: &dropout, sampling: &sampling, copy: copy.flatMap { Array(repeating: $0, count: k) })
                for row in 0..<B * k { sets[row / k].append(r.output(row) + (r.ended[row] ? [Vocabulary.eos] : [])) }
            }
            if source != .sample {
                let beams = SequenceDecoder(model: model).decodeAll(
                    sources: batch.sources, strategy: .beam(BeamOptions(beamSize: k, nBest: k)),
                    options: DecodingOptions(maxLength: tr.steps), batchSize: 64, copy: copy)
                for i in 0..<B { for h in beams[i] where h.length > 0 { sets[i].append(h.ids + (h.ended ? [Vocabulary.eos] : [])) } }
            }
            if withReference { for i in 0..<B { sets[i].append(batch.targets[i]) } }
            if duplicates == .merge {
                for i in 0..<B {
                    var seen: Set<[Int32]> = []
                    sets[i] = sets[i].filter { seen.insert($0).inserted }
                }
            }
            let reward = SequenceReward(tr.options)
            var rows: [[Int32]] = [], owner: [Int] = [], cost: [Double] = []
            for i in 0..<B {
                for y in sets[i] {
                    let ended = y.last == Vocabulary.eos
                    rows.append(y); owner.append(i)
                    cost.append(1 - Double(reward(ended ? Array(y.dropLast()) : y, ended: ended, target: batch.targets[i])))
                }
            }
            XCTAssertGreaterThan(Set(cost).count, 1, "\(what): all candidates cost the same: a weak check")
            XCTAssertTrue(rows.contains { $0.contains { Int($0) >= V } }, "\(what): no candidate copies an extended id")
            func loss() -> Double {
                let logP = Self.copyLogProbabilities(model, sources: batch.sources, copy: copy, owner: owner, rows: rows)
                let scores = logP.map { $0.reduce(0, +) / Double($0.count) }
                var total = 0.0
                for i in 0..<B {
                    let group = rows.indices.filter { owner[$0] == i }
                    let m = group.map { alpha * scores[$0] }.max()!
                    let z = group.map { exp(alpha * scores[$0] - m) }.reduce(0, +)
                    for y in group { total += exp(alpha * scores[y] - m) / z * cost[y] }
                }
                var xent = 0.0
                if lambda > 0 {
                    let ref = Self.copyLogProbabilities(model, sources: batch.sources, copy: copy, owner: Array(0..<B), rows: batch.targets)
                    xent = -ref.joined().reduce(0, +) / Double(ref.joined().count)
                }
                return total / Double(B) + Double(lambda) * xent
            }
            checkGradient(model, analytic, what, loss)
        }
    }

    /// Scheduled sampling with copy: the step's gradient is that of the copy cross-entropy of
    /// the references, −(1/N) Σ log P_t(y_t), with the decoder reading the inputs the step chose
    /// (held fixed: the ground truth, or draws from the mixed distribution, extended ids read as
    /// `<unk>`), by central differences; some inputs are the model's copies.
    func testDADCopyGradientIsCopyXENTWithTheChosenInputs() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        for (feed, epsilon) in [(DADFeed.sample, 0.0), (.argmax, 0.0), (.sample, 0.2)] {
            let tr = try gradientCheckTrainer(data) {
                $0.objective = .dad; $0.dadSchedule = .inverseSigmoid(k: 1); $0.dadFeed = feed; $0.labelSmoothing = epsilon
            }
            let model = tr.model, V = model.config.targetVocabSize
            model.params.view(model.copyGate!.bias!)[0] = -2
            let batch = tr.batcher.batch(Array(0..<6))
            let copy = try XCTUnwrap(batch.copy)
            var context = tr.objectiveContext(s: tr.steps)
            var dropout = context.dropout, sampling = context.sampling
            model.grads.zero()
            _ = try tr.objective.step(batch, &context)
            let analytic = Array(model.grads.buffer)
            let objective = DADObjective(steps: tr.steps, schedule: .inverseSigmoid(k: 1), feed: feed)
            let trace = try XCTUnwrap(objective.trace(batch, model: model, eps: 0.5, shard: nil, dropout: &dropout, sampling: &sampling))
            let inputs = trace.inputs
            XCTAssertEqual(context.sampling.next(), sampling.next(), "the replayed step drew other numbers")
            // Rows whose input is <unk> where the reference reads an extended id (fed back) or
            // where the model chose a copy: copying is exercised when some are model choices.
            let teacher = EncoderDecoder.teacherInputs(targets: batch.targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            var chosen = 0
            for t in 1..<inputs.count { for b in 0..<batch.count where t < batch.targets[b].count && inputs[t][b] != teacher[t][b] { chosen += 1 } }
            XCTAssertGreaterThan(chosen, 0, "\(feed) ε \(epsilon): every input is the ground truth: a weak check")
            checkGradient(model, analytic, "dad \(feed) ε \(epsilon)") {
                Self.smoothedCopyLoss(model, sources: batch.sources, copy: copy, rows: batch.targets, inputs: inputs, epsilon: epsilon)
            }
        }
    }

    /// Label smoothing with copy: the gradient of XENT's step (the lean output layer) and of
    /// MIXER's XENT stage is that of the smoothed copy loss over each row's
    /// extended vocabulary (``smoothedCopyLoss(_:sources:copy:rows:inputs:epsilon:)``), by central
    /// differences, with the gate both towards copying and towards generating; the step reports
    /// the plain copy cross-entropy.
    func testLabelSmoothingWithCopyIsItsDefinitionsGradient() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        for (objective, bias, epsilon) in [(TrainingObjective.xent, Float(-1), 0.1), (.xent, 1, 0.3), (.mixer, -2, 0.2)] {
            // (MIXER's XENT stage: the same step scaled per sequence; its mixed stages are
            // checked in ``testMIXERCopyGradientWithLabelSmoothing()``.)
            let what = "\(objective) bias \(bias) ε \(epsilon)"
            let tr = try gradientCheckTrainer(data) { $0.objective = objective; $0.labelSmoothing = epsilon; $0.xentEpochs = 1 }
            let model = tr.model
            model.params.view(model.copyGate!.bias!)[0] = bias
            let batch = tr.batcher.batch(Array(0..<6))
            let copy = try XCTUnwrap(batch.copy)
            var context = tr.objectiveContext(s: tr.steps)
            model.grads.zero()
            let st = try tr.objective.step(batch, &context)
            let analytic = Array(model.grads.buffer)
            // MIXER's XENT stage is scaled per sequence (1/B) rather than per token (1/N).
            let n = Double(batch.targets.reduce(0) { $0 + $1.count })
            let scale = objective == .mixer ? n / Double(batch.count) : 1
            XCTAssertEqual(st.xentLoss, Self.smoothedCopyLoss(model, sources: batch.sources, copy: copy, rows: batch.targets, epsilon: 0),
                           accuracy: 1e-4, "\(what): the reported loss is not the plain copy cross-entropy")
            checkGradient(model, analytic, what) {
                scale * Self.smoothedCopyLoss(model, sources: batch.sources, copy: copy, rows: batch.targets, epsilon: epsilon)
            }
        }
    }

    /// A copy model refuses data loaded without its extended vocabularies.
    func testRefusesDataWithoutCopySources() throws {
        let plain = try Self.load(try Self.writeData(temporary("copy-data")), copy: false)
        XCTAssertThrowsError(try makeTrainer(plain, directory: temporary("copy-nodata")))
    }
}
