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
        // CheckpointError or reads a valid file; it never traps.
        let good = SafeTensorsFile.encode(stores: [("", makeStore())], metadata: ["k": "v"])
        let n = Int(good[0]) | Int(good[1]) << 8
        var rejected = 0
        for i in 0..<(8 + n) {
            var b = good
            b[i] ^= 0x5A
            do { _ = try SafeTensorsFile(bytes: b, path: "f") } catch is CheckpointError { rejected += 1 }
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
}
