import XCTest
@testable import Seq2Seq

final class CheckpointSafeTensorsTests: XCTestCase {
    func makeStore(seed: UInt64 = 1) -> ParameterStore {
        let s = ParameterStore()
        s.add("encoder.embedding", shape: [5, 3])
        s.add("decoder.bias", shape: [7])
        s.add("attention.W", shape: [2, 2, 2])
        var rng = RandomGenerator(seed: seed)
        for i in 0..<s.count { s.storage[i] = rng.nextNormal() }
        return s
    }

    func header(_ bytes: [UInt8]) -> String {
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        return String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
    }

    func testLayoutIsThePublishedOne() throws {
        let s = ParameterStore()
        s.add("w", shape: [2])
        s.storage[0] = 1.0
        s.storage[1] = -2.0
        let bytes = SafeTensorsFile.encode(stores: [("", s)], metadata: ["format": "pt"])
        // Header length, little-endian, multiple of 8; JSON; padding spaces; raw f32 LE.
        let n = Int(bytes[0]) | Int(bytes[1]) << 8
        XCTAssertEqual(bytes[2..<8].allSatisfy { $0 == 0 }, true)
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(header(bytes).trimmingCharacters(in: .whitespaces),
                       #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)
        XCTAssertEqual(Array(bytes[(8 + n)...]), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
    }

    func testRoundTripIsBitExact() throws {
        let s = makeStore()
        s.storage[3] = Float(bitPattern: 0x0000_0001)  // a subnormal survives
        s.storage[4] = -0.0
        let bytes = SafeTensorsFile.encode(stores: [("", s)], metadata: ["a": "b \"quoted\"\n"])
        let f = try SafeTensorsFile(bytes: bytes, path: "x.safetensors")
        XCTAssertEqual(f.metadata, ["a": "b \"quoted\"\n"])
        XCTAssertEqual(f.tensors.map(\.name), ["encoder.embedding", "decoder.bias", "attention.W"])
        XCTAssertEqual(f.tensor("attention.W")?.shape, [2, 2, 2])
        let t = s.zerosLike()
        try f.load(into: [("", t)])
        XCTAssertEqual(memcmp(s.storage, t.storage, 4 * s.count), 0)
        XCTAssertEqual(f.floats("decoder.bias"), s.values("decoder.bias"))
    }

    func assertRejects(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes, path: "m.safetensors"), file: file, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(text.hasPrefix("m.safetensors: "), text, file: file, line: line)
            XCTAssertTrue(text.contains(fragment), "\(text) lacks \(fragment)", file: file, line: line)
        }
    }

