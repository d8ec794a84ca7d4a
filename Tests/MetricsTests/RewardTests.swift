import XCTest
@testable import Metrics

/// The rewards on ids agree with the string metrics on the same tokens.
final class RewardTests: XCTestCase {
    private let words = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "park", "and", "it", "was", "big"]

    private func randomSentence(_ rng: inout SplitMix64, maxLength: Int = 25) -> [Int32] {
        (0..<rng.next(below: maxLength + 1)).map { _ in Int32(rng.next(below: words.count) + 10) }
    }
    private func text(_ ids: [Int32]) -> String { ids.map { words[Int($0) - 10] }.joined(separator: " ") }

    func testBLEURewardEqualsSentenceBLEUForEverySmoothing() {
        var rng = SplitMix64(seed: 1)
        for trial in 0..<300 {
            let refs = (0..<(1 + trial % 3)).map { _ in randomSentence(&rng) }
            let hyp = randomSentence(&rng)
            for m in BLEUSmoothing.allCases {
                let table = ReferenceTable(references: refs, metric: .bleu(m))
                let s = BLEU(tokenizer: .none, smoothing: m, effectiveOrder: true)
                    .sentenceScore(hypothesis: text(hyp), references: refs.map(text))
                assertClose(table.reward(hyp) * 100, s.score, "trial \(trial) \(m)")
            }
        }
    }

    func testROUGERewardsEqualROUGE() {
        var rng = SplitMix64(seed: 2)
        for trial in 0..<300 {
            let ref = randomSentence(&rng), hyp = randomSentence(&rng, maxLength: 90)
            let s = ROUGE().score(hypothesis: text(hyp), reference: text(ref))
            assertClose(ReferenceTable(references: [ref], metric: .rougeN(1)).reward(hyp), s[.rouge1]!.f, "r1 \(trial)")
            assertClose(ReferenceTable(references: [ref], metric: .rougeN(2)).reward(hyp), s[.rouge2]!.f, "r2 \(trial)")
            assertClose(ReferenceTable(references: [ref], metric: .rougeN(2, recall: true)).reward(hyp), s[.rouge2]!.recall, "r2R \(trial)")
            assertClose(ReferenceTable(references: [ref], metric: .rougeL()).reward(hyp), s[.rougeL]!.f, "rL \(trial)")
            assertClose(ReferenceTable(references: [ref], metric: .rougeL(recall: true)).reward(hyp), s[.rougeL]!.recall, "rLR \(trial)")
        }
    }

    func testPlusOneSmoothingFormula() {
        let table = ReferenceTable(references: [[1, 2, 3, 4, 5, 6]], metric: .bleuPlusOne)
        // hyp 1 2 3 9: matches 3,2,1,0; totals 4,3,2,1; BP = exp(1 − 6/4)
        let expected = exp(1 - 6.0 / 4) * exp((log(4.0 / 5) + log(3.0 / 4) + log(2.0 / 3) + log(1.0 / 2)) / 4)
        assertClose(table.reward([1, 2, 3, 9]), expected, "plus-one")
        XCTAssertEqual(table.reward([]), 0)
    }

    func testEOSPadAndUnknownHandling() {
        let tokens = RewardTokens(eos: 2, pad: 0, unknown: 1)
        let table = ReferenceTable(references: [[5, 6, 1, 7, 2, 0, 0]], metric: .bleu(.exp), tokens: tokens)
        // Reference reads 5 6 <unk> 7; hypothesis reads 5 6 <unk> 7 (pad dropped, after eos ignored).
        let st = table.bleuStatistics([5, 0, 6, 1, 7, 2, 5, 6, 7])
        XCTAssertEqual(st.hypothesisLength, 4)
        XCTAssertEqual(st.referenceLength, 4)
        XCTAssertEqual(st.matches, SIMD4(3, 1, 0, 0))     // <unk> never matches
        XCTAssertEqual(st.totals, SIMD4(4, 3, 2, 1))
        XCTAssertEqual(table.reward([2, 5, 6]), 0)           // eos first: empty hypothesis
    }

    func testTablesAreReusableAcrossHypotheses() {
        var rng = SplitMix64(seed: 3)
        let ref = randomSentence(&rng)
        let table = ReferenceTable(references: [ref], metric: .bleu(.exp))
        let hyps = (0..<50).map { _ in randomSentence(&rng) }
        let first = hyps.map { table.reward($0) }
        let again = hyps.reversed().map { table.reward($0) }.reversed()
        XCTAssertEqual(first, Array(again))
    }

    func testResetTableEqualsANewTable() {
        // `reset(reference:)` refills one table in place: every metric, one to four hypotheses
        // per reference, references that shrink and
        // grow, a multi-reference table reset to one, eos/pad/unknown ids.
        var rng = SplitMix64(seed: 11)
        let tokens = RewardTokens(eos: 3, pad: 0, unknown: 1)
        let metrics: [RewardMetric] = [.bleu(.exp), .bleu(.floor), .bleuPlusOne, .rougeN(1), .rougeN(2),
                                       .rougeN(4, recall: true), .rougeL(), .rougeL(recall: true)]
        for metric in metrics {
            let reused = ReferenceTable(references: [randomSentence(&rng), randomSentence(&rng)], metric: metric,
                                        tokens: tokens)
            for trial in 0..<200 {
                var ref = randomSentence(&rng, maxLength: trial % 7 == 0 ? 60 : 25)
                if trial % 5 == 0 { ref.insert(0, at: ref.count / 2); ref.append(3); ref.append(9) }
                reused.reset(reference: ref)
                let fresh = ReferenceTable(references: [ref], metric: metric, tokens: tokens)
                for k in 0..<(1 + trial % 4) {
                    var hyp = randomSentence(&rng)
                    if k == 1 { hyp.insert(1, at: 0) }
                    if k == 2 { hyp = Array(ref.prefix(while: { $0 != 3 })) }
                    XCTAssertEqual(reused.reward(hyp), fresh.reward(hyp), "\(metric) trial \(trial) hypothesis \(k)")
                }
            }
            // A reference too varied for the direct-addressed tables (400 distinct ids: the
            // bigram table alone would need 401² entries) falls back to the hash index, and the
            // next small one goes back to the tables.
            for ref in [(0..<400).map { Int32(10 + ($0 * 7919) % 400) }, randomSentence(&rng)] {
                reused.reset(reference: ref)
                let fresh = ReferenceTable(references: [ref], metric: metric, tokens: tokens)
                for hyp in [Array(ref.prefix(30)), Array(ref.suffix(50).reversed()), randomSentence(&rng)] {
                    XCTAssertEqual(reused.reward(hyp), fresh.reward(hyp), "\(metric) long reference")
                }
            }
        }
    }

    func testDenseMatcherEqualsHashIndex() {
        // The rewards' direct-addressed tables count exactly what the hash index counts:
        // several references, heavy repetition (clipping), absent tokens, empty sequences.
        var rng = SplitMix64(seed: 5)
        for trial in 0..<300 {
            let vocab = 2 + rng.next(below: 6)
            let seq = { (len: Int) in (0..<len).map { _ in UInt32(rng.next(below: vocab) * 7919) } }
            let refs = (0..<(1 + trial % 3)).map { _ in seq(rng.next(below: 30)) }
            let order = 1 + trial % 4
            let plain = NGramIndex(maxOrder: order), dense = NGramIndex(maxOrder: order)
            dense.keepsReferences = true
            for r in refs { plain.addReference(r); dense.addReference(r) }
            dense.prepareForManyHypotheses()
            XCTAssertTrue(dense.usesDenseMatching)
            for _ in 0..<5 {
                let hyp = seq(rng.next(below: 30)) + [UInt32.max]
                let a = hyp.withUnsafeBufferPointer { plain.matches($0) }
                let b = hyp.withUnsafeBufferPointer { dense.matches($0) }
                XCTAssertEqual(a, b, "trial \(trial)")
            }
        }
    }

    func testLargeIdsAndLongSequences() {
        // Ids beyond 16 bits and references longer than 64 tokens take the general paths.
        var rng = SplitMix64(seed: 4)
        let ref = (0..<300).map { _ in Int32(100_000 + rng.next(below: 40)) }
        let hyp = (0..<280).map { _ in Int32(100_000 + rng.next(below: 40)) }
        let asText = { (x: [Int32]) in x.map { "w\($0)" }.joined(separator: " ") }
        let s = BLEU(tokenizer: .none, effectiveOrder: true).sentenceScore(hypothesis: asText(hyp), references: [asText(ref)])
        assertClose(ReferenceTable(references: [ref], metric: .bleu(.exp)).reward(hyp) * 100, s.score, "long bleu")
        let r = ROUGE().score(hypothesis: asText(hyp), reference: asText(ref))
        assertClose(ReferenceTable(references: [ref], metric: .rougeL()).reward(hyp), r[.rougeL]!.f, "long rougeL")
    }
}

