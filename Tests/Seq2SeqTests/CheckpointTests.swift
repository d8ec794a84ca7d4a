import XCTest
@testable import Seq2Seq

/// A stand-in for the model engineer's configuration type.
private struct TinyConfig: Codable, Equatable {
    var embedding: Int
    var hidden: Int
    var attention: String
}

final class CheckpointTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "ckpt-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func makeStore(seed: UInt64) -> ParameterStore {
        let s = ParameterStore()
        s.add("embedding", shape: [6, 4])
        s.add("lstm.W", shape: [4, 16])
        s.add("baseline.w", shape: [4])
        var rng = RandomGenerator(seed: seed)
        for i in 0..<s.count { s.storage[i] = rng.nextNormal() }
        return s
    }

    func makeState() -> TrainerState {
        var v = ValidationTracker(higherIsBetter: true)
        _ = v.record(0.123456789012345, epoch: 2)
        _ = v.record(0.1, epoch: 3)
        var s = TrainerState(learningRate: 0.2 / 1.2 / 1.2, validation: v,
                             randomStates: ["dropout": UInt64.max, "batches": 0x8000_0000_0000_0001, "sampling": 12_345_678_901_234_567_890])
        s.options = .object(["objective": "mixer", "learningRate": 0.001, "mixerDelta": 3])
        s.epochAccumulator = EpochAccumulator(count: 17, skipped: 1, lossSum: 12.5, lossCount: 16, tokens: 900, seconds: 3.25)
        s.dataFingerprint = ["train_source": "data/train.src", "train_source_sha256": String(repeating: "ab", count: 32)]
        s.arguments = ["--objective", "mixer", "--epochs", "8"]
        s.epoch = 4
        s.step = 17
        s.globalStep = 1234
        return s
    }

    /// Saves a checkpoint after two Adam steps; returns the parameters and optimizer.
    @discardableResult
    func saveSample(_ dir: String, seed: UInt64 = 7) throws -> (ParameterStore, Adam) {
        let p = makeStore(seed: seed)
        let g = makeStore(seed: seed + 100)
        let adam = Adam(parameters: p, learningRate: 0.01)
        adam.update(parameters: p, gradients: g)
        adam.update(parameters: p, gradients: g)
        try Checkpoint.save(to: dir, parameters: p, optimizer: adam,
                            config: TinyConfig(embedding: 4, hidden: 16, attention: "general"),
                            sourceVocabulary: Array("<pad>\n<unk>\nhello\n".utf8),
                            targetVocabulary: Array("<pad>\n<unk>\nbonjour\n".utf8), state: makeState())
        return (p, adam)
    }

    func testSaveThenLoadIsBitExact() throws {
        let dir = RunDirectory(root + "/run").last
        let (p, adam) = try saveSample(dir)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(files, ["config.json", "model.safetensors", "optimizer.safetensors", "source.vocab", "target.vocab", "trainer-state.json", "trainer-state.sha256"])

        let c = try Checkpoint.open(dir)
        var expected = makeState()
        expected.checksums = c.state.checksums
        XCTAssertEqual(c.state, expected)
        XCTAssertEqual(c.state.randomStates["dropout"], UInt64.max)
        XCTAssertEqual(c.state.randomStates["sampling"], 12_345_678_901_234_567_890)
        XCTAssertEqual(c.state.learningRate.bitPattern, (0.2 / 1.2 / 1.2).bitPattern)
        XCTAssertEqual(c.state.options, .object(["objective": "mixer", "learningRate": 0.001, "mixerDelta": 3]))
        XCTAssertEqual(c.state.epochAccumulator?.seconds, 3.25)
        XCTAssertEqual(c.state.arguments, ["--objective", "mixer", "--epochs", "8"])
        XCTAssertEqual(try c.config(TinyConfig.self), TinyConfig(embedding: 4, hidden: 16, attention: "general"))
        XCTAssertEqual(try String(contentsOfFile: c.targetVocabularyPath, encoding: .utf8), "<pad>\n<unk>\nbonjour\n")

        let q = makeStore(seed: 99)
        try c.loadParameters(into: q)
        XCTAssertEqual(memcmp(p.storage, q.storage, 4 * p.count), 0)
        let adam2 = Adam(parameters: q, learningRate: 0.01)
        try c.loadOptimizer(into: adam2)
        XCTAssertEqual(adam2.stepCount, 2)
        XCTAssertEqual(memcmp(adam.m.storage, adam2.m.storage, 4 * p.count), 0)
        XCTAssertEqual(memcmp(adam.v.storage, adam2.v.storage, 4 * p.count), 0)

        // The next step from the restored state equals the next step of the original.
        let g = makeStore(seed: 5)
        adam.update(parameters: p, gradients: g)
        adam2.update(parameters: q, gradients: g)
        XCTAssertEqual(memcmp(p.storage, q.storage, 4 * p.count), 0)
        XCTAssertEqual(c.state.checksums[Checkpoint.modelFile], try SHA256.hex(ofFile: dir + "/model.safetensors"))
    }

    func assertOpenFails(_ dir: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.open(dir), file: file, line: line) { e in
            for f in fragments { XCTAssertTrue("\(e)".contains(f), "\(e) lacks \(f)", file: file, line: line) }
        }
    }

    func testTruncatedOrAlteredFilesAreNamed() throws {
        for name in Checkpoint.checksummedFiles {
            let dir = root + "/c-" + name
            try saveSample(dir)
            let path = dir + "/" + name
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            // Flip one byte in the middle.
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            assertOpenFails(dir, [path, "checksum mismatch"])
            // Truncate.
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes.prefix(bytes.count - 3)).write(to: URL(fileURLWithPath: path))
            assertOpenFails(dir, [path, "checksum mismatch"])
            // Remove.
            try FileManager.default.removeItem(atPath: path)
            assertOpenFails(dir, [path, "missing file"])
        }
    }

    func testBadTrainerStateAndConfigJSON() throws {
        let dir = root + "/c"
        try saveSample(dir)
        let statePath = dir + "/trainer-state.json"
        let good = try Data(contentsOf: URL(fileURLWithPath: statePath))
        try Data("{\"epoch\": 1,".utf8).write(to: URL(fileURLWithPath: statePath))
        assertOpenFails(dir, [statePath, "malformed JSON"])
        var obj = try JSONSerialization.jsonObject(with: good) as! [String: Any]
        obj["step"] = "seventeen"
        try JSONSerialization.data(withJSONObject: obj).write(to: URL(fileURLWithPath: statePath))
        assertOpenFails(dir, [statePath, "step"])
        obj.removeValue(forKey: "step")
        obj.removeValue(forKey: "checksums")
        try JSONSerialization.data(withJSONObject: obj).write(to: URL(fileURLWithPath: statePath))
        assertOpenFails(dir, [statePath, "missing key"])
        try FileManager.default.removeItem(atPath: statePath)
        assertOpenFails(dir, [statePath, "missing file"])

        // A config.json that decodes to the wrong type: checksums pass (we rewrite the
        // checkpoint with it), decoding names the key.
        struct OtherConfig: Codable { var embedding: String }
        let c2 = root + "/c2"
        let p = makeStore(seed: 1)
        try Checkpoint.save(to: c2, parameters: p, optimizer: nil, config: TinyConfig(embedding: 4, hidden: 2, attention: "dot"),
                            sourceVocabulary: [], targetVocabulary: [], state: makeState())
        let opened = try Checkpoint.open(c2)
        XCTAssertThrowsError(try opened.config(OtherConfig.self)) { e in
            XCTAssertTrue("\(e)".contains("config.json"), "\(e)")
            XCTAssertTrue("\(e)".contains("embedding"), "\(e)")
        }
        XCTAssertThrowsError(try opened.loadOptimizer(into: Adam(parameters: p))) { e in
            XCTAssertTrue("\(e)".contains("holds none state but the run uses adam"), "\(e)")
        }
    }

    func testWrongShapesAreNamed() throws {
        let dir = root + "/c"
        try saveSample(dir)
        let c = try Checkpoint.open(dir)
        let other = ParameterStore()
        other.add("embedding", shape: [7, 4])
        other.add("lstm.W", shape: [4, 16])
        other.add("decoder.out", shape: [3])
        XCTAssertThrowsError(try c.loadParameters(into: other)) { e in
            let t = "\(e)"
            XCTAssertTrue(t.contains(dir + "/model.safetensors"), t)
            XCTAssertTrue(t.contains(#"tensor "embedding" has shape [6, 4], expected [7, 4]"#), t)
            XCTAssertTrue(t.contains(#"missing tensor "decoder.out""#), t)
            XCTAssertTrue(t.contains(#"unexpected tensor "baseline.w""#), t)
        }
        XCTAssertThrowsError(try c.loadOptimizer(into: Adam(parameters: other))) { e in
            XCTAssertTrue("\(e)".contains(#"missing tensor "m.decoder.out""#), "\(e)")
        }
    }

    func testNonFiniteWeightsAreNeverSaved() throws {
        let p = makeStore(seed: 3)
        p.view("lstm.W")[5] = .infinity
        XCTAssertThrowsError(try Checkpoint.save(to: root + "/c", parameters: p, optimizer: nil, config: [String: Int](),
                                                 sourceVocabulary: [], targetVocabulary: [], state: makeState())) { e in
            XCTAssertTrue("\(e)".contains(#"parameter "lstm.W" has a non-finite value at element 5"#), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/c"))
    }

    func testAtomicReplaceAndRecovery() throws {
        let dir = root + "/last"
        let (p1, _) = try saveSample(dir, seed: 1)
        let (p2, _) = try saveSample(dir, seed: 2)  // replaces
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + ".old"))
        let names = try FileManager.default.contentsOfDirectory(atPath: root)
        XCTAssertEqual(names, ["last"], "no temporary or .old directory is left behind")
        let q = makeStore(seed: 0)
        try Checkpoint.open(dir).loadParameters(into: q)
        XCTAssertEqual(memcmp(p2.storage, q.storage, 4 * q.count), 0)

        // Crash after "DIR → DIR.old" and before "tmp → DIR": only .old exists. A reader
        // does not repair it (readers never write) but says where the checkpoint is; the next
        // save restores it first.
        try FileManager.default.moveItem(atPath: dir, toPath: dir + ".old")
        XCTAssertThrowsError(try Checkpoint.open(dir)) { e in XCTAssertTrue("\(e)".contains(dir + ".old"), "\(e)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + ".old"), "a reader wrote")
        try Checkpoint.recover(dir)
        try Checkpoint.open(dir).loadParameters(into: q)
        XCTAssertEqual(memcmp(p2.storage, q.storage, 4 * q.count), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + ".old"))

        // Crash while deleting .old: both exist; the new one wins and .old is removed.
        try FileManager.default.copyItem(atPath: dir, toPath: dir + ".old")
        try Checkpoint.open(dir).loadParameters(into: q)
        XCTAssertEqual(memcmp(p2.storage, q.storage, 4 * q.count), 0)
        try Checkpoint.recover(dir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + ".old"))
        _ = p1

        // A stale temporary of a dead process is cleaned on the next save; a half-written
        // temporary never affects loading.
        try FileManager.default.createDirectory(atPath: dir + ".tmp-999999999", withIntermediateDirectories: false)
        try saveSample(dir, seed: 4)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + ".tmp-999999999"))
    }

    func testMissingDirectory() {
        assertOpenFails(root + "/nothing", ["nothing", "no checkpoint here"])
    }

    /// A crash at every stage of a save that replaces a standalone checkpoint: opening
    /// afterwards gives the old or the new checkpoint, whole — or, between the two renames,
    /// an error naming `DIR.old` — and the next save succeeds. (Run directories have no such
    /// window: RunDirectoryTests enumerates every crash point of theirs.)
    func testCrashAtEveryStageLeavesALoadableCheckpoint() throws {
        let config = TinyConfig(embedding: 4, hidden: 16, attention: "general")
        for stage in 1...9 {
            let dir = root + "/crash-\(stage)/last"
            let old = makeStore(seed: 1), new = makeStore(seed: 2)
            try Checkpoint.save(to: dir, parameters: old, optimizer: nil, config: config,
                                sourceVocabulary: [1], targetVocabulary: [2], state: makeState())
            XCTAssertThrowsError(try Checkpoint.save(to: dir, parameters: new, optimizer: nil, config: config,
                                                     sourceVocabulary: [1], targetVocabulary: [2], state: makeState(),
                                                     interruptAfterStage: stage))
            let q = makeStore(seed: 0)
            if stage == 8 {
                XCTAssertThrowsError(try Checkpoint.open(dir)) { e in XCTAssertTrue("\(e)".contains(".old"), "\(e)") }
            } else {
                try Checkpoint.open(dir).loadParameters(into: q)
                let expected = stage < 8 ? old : new
                XCTAssertEqual(memcmp(expected.storage, q.storage, 4 * q.count), 0, "stage \(stage)")
            }
            try Checkpoint.save(to: dir, parameters: new, optimizer: nil, config: config,
                                sourceVocabulary: [1], targetVocabulary: [2], state: makeState())
            try Checkpoint.open(dir).loadParameters(into: q)
            XCTAssertEqual(memcmp(new.storage, q.storage, 4 * q.count), 0, "stage \(stage)")
        }
    }
}

/// `trainer-state.json` as mixer 0.2.0 wrote it (format 2, the run's options, partial-epoch
/// sums, data fingerprint and arguments in `extra`) reads into the typed fields, and is
/// written back with the same layout, so `--resume` of a 0.2.0 run goes on.
final class TrainerStateFormatTests: XCTestCase {
    func testReadsAndRewritesA020State() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "trainer-state-0.2.0-mixer", withExtension: "json", subdirectory: "Resources"))
        let bytes = try Data(contentsOf: url)
        let state = try JSONDecoder().decode(TrainerState.self, from: bytes)
        XCTAssertEqual(state.formatVersion, 2)
        XCTAssertEqual(state.epoch, 2)
        XCTAssertEqual(state.arguments?.suffix(4), ["--epochs", "3", "--mixer-delta", "3"])
        XCTAssertEqual(state.dataFingerprint?["train_source"], "/tmp/rec/train.src")
        XCTAssertEqual(state.dataFingerprint?["train_source_sha256"]?.count, 64)
        XCTAssertEqual(state.epochAccumulator?.count, 13)
        XCTAssertEqual(state.epochAccumulator?.rewardSum, 6.060390517115593)
        XCTAssertEqual(state.epochAccumulator?.tokens, 3470)
        guard case .object(let options)? = state.options else { return XCTFail("no options") }
        XCTAssertEqual(options["objective"], "mixer")
        // The options decode as a resume decodes them.
        let decoded = try JSONDecoder().decode(TrainerOptions.self, from: Data(state.options!.serialized().utf8))
        XCTAssertEqual(decoded.objective, .mixer)
        XCTAssertEqual(decoded.mixerDelta, 3)
        // Written back: the same JSON tree (key for key, value for value).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        XCTAssertEqual(try JSONValue.parse(Array(encoder.encode(state))), try JSONValue.parse(Array(bytes)))
    }
}