    func withHeader(_ json: String, data: Int) -> [UInt8] {
        let h = Array(json.utf8)
        var out: [UInt8] = []
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: h.count >> (8 * i))) }
        return out + h + [UInt8](repeating: 0, count: data)
    }

    func testCorruptFilesAreRejectedWithTheReason() {
        let good = SafeTensorsFile.encode(stores: [("", makeStore())])
        assertRejects([], "too short")
        assertRejects(Array(good.prefix(good.count - 1)), "truncated")
        assertRejects(Array(good.prefix(40)), "exceeds")
        assertRejects(good + [0], "unexpected bytes")
        var huge = good
        huge[7] = 0x10
        assertRejects(huge, "exceeds")
        var badJSON = good
        badJSON[9] = UInt8(ascii: "}")
        assertRejects(badJSON, "JSON")
        assertRejects(withHeader("[1,2]", data: 0), "not a JSON object")
        assertRejects(withHeader(#"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#, data: 2), "not supported")
        assertRejects(withHeader(#"{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}"#, data: 4), "unknown dtype")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), "needs 3 × 4 bytes")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4), "non-negative")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: 4), "data_offsets")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4), "overlap")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "gap")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#, data: 4), "unexpected field")
        assertRejects(withHeader(#"{"__metadata__":{"k":1}}"#, data: 0), "not a string")
        assertRejects(withHeader(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, data: 4), "too large")
    }

    func testEveryFlippedHeaderByteIsRejectedOrHarmless() throws {
        // Flip each header byte in turn: the parser either rejects the file with a
        // StorageError or reads a valid file; it never traps.
        let good = SafeTensorsFile.encode(stores: [("", makeStore())], metadata: ["k": "v"])
        let n = Int(good[0]) | Int(good[1]) << 8
        var rejected = 0
        for i in 0..<(8 + n) {
            var b = good
            b[i] ^= 0x5A
            do { _ = try SafeTensorsFile(bytes: b, path: "f") } catch is StorageError { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, n / 2)
    }

    func testLoadNamesMismatches() throws {
        let bytes = SafeTensorsFile.encode(stores: [("", makeStore())])
        let f = try SafeTensorsFile(bytes: bytes, path: "model.safetensors")
        let other = ParameterStore()
        other.add("encoder.embedding", shape: [3, 5])
        other.add("decoder.bias", shape: [7])
        other.add("decoder.extra", shape: [1])
        XCTAssertThrowsError(try f.load(into: [("", other)])) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains(#"tensor "encoder.embedding" has shape [5, 3], expected [3, 5]"#), text)
            XCTAssertTrue(text.contains(#"missing tensor "decoder.extra""#), text)
            XCTAssertTrue(text.contains(#"unexpected tensor "attention.W""#), text)
        }
        XCTAssertEqual(other.values("decoder.bias"), [Float](repeating: 0, count: 7), "nothing loaded on failure")
    }

    func testNonFiniteValuesAreRejected() throws {
        let s = makeStore()
        s.view("decoder.bias")[2] = .nan
        let f = try SafeTensorsFile(bytes: SafeTensorsFile.encode(stores: [("", s)]), path: "model.safetensors")
        XCTAssertThrowsError(try f.load(into: [("", s.zerosLike())])) { e in
            XCTAssertTrue("\(e)".contains(#"tensor "decoder.bias" has a non-finite value at element 2"#), "\(e)")
        }
    }

    func testEmptyFileWithMetadataOnly() throws {
        let bytes = SafeTensorsFile.encode([], metadata: ["optimizer": "sgd"])
        let f = try SafeTensorsFile(bytes: bytes, path: "o")
        XCTAssertEqual(f.tensors, [])
        XCTAssertEqual(f.metadata["optimizer"], "sgd")
    }

    /// Written by `python3 scripts/check_safetensors.py --write py.safetensors`
    /// (safetensors 0.8.0, numpy 2.4.6), base64.
    static let pythonFile = "2AAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJzb3VyY2UiOiJweXRob24ifSwiYS53ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlswLDEyXX0sImIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsM10sImRhdGFfb2Zmc2V0cyI6WzEyLDM2XX0sInNjYWxhciI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbXSwiZGF0YV9vZmZzZXRzIjpbMzYsNDBdfX0gICBgQqINAAAAgJ7Jf38AAIC/AAAAvwAAAAAAAAA/AACAPwAAwD8AAOhA"

    func testReadsAFileWrittenByPythonAndWritesTheSameBytes() throws {
        let bytes = [UInt8](Data(base64Encoded: Self.pythonFile)!)
        let f = try SafeTensorsFile(bytes: bytes, path: "py.safetensors")
        XCTAssertEqual(f.metadata, ["source": "python"])
        XCTAssertEqual(f.tensors.map(\.name), ["a.weight", "b", "scalar"])
        XCTAssertEqual(f.tensor("scalar")?.shape, [])
        XCTAssertEqual(f.floats("b"), [-1, -0.5, 0, 0.5, 1, 1.5])
        XCTAssertEqual(f.floats("a.weight")?.map(\.bitPattern), [Float(1e-30), -0.0, Float(3.4e38)].map(\.bitPattern))
        XCTAssertEqual(f.floats("scalar"), [7.25])
        // Our writer produces the very same bytes for the same tensors (same header order).
        let values: [[Float]] = [f.floats("a.weight")!, f.floats("b")!, f.floats("scalar")!]
        let mine = values[0].withUnsafeBufferPointer { a in
            values[1].withUnsafeBufferPointer { b in
                values[2].withUnsafeBufferPointer { c in
                    SafeTensorsFile.encode([.init(name: "a.weight", shape: [3], values: a),
                                            .init(name: "b", shape: [2, 3], values: b),
                                            .init(name: "scalar", shape: [], values: c)],
                                           metadata: ["source": "python"])
                }
            }
        }
        XCTAssertEqual(mine, bytes)
    }

    /// With MIXER_EXPORT_CHECKPOINT=DIR, writes a checkpoint there for
    /// `scripts/check_safetensors.py DIR/model.safetensors DIR/optimizer.safetensors` and
    /// prints the same per-tensor lines the script prints, to diff. Always checks that the
    /// printed checksums are those of the tensors read back.
    func testExportForPythonCheck() throws {
        let p = ParameterStore()
        p.add("encoder.embedding", shape: [100, 16])
        p.add("encoder.lstm.forward.W", shape: [32, 64])
        p.add("decoder.out.bias", shape: [100])
        var rng = RandomGenerator(seed: 2016)
        for i in 0..<p.count { p.storage[i] = rng.nextNormal() * 0.05 }
        let g = p.zerosLike()
        for i in 0..<g.count { g.storage[i] = rng.nextNormal() }
        let adam = Adam(parameters: p)
        adam.update(parameters: p, gradients: g)
        let env = ProcessInfo.processInfo.environment["MIXER_EXPORT_CHECKPOINT"]
        let dir = env ?? NSTemporaryDirectory() + "export-\(getpid())"
        try Checkpoint.save(to: dir, parameters: p, optimizer: adam, config: ["embedding": 16],
                            sourceVocabulary: [], targetVocabulary: [],
                            state: TrainerState(learningRate: 0.001, validation: ValidationTracker(higherIsBetter: true)))
        defer { if env == nil { try? FileManager.default.removeItem(atPath: dir) } }
        for file in [Checkpoint.modelFile, Checkpoint.optimizerFile] {
            let f = try SafeTensorsFile.read(dir + "/" + file)
            for t in f.tensors.sorted(by: { $0.name < $1.name }) {
                let v = f.floats(t.name)!
                let le = v.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }
                let sum = v.reduce(0.0) { $0 + Double($1) }
                let store = file == Checkpoint.modelFile ? p : (t.name.hasPrefix("m.") ? adam.m : adam.v)
                let name = file == Checkpoint.modelFile ? t.name : String(t.name.dropFirst(2))
                XCTAssertEqual(v, store.values(name))
                if env != nil { print("\(t.name)\tfloat32\t\(t.shape)\tsha256=\(SHA256.hex(le))\tsum=\(sum)") }
            }
        }
    }
}
