import Foundation
import XCTest
@testable import Metrics

/// Seeded random-input tests of BLEU (every tokenizer, smoothing and case option) and ROUGE
/// (both tokenizers, with and without stemming). Bounded by iteration counts, so every run tries
/// the same inputs.
///
/// Invariants: no crash; every figure finite and in range (BLEU and precisions in [0, 100],
/// BP in [0, 1], ROUGE P/R/F in [0, 1]); a hypothesis equal to its reference scores 100 (BLEU
/// with effective order, or any BLEU once it has 4-grams) and 1.0 (ROUGE, once it has the
/// n-grams); ROUGE's precision and recall swap when hypothesis and reference do.
final class FuzzMetricsTests: XCTestCase {
    /// Inputs tried by each test (reported in README, "Robustness").
    static let bleuCases = 10_000
    static let rougeCases = 10_000

    static let pieces: [String] = [
        "the", "The", "THE", "cat", "cats", "running", "runner", "generalization", "a", "of", "3.14", "1,000", "10:30",
        "e-mail", "C++", "&quot;", "&amp;", "&lt;", "&gt;", "<skipped>", ".", ",", "-", "—", "!", "?", "(", ")", "'", "\"",
        "é", "e\u{0301}", "Straße", "İstanbul", "ǅ", "ﬁ", "Ⅻ", "\u{200D}", "👨\u{200D}👩\u{200D}👧", "👍🏽", "שלום", "مرحبا",
        "\u{200F}", "中文", "我喜欢吃苹果", "日本語", "ภาษาไทย", "한국어", "\u{3000}", "\u{00A0}", "\u{2009}", "\u{FEFF}",
        "\u{FFFD}", "\u{0001}", "\u{007F}", "\u{0085}", "\t", "\r", "  ", " ", "ŉ", "ΐ", "ﬃ", "𝔘𝔫𝔦", "٣", "²",
    ]

    /// The module's SplitMix64 stream, with the picks these tests use.
    struct Rng {
        var base: SplitMix64
        init(state: UInt64) { base = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { base.next() }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    }

    /// Random text of pieces and random scalars, no newline (segments are lines).
    func randomText(_ rng: inout Rng) -> String {
        var s = ""
        for _ in 0..<rng.below(14) {
            if rng.below(4) == 0 {
                if let u = Unicode.Scalar(UInt32(rng.below(0x11_0000))), u != "\n" { s.unicodeScalars.append(u) }
            } else {
                s += rng.pick(Self.pieces)
            }
            if rng.below(3) != 0 { s += " " }
        }
        return s
    }

    func checkBLEU(_ s: BLEUScore, _ what: @autoclosure () -> String) {
        XCTAssertTrue(s.score.isFinite && s.score >= 0 && s.score <= 100 + 1e-9, "score \(s.score): \(what())")
        XCTAssertTrue(s.bp.isFinite && s.bp >= 0 && s.bp <= 1, "bp \(s.bp): \(what())")
        for p in s.precisions { XCTAssertTrue(p.isFinite && p >= 0 && p <= 100 + 1e-9, "precision \(p): \(what())") }
    }

    func testBLEUOnRandomText() {
        var rng = Rng(state: 0x5EED_0101)
        var configs: [BLEU] = []
        for tok in BLEUTokenizer.allCases {
            for sm in BLEUSmoothing.allCases {
                for lc in [false, true] { configs.append(BLEU(tokenizer: tok, lowercase: lc, smoothing: sm)) }
            }
        }
        for i in 0..<Self.bleuCases {
            var bleu = configs[i % configs.count]
            let hyp = randomText(&rng)
            let refs = (0..<(1 + rng.below(3))).map { _ in randomText(&rng) }
            let what = "case \(i) \(bleu.tokenizer) \(bleu.smoothing) lc=\(bleu.lowercase): \(hyp.debugDescription) vs \(refs.debugDescription)"
            for eff in [false, true] {
                bleu.effectiveOrder = eff
                let st = bleu.statistics(hypothesis: hyp, references: refs)
                for n in 0..<4 {
                    XCTAssertTrue(st.matches[n] >= 0 && st.matches[n] <= st.totals[n], what)
                }
                checkBLEU(bleu.score(st), what)
                // Identical hypothesis and reference.
                let same = bleu.statistics(hypothesis: hyp, references: [hyp])
                XCTAssertEqual(same.matches, same.totals, what)
                XCTAssertEqual(same.hypothesisLength, same.referenceLength, what)
                let s = bleu.score(same)
                checkBLEU(s, what)
                if (eff && same.totals[0] > 0) || same.totals[3] > 0 {
                    XCTAssertEqual(s.score, 100, accuracy: 1e-9, what)
                }
            }
            // A corpus: the summed statistics score the same as corpusScore.
            bleu.effectiveOrder = false
            let hyps = [hyp, randomText(&rng), randomText(&rng)]
            let corpusRefs = [refs[0], randomText(&rng), randomText(&rng)]
            let c = bleu.corpusScore(hypotheses: hyps, references: [corpusRefs])
            checkBLEU(c, what)
            let summed = zip(hyps, corpusRefs).map { bleu.statistics(hypothesis: $0, references: [$1]) }.reduce(BLEUStatistics(), +)
            XCTAssertEqual(bleu.score(summed).score, c.score, what)
        }
    }

    func testROUGEOnRandomText() {
        var rng = Rng(state: 0x5EED_0102)
        var configs: [ROUGE] = []
        for tok in ROUGETokenizer.allCases {
            for stem in [false, true] { configs.append(ROUGE(types: ROUGEType.allCases, useStemmer: stem, tokenizer: tok)) }
        }
        for i in 0..<Self.rougeCases {
            let rouge = configs[i % configs.count]
            let hyp = randomText(&rng), ref = randomText(&rng)
            let what = "case \(i) \(rouge.tokenizer) stem=\(rouge.useStemmer): \(hyp.debugDescription) vs \(ref.debugDescription)"
            let ab = rouge.score(hypothesis: hyp, reference: ref)
            let ba = rouge.score(hypothesis: ref, reference: hyp)
            for t in rouge.types {
                for s in [ab[t], ba[t]] {
                    guard let s else { XCTFail("no \(t): \(what)"); continue }
                    for v in [s.precision, s.recall, s.f] { XCTAssertTrue(v.isFinite && v >= 0 && v <= 1 + 1e-12, "\(t) \(v): \(what)") }
                }
                XCTAssertEqual(ab[t]?.precision ?? -1, ba[t]?.recall ?? -2, accuracy: 1e-12, "\(t): \(what)")
                XCTAssertEqual(ab[t]?.f ?? -1, ba[t]?.f ?? -2, accuracy: 1e-12, "\(t): \(what)")
            }
            let tokens = rouge.tokenize(hyp).count
            let same = rouge.score(hypothesis: hyp, reference: hyp)
            for t in rouge.types {
                let needed = t == .rouge2 ? 2 : 1
                let expected = tokens >= needed ? 1.0 : 0.0
                XCTAssertEqual(same[t]?.f ?? -1, expected, accuracy: 1e-12, "\(t) identical: \(what)")
            }
            // Several references: the best F is at least each reference's F.
            let multi = rouge.score(hypothesis: hyp, references: [ref, hyp])
            for t in rouge.types {
                XCTAssertGreaterThanOrEqual(multi.best[t]?.f ?? -1, max(ab[t]?.f ?? 0, same[t]?.f ?? 0) - 1e-12, what)
            }
        }
    }
}
