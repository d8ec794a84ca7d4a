import Foundation
import Tokenize
import XCTest
@testable import Seq2Seq

/// Seeded random mutations of a valid checkpoint: the loader must throw a StorageError or an
/// InputError naming the file, or load, and never trap. Bounded by iteration counts, so every
/// run tries the same inputs.
final class FuzzCheckpointTests: XCTestCase {
    /// Inputs tried by each test (reported in README, "Robustness").
    static let safetensorsCases = 6_000
    static let stateCases = 300
    static let configCases = 150

    /// The project's SplitMix64 generator: `Rng(state:)` gives the same stream the fuzz inputs
    /// were designed with.
    typealias Rng = RandomGenerator

    /// Writes `bytes` with POSIX calls (no fsync: these files are scratch).
    func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw StorageError(path, "cannot create") }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw StorageError(path, "short write") }
    }

    /// A tiny checkpoint directory, its model and config.
    func tinyCheckpoint() throws -> (dir: String, model: EncoderDecoder) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-ckpt-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let src = Vocabulary(counting: [["a", "b", "c"]]), tgt = Vocabulary(counting: [["x", "y"]])
        var mc = ModelConfig(sourceVocabSize: src.count, targetVocabSize: tgt.count)
        mc.embeddingSize = 4; mc.hiddenSize = 4; mc.encoderHiddenSize = 2
        let model = EncoderDecoder(config: mc, seed: 3)
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 5, mixerVersion: "test")
        let dir = root.appendingPathComponent("best").path
        try TrainedModel.save(to: dir, model: model, config: rc, sourceVocabulary: src, targetVocabulary: tgt)
        return (dir, model)
    }

    /// Byte-level mutations: flips, overwrites, insertions, deletions, truncation, and (for text)
    /// replacing a digit run or a JSON token with another.
    func mutate(_ input: [UInt8], _ rng: inout Rng, text: Bool) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + rng.below(3)) {
            guard !b.isEmpty else { b = [UInt8(rng.below(256))]; continue }
            let i = rng.below(b.count)
            switch rng.below(text ? 9 : 7) {
            case 0: b[i] ^= UInt8(1 << rng.below(8))
            case 1: b[i] = UInt8(rng.below(256))
            case 2: b.insert(UInt8(rng.below(256)), at: i)
            case 3: b.removeSubrange(i..<min(b.count, i + 1 + rng.below(16)))
            case 4: b = Array(b.prefix(rng.below(b.count)))
            case 5: b += (0..<(1 + rng.below(8))).map { _ in UInt8(rng.below(256)) }
            case 6:
                // The 8-byte header length of a safetensors file (or the first bytes of text).
                let k = rng.below(min(8, b.count))
                b[k] = rng.pick([0, 1, 0x7F, 0x80, 0xFF, b[k] &+ 1, b[k] &- 1])
            case 7:
                // A run of digits becomes another number.
                guard let s = b[i...].firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) else { continue }
                var e = s
                while e < b.count && b[e] >= 0x30 && b[e] <= 0x39 { e += 1 }
                let n = rng.pick(["0", "1", "-1", "7", "99999999999", "9223372036854775807", "18446744073709551616", "1e308", "2.5", "-0", "NaN"])
                b.replaceSubrange(s..<e, with: Array(n.utf8))
            default:
                let token = rng.pick(["{", "}", "[", "]", "\"", ",", ":", "null", "true", "\"F32\"", "\"F64\"", "[]", "{}", "\"\\u0000\"", "\"\\ud800\""])
                b.replaceSubrange(i..<min(b.count, i + rng.below(4)), with: Array(token.utf8))
            }
        }
        return b
    }

    /// Mutated model.safetensors bytes through the parser and the loader.
    func testSafeTensorsLoaderOnMutatedFiles() throws {
        let (dir, model) = try tinyCheckpoint()
        let path = dir + "/" + Checkpoint.modelFile
        let valid = try FileIO.readAll(path)
        // The header is JSON: mutate it as text half of the time.
        var rng = Rng(state: 0x5EED_0201)
        var parsed = 0, loaded = 0
        for i in 0..<Self.safetensorsCases {
            let bytes = mutate(valid, &rng, text: rng.below(2) == 0)
            let file: SafeTensorsFile
            do {
                file = try SafeTensorsFile(bytes: bytes, path: path)
            } catch let e as StorageError {
                XCTAssertEqual(e.file, path, "case \(i)")
                XCTAssertFalse(e.reason.isEmpty)
                continue
            }
            parsed += 1
            let store = model.params.zerosLike()
            do {
                try file.load(into: [("", store)])
                loaded += 1
            } catch let e as StorageError {
                XCTAssertEqual(e.file, path, "case \(i)")
                XCTAssertEqual(store.buffer.filter { $0 != 0 }.count, 0, "case \(i): a failed load wrote into the store")
            }
        }
        // Some mutations (a flipped mantissa bit) leave a loadable file; most must not parse.
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertLessThan(parsed, Self.safetensorsCases)
        _ = loaded
    }

    /// Deeply nested or huge headers are rejected without exhausting the stack or memory.
    func testHostileSafeTensorsHeaders() throws {
        func file(_ header: String, data: Int = 0) -> [UInt8] {
            let h = Array(header.utf8)
            var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) }
            return out + h + [UInt8](repeating: 0, count: data)
        }
        let cases = [
            String(repeating: "[", count: 100_000),
            "{\"a\":" + String(repeating: "{\"a\":", count: 5_000) + "1" + String(repeating: "}", count: 5_001),
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            "{\"__metadata__\":[1]}",
            "\"just a string\"",
        ]
        for (k, h) in cases.enumerated() {
            XCTAssertThrowsError(try SafeTensorsFile(bytes: file(h, data: 8), path: "x.safetensors"), "case \(k)") { e in
                XCTAssertTrue(e is StorageError, "case \(k): \(e)")
            }
        }
        // A header length beyond the file, and one of 2^64 - 1.
        XCTAssertThrowsError(try SafeTensorsFile(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D], path: "x"))
    }

    /// Mutated trainer-state.json: Checkpoint.open throws naming trainer-state.json, or opens.
    func testTrainerStateMutations() throws {
        let (dir, _) = try tinyCheckpoint()
        let path = dir + "/" + Checkpoint.stateFile
        let valid = try FileIO.readAll(path)
        var rng = Rng(state: 0x5EED_0202)
        for i in 0..<Self.stateCases {
            let bytes = mutate(valid, &rng, text: true)
            try writeFile(path, bytes)
            // Half the cases with the state's checksum re-written, so that the parser and the
            // range checks behind it see the mutation; the other half must fail the checksum.
            let rehashed = i % 2 == 0
            try writeFile(dir + "/" + Checkpoint.stateChecksumFile,
                          Array("\(SHA256.hex(rehashed ? bytes : valid))  trainer-state.json\n".utf8))
            do {
                _ = try Checkpoint.open(dir)
                XCTAssertTrue(rehashed || bytes == valid, "case \(i): the state's checksum let an altered state through")
            } catch let e as StorageError {
                XCTAssertTrue(e.file.hasPrefix(dir + "/"), "case \(i): \(e)")
            }
        }
    }

    /// Mutated config.json and vocabularies, with the checksum re-written so that the parsers
    /// themselves are exercised (and once without, so the checksum catches it).
    func testConfigAndVocabularyMutations() throws {
        let (dir, _) = try tinyCheckpoint()
        let statePath = dir + "/" + Checkpoint.stateFile
        let validState = try FileIO.readAll(statePath)
        let validStateSum = try FileIO.readAll(dir + "/" + Checkpoint.stateChecksumFile)
        var rng = Rng(state: 0x5EED_0203)
        for i in 0..<Self.configCases {
            let name = rng.pick([Checkpoint.configFile, Checkpoint.configFile, Checkpoint.sourceVocabularyFile, Checkpoint.targetVocabularyFile])
            let path = dir + "/" + name
            let valid = try FileIO.readAll(path)
            let bytes = name == Checkpoint.configFile && rng.below(2) == 0
                ? try structuredConfigMutation(valid, &rng) : mutate(valid, &rng, text: true)
            try writeFile(path, bytes)
            let rewrite = i % 4 != 0
            if rewrite {
                var state = try JSONDecoder().decode(TrainerState.self, from: Data(validState))
                state.checksums[name] = SHA256.hex(bytes)
                let stateBytes = Array(try JSONEncoder().encode(state))
                try writeFile(statePath, stateBytes)
                try writeFile(dir + "/" + Checkpoint.stateChecksumFile, Array("\(SHA256.hex(stateBytes))  trainer-state.json\n".utf8))
            }
            do {
                _ = try TrainedModel(directory: dir)
                XCTAssertTrue(rewrite || bytes == valid, "case \(i): the checksum let an altered \(name) through")
            } catch let e as StorageError {
                XCTAssertTrue(e.file.hasPrefix(dir + "/"), "case \(i): \(e)")
                if !rewrite && bytes != valid { XCTAssertTrue(e.reason.contains("checksum mismatch") && e.file == path, "case \(i): \(e)") }
            } catch let e as InputError {
                XCTAssertEqual(e.file, path, "case \(i): \(e)")
            }
            try writeFile(path, valid)
            try writeFile(statePath, validState)
            try writeFile(dir + "/" + Checkpoint.stateChecksumFile, validStateSum)
        }
    }

    /// Replaces, retypes or deletes one value of config.json.
    func structuredConfigMutation(_ bytes: [UInt8], _ rng: inout Rng) throws -> [UInt8] {
        guard var root = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              var model = root["model"] as? [String: Any] else { throw StorageError("config.json", "not an object") }
        let replacements: [Any] = [NSNull(), "8", -1, 0, 3, 5, 1 << 40, Int.max, 2.5, [Int](), [String: Int](), true, "bilstm", "conv", "dot", "NaN"]
        if rng.below(3) == 0 {
            let keys = Array(root.keys).sorted()
            let k = rng.pick(keys)
            if rng.below(4) == 0 { root[k] = nil } else { root[k] = rng.pick(replacements) }
        } else {
            let keys = Array(model.keys).sorted()
            let k = rng.pick(keys)
            if rng.below(4) == 0 { model[k] = nil } else { model[k] = rng.pick(replacements) }
            root["model"] = model
        }
        return Array(try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
    }
}

extension RandomGenerator {
    /// A draw in 0..<n (0 when n ≤ 1).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    /// A random element of a non-empty array.
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
}
