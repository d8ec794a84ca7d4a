import XCTest
@testable import Metrics

/// TER's byte path (no normalization, punctuation kept) tokenizes each reference once, where
/// sacreBLEU tokenizes it twice (`TERSegmentScorer.byteWordIDs` says why the second pass is the
/// identity there). On seeded random lines of cased, non-ASCII and whitespace-rich text — Σ at
/// the start, middle and end of words (Python's final-sigma rule), İ, ß, ẞ, ǅ, ﬃ, combining
/// marks, CJK, and Python whitespace beyond ASCII — the scorer's reference words must equal the
/// words of the scalar tokenizer (`TERTokenizer`) run twice, for both case settings.
final class TERTokenizeOnceTests: XCTestCase {
    func testOnePassEqualsTwoPasses() {
        let pieces = ["Σ", "ΣΑΣ", "aΣ", "Σa", "İ", "ß", "ẞ", "Ǆ", "ǅ", "A", "b", "Ω", "中文", "ﬃ", "e\u{0301}", "x.", ",", "'", "ΑΣ."]
        let spaces = [" ", "  ", "\t", "\u{3000}", "\u{A0}", "\u{2028}", "\u{1C}", "\u{85}"]
        var rng = SplitMix64(seed: 18)
        var checked = 0, changedByLower = 0
        for caseSensitive in [false, true] {
            let ter = TER(caseSensitive: caseSensitive)
            for _ in 0..<400 {
                var line = ""
                for w in 0..<(1 + rng.next(below: 8)) {
                    if w > 0 { line += spaces[rng.next(below: spaces.count)] }
                    for _ in 0..<(1 + rng.next(below: 3)) { line += pieces[rng.next(below: pieces.count)] }
                }
                if rng.next(below: 3) == 0 { line += spaces[rng.next(below: spaces.count)] }
                let twice = ter.tokenizer(ter.tokenizer(line))
                if ter.tokenizer(line) != line.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") { changedByLower += 1 }
                // The hypothesis `twice` (its words are what sacreBLEU compares) against the reference
                // `line`: no edit, and as many reference words, exactly when the words are equal.
                let st = ter.statistics(hypothesis: twice, references: [line])
                XCTAssertEqual(st.edits, 0, "\(caseSensitive) \(line.unicodeScalars.map { String($0.value, radix: 16) })")
                XCTAssertEqual(st.referenceLength, Double(twice.split(separator: " ").count), line)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 800)
        XCTAssertGreaterThan(changedByLower, 300)     // lowercasing did change most lines
    }
}
