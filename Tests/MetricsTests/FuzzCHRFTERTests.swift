import XCTest
@testable import Metrics

/// Seeded random-input tests of chrF/chrF++ (every option) and TER (every tokenizer option), on
/// the hostile pieces of `FuzzMetricsTests` (NFD/NFC, ZWJ, RTL, CJK, odd whitespace, control
/// characters, XML entities). Bounded by iteration counts, so every run tries the same inputs.
///
/// Invariants: no crash; chrF in [0, 100] and 100 for a hypothesis equal to its reference when
/// it has a character n-gram; TER finite and ≥ 0, 0 for a hypothesis equal to its reference;
/// the statistics of a corpus add up to its score.
final class FuzzCHRFTERTests: XCTestCase {
    static let cases = 2_000

    /// Random text of `FuzzMetricsTests.pieces` and random scalars, no newline (as that file's).
    private struct Fuzz {
        func randomText(_ rng: inout FuzzMetricsTests.Rng) -> String {
            var s = ""
            for _ in 0..<rng.below(14) {
                if rng.below(4) == 0 {
                    if let u = Unicode.Scalar(UInt32(rng.below(0x11_0000))), u != "\n" { s.unicodeScalars.append(u) }
                } else {
                    s += rng.pick(FuzzMetricsTests.pieces)
                }
                if rng.below(3) != 0 { s += " " }
            }
            return s
        }
    }
    private let fuzz = Fuzz()

    func testCHRFOnRandomText() {
        var rng = FuzzMetricsTests.Rng(state: 0xC4F)
        let configs = [CHRF(), CHRF(wordOrder: 2), CHRF(lowercase: true), CHRF(whitespace: true), CHRF(beta: 1),
                       CHRF(charOrder: 3, wordOrder: 1, epsSmoothing: true)]
        for k in 0..<Self.cases {
            let hyp = fuzz.randomText(&rng)
            let refs = (0..<(1 + rng.below(3))).map { _ in fuzz.randomText(&rng) }
            let chrf = configs[k % configs.count]
            let s = chrf.sentenceScore(hypothesis: hyp, references: refs).score
            XCTAssertTrue(s.isFinite && s >= 0 && s <= 100 + 1e-9, "case \(k): \(s)")
            let same = chrf.statistics(hypothesis: hyp, references: [hyp])
            if same.values[0] > 0 && !chrf.epsSmoothing {
                XCTAssertEqual(chrf.score(same).score, 100, accuracy: 1e-9, "case \(k) identical: \(hyp.debugDescription)")
            }
        }
    }

    func testTEROnRandomText() {
        var rng = FuzzMetricsTests.Rng(state: 0x7E4)
        let configs = [TER(), TER(caseSensitive: true), TER(normalized: true), TER(noPunct: true),
                       TER(normalized: true, asianSupport: true), TER(noPunct: true, asianSupport: true)]
        var hyps: [String] = [], refs: [String] = []
        for k in 0..<Self.cases {
            let hyp = fuzz.randomText(&rng), ref = fuzz.randomText(&rng)
            hyps.append(hyp); refs.append(ref)
            let ter = configs[k % configs.count]
            let st = ter.statistics(hypothesis: hyp, references: [ref])
            let s = ter.score(st).score
            XCTAssertTrue(s.isFinite && s >= 0 && st.edits >= 0, "case \(k): \(s)")
            XCTAssertEqual(ter.statistics(hypothesis: ref, references: [ref]).edits, 0, "case \(k) identical: \(ref.debugDescription)")
        }
        let ter = TER()
        let stats = ter.corpusStatistics(hypotheses: hyps, references: [refs])
        XCTAssertEqual(ter.corpusScore(hypotheses: hyps, references: [refs]), ter.score(stats.reduce(TERStatistics(), +)))
    }
}
