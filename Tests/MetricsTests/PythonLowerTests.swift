import XCTest
@testable import Metrics

/// `pythonLower`'s byte paths (ASCII, and the table of two-byte scalars) against its
/// scalar-by-scalar oracle `pythonLowerReference`.
final class PythonLowerTests: XCTestCase {
    private func lower(_ s: String, _ f: (UnsafeBufferPointer<UInt8>, inout [UInt8]) -> Void) -> [UInt8] {
        var out: [UInt8] = [0x7C]              // appends after what is there
        var s = s
        s.withUTF8 { f($0, &out) }
        return out
    }

    func testEveryTwoByteScalarAloneAndBetweenLetters() {
        for v in UInt32(0x80)..<0x800 {
            let c = String(Unicode.Scalar(v)!)
            for s in [c, "A\(c)b", "\(c)\(c)É", "ΑΣ\(c)", "x\(c)Σ"] {
                XCTAssertEqual(lower(s) { pythonLower($0, into: &$1) }, lower(s) { pythonLowerReference($0, into: &$1) },
                               "U+\(String(v, radix: 16)) in \(s)")
            }
        }
    }

    func testSeededMixedTexts() {
        let pool: [Unicode.Scalar] = ["a", "Z", " ", ".", "É", "ß", "İ", "Σ", "σ", "Ω", "Ж", "ה", "ع", "ǅ", "ﬃ", "漢", "😀", "\u{0345}", "\u{0301}"]
        var rng = SplitMix64(seed: 42)
        for seed in 0..<5_000 {
            var s = String.UnicodeScalarView()
            let n = Int(rng.next() % 24)
            let narrow = seed % 2 == 0               // half the texts stay within two-byte scalars
            for _ in 0..<n {
                var u = pool[Int(rng.next() % UInt64(pool.count))]
                if narrow && u.value >= 0x800 { u = "q" }
                if rng.next() % 4 == 0 { u = Unicode.Scalar(UInt32(0x80 + rng.next() % 0x780))! }
                s.append(u)
            }
            let text = String(s)
            XCTAssertEqual(lower(text) { pythonLower($0, into: &$1) }, lower(text) { pythonLowerReference($0, into: &$1) },
                           "seed \(seed): \(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    /// Ill-formed UTF-8 (a lead byte without its continuation, at the end too; a lone
    /// continuation byte; overlong leads) takes the scalar path, which repairs it as
    /// `String(decoding:)` does.
    func testIllFormedBytesAsTheOracle() {
        func lowerBytes(_ b: [UInt8], _ f: (UnsafeBufferPointer<UInt8>, inout [UInt8]) -> Void) -> [UInt8] {
            var out: [UInt8] = []
            b.withUnsafeBufferPointer { f($0, &out) }
            return out
        }
        var cases: [[UInt8]] = [[0xDE], [0x41, 0xDE], [0xDE, 0xC3, 0x89], [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xC3, 0x89, 0xBF],
                                [0xCE], [0xCE, 0xA3], [0xE2, 0x82], [0xF0, 0x9F]]
        var rng = SplitMix64(seed: 9)
        for _ in 0..<20_000 {
            cases.append((0..<Int(rng.next() % 12)).map { _ in
                let r = rng.next() % 4
                return r == 0 ? UInt8(0x41 + rng.next() % 26) : UInt8(0x80 + rng.next() % 0x80)
            })
        }
        for b in cases {
            XCTAssertEqual(lowerBytes(b) { pythonLower($0, into: &$1) }, lowerBytes(b) { pythonLowerReference($0, into: &$1) }, "\(b)")
        }
    }
}
