import XCTest
@testable import Metrics

/// `TextBytes` writes the same bytes as the `String` formatters it replaces on `score`'s
/// per-line path: `formatFixed` (C's `%.*f`), `formatJSONNumber` (`"\(x)"`) and `String(n)`.
final class TextBytesTests: XCTestCase {
    private func text(_ body: (inout TextBytes) -> Void) -> String {
        var b = TextBytes()
        body(&b)
        return String(decoding: b.bytes, as: UTF8.self)
    }

    func testFixedMatchesPrintfOnTiesEdgesAndSeededValues() {
        let edges: [Double] = [0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 2.675, 1.005, 1.015, 99.995, 100, 0.045,
                               -0.001, -0.004999, 1e-300, 5e-324, 123456.785, 4.35, 0.05, 9.9999999999, 1e14, 3.2e15,
                               1e300, .infinity, -.infinity, .nan, 74.93270509568215, 28.000000000000004]
        for x in edges {
            for d in 0...12 {
                XCTAssertEqual(text { $0.appendFixed(x, d) }, formatFixed(x, d), "x = \(x), digits = \(d)")
            }
        }
        var rng = SplitMix64(seed: 18)
        for i in 0..<200_000 {
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            let x: Double
            switch i % 4 {
            case 0: x = u * 100                                            // scores
            case 1: x = Double(Int(u * 1_000_000)) / 10_000                // exact-looking decimals, ties included
            case 2: x = (u - 0.5) * 2e6
            default: x = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) // any magnitude
            }
            let d = Int(rng.next() % 8)
            XCTAssertEqual(text { $0.appendFixed(x, d) }, formatFixed(x, d), "x = \(x) (\(x.bitPattern)), digits = \(d), case \(i)")
        }
    }

    func testJSONNumbersAndIntegersMatchTheStringFormatters() {
        var rng = SplitMix64(seed: 7)
        var values: [Double] = [0, -0.0, 25, 1e-7, 1e16, 1e300, .nan, .infinity, 1.0 / 3, 74.93270509568215]
        for _ in 0..<10_000 { values.append(Double(bitPattern: rng.next())) }
        for x in values { XCTAssertEqual(text { $0.appendJSONNumber(x) }, formatJSONNumber(x)) }
        for n in [0, 1, -1, 9, 10, 99, 100, 12345, Int.max, Int.min, -987654321] {
            XCTAssertEqual(text { $0.appendInt(n) }, String(n))
        }
        for _ in 0..<10_000 {
            let n = Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64)
            XCTAssertEqual(text { $0.appendInt(n) }, String(n))
        }
    }
}
