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
}
