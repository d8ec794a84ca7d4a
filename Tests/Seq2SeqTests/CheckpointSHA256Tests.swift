import XCTest
@testable import Seq2Seq

/// SHA-256 against the FIPS 180-4 / NIST CSRC example vectors.
final class CheckpointSHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testMillionAsInUnevenPieces() {
        var h = SHA256()
        var remaining = 1_000_000
        var piece = 1
        while remaining > 0 {
            let n = min(piece, remaining)
            h.update([UInt8](repeating: 0x61, count: n))
            remaining -= n
            piece = piece * 3 % 1000 + 1  // uneven sizes cross block boundaries
        }
        XCTAssertEqual(SHA256.hexString(h.finalize()),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testPaddingBoundaries() {
        // Lengths around the 55/56/64-byte padding edges give distinct digests, and a file
        // digest equals the in-memory digest.
        var seen = Set<String>()
        for n in [54, 55, 56, 57, 63, 64, 65, 119, 120] {
            XCTAssertTrue(seen.insert(SHA256.hex([UInt8](repeating: 0x61, count: n))).inserted)
        }
        let path = NSTemporaryDirectory() + "sha-\(getpid()).bin"
        let bytes = (0..<3_000_003).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try SHA256.hex(ofFile: path), SHA256.hex(bytes))
        // 55 'a's: one block exactly; value from sha256sum.
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 55)),
                       "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
    }
}
