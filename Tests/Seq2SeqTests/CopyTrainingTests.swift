import Foundation
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

    /// A copy model refuses what it cannot train yet, with a one-line reason; a model without
    /// copy trains as before on the same data.
    func testRefusals() throws {
        let data = try Self.load(try Self.writeData(temporary("copy-data")), copy: true)
        for (objective, smoothing) in [(TrainingObjective.mixer, 0.0), (.scst, 0), (.dad, 0), (.risk, 0), (.xent, 0.1)] {
            XCTAssertThrowsError(try makeTrainer(data, directory: temporary("copy-refused")) {
                $0.objective = objective; $0.labelSmoothing = smoothing
            }) { e in
                XCTAssertTrue("\(e)".hasPrefix("--copy"), "\(e)")
                XCTAssertFalse("\(e)".contains("\n"))
            }
        }
        let plain = try Self.load(try Self.writeData(temporary("copy-data")), copy: false)
        XCTAssertThrowsError(try makeTrainer(plain, directory: temporary("copy-nodata")))
    }
}