final class BootstrapTests: XCTestCase {
    func testEstimateFollowsSacreBLEU() {
        let scores = (0..<100).map(Double.init)   // ranks 2 and 97 → half-width 47.5
        let ci = Bootstrap.estimate(scores.shuffled(), seed: 1)
        XCTAssertEqual(ci.mean, 49.5)
        XCTAssertEqual(ci.halfWidth, 47.5)
    }

    func testDeterministicAndSensible() {
        let bleu = BLEU()
        let co = Golden.corpora[0]
        let hyps = co["hyps"] as! [String], refs = (co["ref_streams"] as! [[String]]).map { $0.map { Optional($0) } }
        let stats = bleu.corpusStatistics(hypotheses: hyps, references: refs)
        let a = Bootstrap.bleu(stats, config: bleu, samples: 200, seed: 9)
        let b = Bootstrap.bleu(stats, config: bleu, samples: 200, seed: 9)
        let c = Bootstrap.bleu(stats, config: bleu, samples: 200, seed: 10)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.mean, c.mean)
        let actual = bleu.score(stats.reduce(BLEUStatistics(), +)).score
        XCTAssertLessThan(abs(a.mean - actual), 2 * a.halfWidth + 1)
        XCTAssertGreaterThan(a.halfWidth, 0)
    }

    func testPairedTest() {
        var rng = SplitMix64(seed: 5)
        let base = (0..<400).map { _ in Double(rng.next(below: 1000)) / 1000 }
        let better = base.map { min(1, $0 + 0.2) }
        let r = Bootstrap.pairedMean(baseline: base, system: better, samples: 300, seed: 1)
        XCTAssertLessThan(r.pValue, 0.01)
        XCTAssertGreaterThan(r.systemScore, r.baselineScore)
        let noisy = base.enumerated().map { $0.offset % 2 == 0 ? $0.element + 0.01 : $0.element - 0.01 }
        XCTAssertGreaterThan(Bootstrap.pairedMean(baseline: base, system: noisy, samples: 300, seed: 1).pValue, 0.05)
    }
}
