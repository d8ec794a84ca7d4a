import XCTest
@testable import Metrics

/// chrF's single-reference fast path (dense n-gram ids from a direct table, `CHRFPackedCounter`)
/// against the general path (per-segment n-gram ids), which a second, identical reference
/// selects: sacreBLEU keeps the first of tied references, so both must give the same
/// statistics. Seeded random texts: ASCII words with punctuation, mixed scripts and Python
/// whitespace, and texts with more than 1023 distinct characters (their orders outgrow the
/// direct table and take the hashed `PairTable`) and orders up to 11.
final class CHRFPackedPathTests: XCTestCase {
    private struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    private static func text(_ rng: inout SplitMix64, alphabet: [Unicode.Scalar], words: Int) -> String {
        var s = ""
        for w in 0..<words {
            if w > 0 { s += [" ", " ", " ", "\t", "\u{3000}", "  "][rng.below(6)] }
            for _ in 0..<(1 + rng.below(6)) { s.unicodeScalars.append(alphabet[rng.below(alphabet.count)]) }
            if rng.below(4) == 0 { s += [".", ",", "!", "(", "\""][rng.below(5)] }
        }
        return s
    }

    func testFastPathEqualsGeneralPath() {
        let ascii = (0x61...0x7A).map { Unicode.Scalar($0)! } + ["A", "B", "Z", "é", "Σ", "ß", "İ"]
        let mixed = ascii + (0x3B1...0x3C9).map { Unicode.Scalar($0)! } + (0x4E00...0x4E20).map { Unicode.Scalar($0)! }
            + ["\u{1F600}", "\u{0301}", "\u{00A0}", "\u{2028}", "\u{1C}"]
        let wide = (0x4E00..<(0x4E00 + 1500)).map { Unicode.Scalar($0)! }     // > 1023 distinct
        let configs = [CHRF(), CHRF(wordOrder: 2), CHRF(wordOrder: 2, lowercase: true), CHRF(whitespace: true),
                       CHRF(charOrder: 11, wordOrder: 4), CHRF(charOrder: 0, wordOrder: 3, beta: 1),
                       CHRF(charOrder: 3, wordOrder: 1, epsSmoothing: true)]
        var rng = SplitMix64(state: 18)
        var checked = 0, wideChecked = 0
        for round in 0..<300 {
            let alphabet = round % 10 == 9 ? wide : round % 2 == 0 ? ascii : mixed
            let words = round % 10 == 9 ? 1000 : rng.below(30)
            let ref = Self.text(&rng, alphabet: alphabet, words: words)
            // A hypothesis that shares much with the reference: a perturbed copy, or unrelated.
            var hyp = rng.below(5) == 0 ? Self.text(&rng, alphabet: alphabet, words: rng.below(30)) : ref
            if !hyp.isEmpty && rng.below(2) == 0 {
                var scalars = Array(hyp.unicodeScalars)
                for _ in 0..<(1 + rng.below(4)) { scalars[rng.below(scalars.count)] = alphabet[rng.below(alphabet.count)] }
                hyp = String(String.UnicodeScalarView(scalars))
            }
            for chrf in configs {
                let one = chrf.statistics(hypothesis: hyp, references: [ref])
                let two = chrf.statistics(hypothesis: hyp, references: [ref, ref])
                XCTAssertEqual(one, two, "round \(round) \(chrf)")
                checked += 1
            }
            if alphabet == wide {
                // Over 1023 distinct non-space characters: the hashed tables are used.
                let distinct = Set(ref.unicodeScalars.filter { !$0.properties.isWhitespace })
                if distinct.count > 1023 { wideChecked += 1 }
            }
        }
        XCTAssertEqual(checked, 300 * configs.count)
        XCTAssertEqual(wideChecked, 30)
        // Non-trivial: the fast path found matches and the wide texts were scored.
        let s = CHRF().statistics(hypothesis: "the cat sat", references: ["the cat sat down"])
        XCTAssertEqual(s.values[0..<3], [9, 13, 9])
    }

    /// The streaming scorer: one reference per segment through `CHRFSegmentScorer` equals the
    /// corpus API, across segments (the reused tables forget the previous segment).
    func testScorerReuseAcrossSegments() {
        let chrf = CHRF(wordOrder: 2)
        let hyps = ["a b c", "", "x y z a b", "the the the", "ééé ééé"]
        let refs = ["a b d", "q", "", "the", "éé ééé é"]
        let s = CHRFSegmentScorer(chrf)
        for (h, r) in zip(hyps, refs) {
            s.beginSegment()
            s.addReference(r)
            XCTAssertEqual(s.finishSegment(hypothesis: h), chrf.statistics(hypothesis: h, references: [r, r]), "\(h) | \(r)")
        }
    }
}
