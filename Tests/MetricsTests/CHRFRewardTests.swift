import XCTest
@testable import Metrics

/// chrF rewards on ids equal sacreBLEU's sentence chrF of the same text (golden-checked `CHRF`).
final class CHRFRewardTests: XCTestCase {
    private let words = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "park", "and", "it", "was", "big", "Öl", "東京"]

    private func randomSentence(_ rng: inout SplitMix64, maxLength: Int = 25) -> [Int32] {
        (0..<rng.next(below: maxLength + 1)).map { _ in Int32(rng.next(below: words.count) + 10) }
    }
    private func text(_ ids: [Int32]) -> String { ids.map { words[Int($0) - 10] }.joined(separator: " ") }

    func testRewardEqualsSentenceCHRFAndCHRFPlusPlus() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<200 {
            let refs = (0..<(1 + trial % 3)).map { _ in randomSentence(&rng) }
            for config in [CHRF(), CHRF(wordOrder: 2), CHRF(beta: 1, lowercase: true)] {
                let table = CHRFReferenceTable(references: refs, chrf: config, tokenText: { self.words[Int($0) - 10] })
                for _ in 0..<3 {                  // several hypotheses per table: the references are kept
                    let hyp = randomSentence(&rng)
                    let s = config.sentenceScore(hypothesis: text(hyp), references: refs.map(text))
                    assertClose(table.reward(hyp) * 100, s.score, "trial \(trial) \(config.signature(references: .fixed(refs.count)))")
                    XCTAssertEqual(table.statistics(hyp), config.statistics(hypothesis: text(hyp), references: refs.map(text)))
                }
            }
        }
    }

    func testEOSPadAndUnknown() {
        let eos: Int32 = 3, pad: Int32 = 0, unk: Int32 = 1
        let tokenText: (Int32) -> String = { id in id == 1 ? "the" : self.words[Int(id) - 10] }
        let table = CHRFReferenceTable(references: [[10, 11, 12, eos, 13]], tokens: RewardTokens(eos: eos, pad: pad, unknown: unk),
                                       tokenText: tokenText)
        // Reads "the cat sat" on both sides: everything after eos and every pad is ignored.
        XCTAssertEqual(table.reward([pad, 10, 11, pad, 12, eos, 14, 15]), 1)
        // An unknown id never matches, even where its text would ("the").
        let withUnk = table.statistics([unk, 11, 12])
        let plain = CHRF().statistics(hypothesis: String(Unicode.Scalar(0xFDD0)!) + " cat sat", references: ["the cat sat"])
        XCTAssertEqual(withUnk, plain)
        XCTAssertLessThan(table.reward([unk, 11, 12]), table.reward([10, 11, 12]))
        XCTAssertEqual(table.reward([]), 0)
    }

    /// Scoring many hypotheses keeps the table's size bounded (their n-grams are forgotten).
    func testRewindKeepsTheReferences() {
        var rng = SplitMix64(seed: 4)
        let refs = [randomSentence(&rng), randomSentence(&rng)]
        let table = CHRFReferenceTable(references: refs, chrf: CHRF(wordOrder: 2), tokenText: { self.words[Int($0) - 10] })
        let first = randomSentence(&rng)
        let before = table.reward(first)
        for _ in 0..<500 { _ = table.reward(randomSentence(&rng, maxLength: 60)) }
        XCTAssertEqual(table.reward(first), before)
    }
}
