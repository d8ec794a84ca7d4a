import XCTest
@testable import Metrics

/// The lean path of BLEU and ROUGE (``LeanSegment``: sorting instead of interning and hashing,
/// taken by huge segments) against the fast path, on seeded random segments with the
/// threshold forced low: every statistic must be identical. A failure names the trial and the
/// segment.
final class LeanPathTests: XCTestCase {
    /// Words for texts with much repetition (a few words) or little (many).
    static let words: [String] = ["the", "cat", "sat", "on", "mat", "running", "runs", "ran", "caresses",
                                  "ponies", "généralement", "Über", "straße", "中文", "東京", "😀", "A.", "U.S.",
                                  "3.14", "1,000", "x-y", "don't", "(a)", "&quot;", "Σ", "ΣΑΣ"]

    /// A random segment text: words from a vocabulary of 1 to 200 types (so that tokens repeat a
    /// lot or hardly at all), mixed with `FastPathTests`' random pieces; sometimes empty.
    static func randomText(_ rng: inout SplitMix64, vocabulary: Int) -> String {
        if rng.next(below: 12) == 0 { return "" }
        var s = ""
        let length = rng.next(below: 4) == 0 ? rng.next(below: 300) : rng.next(below: 40)
        for _ in 0..<length {
            switch rng.next(below: 8) {
            case 0: s += FastPathTests.randomText(&rng)
            case 1: s += words[rng.next(below: words.count)]
            default:
                let w = rng.next(below: vocabulary)
                s += w < words.count ? words[w] : "w\(w)"
            }
            s += rng.next(below: 10) == 0 ? "  " : " "
        }
        return s
    }

    /// One random segment: 1 to 3 references and a hypothesis, often sharing a vocabulary.
    static func randomSegment(_ rng: inout SplitMix64) -> (hyp: String, refs: [String]) {
        let vocabulary = [1, 2, 5, 30, 200][rng.next(below: 5)]
        let refs = (0..<(1 + rng.next(below: 3))).map { _ in randomText(&rng, vocabulary: vocabulary) }
        // Sometimes the hypothesis is a reference, or a reference with a few words changed.
        switch rng.next(below: 4) {
        case 0: return (refs[0], refs)
        case 1:
            var w = refs[0].split(separator: " ").map(String.init)
            for _ in 0..<rng.next(below: 4) where !w.isEmpty { w[rng.next(below: w.count)] = "zz" }
            return (w.joined(separator: " "), refs)
        default: return (randomText(&rng, vocabulary: vocabulary), refs)
        }
    }

    func testLeanBLEUEqualsTheFastPath() {
        var rng = SplitMix64(seed: 0x1EA4)
        for tokenizer in [BLEUTokenizer.thirteenA, .intl, .char, .none] {
            for lowercase in [false, true] {
                let bleu = BLEU(tokenizer: tokenizer, lowercase: lowercase)
                let fast = BLEUSegmentScorer(bleu), lean = BLEUSegmentScorer(bleu), mid = BLEUSegmentScorer(bleu)
                fast.leanThreshold = .max
                lean.leanThreshold = 0
                for trial in 0..<300 {
                    let (hyp, refs) = Self.randomSegment(&rng)
                    // `mid` switches within the segment: after some references, or at the hypothesis.
                    mid.leanThreshold = refs.prefix(rng.next(below: refs.count + 1)).reduce(0) { $0 + $1.utf8.count }
                    var got: [BLEUStatistics] = []
                    for s in [fast, lean, mid] {
                        s.beginSegment()
                        for r in refs { s.addReference(r) }
                        got.append(s.finishSegment(hypothesis: hyp))
                    }
                    let what = "\(tokenizer) lowercase \(lowercase) trial \(trial): hyp \(hyp.debugDescription) refs \(refs.debugDescription)"
                    XCTAssertEqual(got[1], got[0], "lean: " + what)
                    XCTAssertEqual(fast.leanSegments, 0)
                    XCTAssertEqual(got[2], got[0], "switch mid-segment: " + what)
                    if got[1] != got[0] || got[2] != got[0] { return }
                }
                // Most segments exceed the (tiny) budgets and go lean; some stay fast.
                XCTAssertGreaterThan(lean.leanSegments, 150, "\(tokenizer)")
                XCTAssertGreaterThan(mid.leanSegments, 50, "\(tokenizer)")
            }
        }
    }

    func testBLEUSwitchesWhenTheNGramsOutgrowTheirBudget() {
        // A long reference of few words in random order: the interner stays within its budget,
        // the n-grams (over 65,536 distinct) do not, so the index gives up mid-reference and the
        // segment goes lean. The statistics must not change.
        var rng = SplitMix64(seed: 0xB4D)
        let vocabulary = (0..<100).map { "v\($0)" }
        func text(_ n: Int) -> String { (0..<n).map { _ in vocabulary[rng.next(below: 100)] }.joined(separator: " ") }
        let refs = [text(200), text(100_000)], hyp = text(100_000)
        let fast = BLEUSegmentScorer(BLEU()), budgeted = BLEUSegmentScorer(BLEU())
        fast.leanThreshold = .max
        // The first reference stays ordinary; with the second the segment is huge (budgets on).
        budgeted.leanThreshold = refs[0].utf8.count
        var got: [BLEUStatistics] = []
        for s in [fast, budgeted] {
            s.beginSegment()
            for r in refs { s.addReference(r) }
            got.append(s.finishSegment(hypothesis: hyp))
            // The same scorer afterwards, on an ordinary segment, on the fast path again.
            s.beginSegment()
            s.addReference("the cat sat on the mat")
            got.append(s.finishSegment(hypothesis: "the cat sat on a mat"))
        }
        XCTAssertEqual(got[2], got[0])
        XCTAssertEqual(got[3], got[1])
        XCTAssertGreaterThan(got[0].matches[3], 0)
        XCTAssertEqual(fast.leanSegments, 0)
        XCTAssertEqual(budgeted.leanSegments, 1, "the n-gram budget should have sent the segment down the lean path")
    }

    func testLeanROUGEEqualsTheFastPath() {
        var rng = SplitMix64(seed: 0x1EA5)
        for tokenizer in ROUGETokenizer.allCases {
            for stem in [false, true] {
                let config = ROUGE(types: [.rouge1, .rouge2, .rougeL], useStemmer: stem, tokenizer: tokenizer)
                let fast = ROUGESegmentScorer(config), lean = ROUGESegmentScorer(config), mid = ROUGESegmentScorer(config)
                fast.leanThreshold = .max
                lean.leanThreshold = 0
                for trial in 0..<300 {
                    let (hyp, refs) = Self.randomSegment(&rng)
                    mid.leanThreshold = refs.prefix(rng.next(below: refs.count + 1)).reduce(0) { $0 + $1.utf8.count }
                    var got: [ROUGESegmentResult] = []
                    for s in [fast, lean, mid] {
                        s.beginSegment()
                        for r in refs { s.addReference(r) }
                        got.append(s.finishSegment(hypothesis: hyp))
                    }
                    let what = "\(tokenizer) stem \(stem) trial \(trial): hyp \(hyp.debugDescription) refs \(refs.debugDescription)"
                    XCTAssertEqual(got[1].perReferenceScores, got[0].perReferenceScores, "lean: " + what)
                    XCTAssertEqual(got[1].bestScores, got[0].bestScores, "lean: " + what)
                    XCTAssertEqual(got[2].perReferenceScores, got[0].perReferenceScores, "switch mid-segment: " + what)
                    if got[1].perReferenceScores != got[0].perReferenceScores
                        || got[2].perReferenceScores != got[0].perReferenceScores { return }
                }
                XCTAssertEqual(fast.leanSegments, 0)
                XCTAssertGreaterThan(lean.leanSegments, 250, "\(tokenizer)")
                XCTAssertGreaterThan(mid.leanSegments, 100, "\(tokenizer)")
            }
        }
    }

    func testROUGELsumStaysOnTheFastPath() {
        // rougeLsum's sentence-level LCS has no lean path: the threshold must not change it.
        let config = ROUGE(types: [.rouge1, .rougeLsum])
        let fast = ROUGESegmentScorer(config), low = ROUGESegmentScorer(config)
        low.leanThreshold = 0
        for s in [fast, low] {
            s.beginSegment()
            s.addReference("the cat sat\non the mat")
        }
        XCTAssertEqual(low.finishSegment(hypothesis: "the cat\nsat on a mat").bestScores,
                       fast.finishSegment(hypothesis: "the cat\nsat on a mat").bestScores)
        XCTAssertEqual(low.leanSegments, 0)
    }

    func testLeanLCSEqualsTheTableOnBothAlgorithms() {
        // Few distinct ids make many matching pairs (the bit-parallel branch), many make few
        // (Hunt-Szymanski); both against rouge-score's O(m·n) table.
        var rng = SplitMix64(seed: 0x1C5)
        for trial in 0..<400 {
            let v = [1, 2, 3, 10, 1000][rng.next(below: 5)]
            let ref = (0..<rng.next(below: 200)).map { _ in UInt32(rng.next(below: v)) }
            let hyp = (0..<rng.next(below: 200)).map { _ in UInt32(rng.next(below: v)) }
            let lean = LeanSegment()
            for side in [ref, hyp] {
                lean.beginSide()
                for t in side { withUnsafeBytes(of: t) { lean.append(UnsafeBufferPointer(start: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 4)) } }
            }
            lean.assignIDs()
            let table = lcsTable(ref, hyp)
            XCTAssertEqual(lean.lcs(hyp: 1, ref: 0), Int(table[ref.count][hyp.count]), "trial \(trial): v \(v) ref \(ref) hyp \(hyp)")
        }
    }

    func testLeanIDsAreDenseAndEqualIffTheBytesAre() {
        let tokens = ["b", "a", "", "ab", "b", "é", "e\u{301}", "a", "ab"]
        let lean = LeanSegment()
        lean.beginSide()
        for t in tokens { var t = t; t.withUTF8 { lean.append($0) } }
        lean.assignIDs()
        XCTAssertEqual(lean.distinct, 6)
        let ids = lean.withIDs(side: 0) { Array($0) }
        for i in tokens.indices {
            for j in tokens.indices {
                XCTAssertEqual(ids[i] == ids[j], Array(tokens[i].utf8) == Array(tokens[j].utf8), "\(tokens[i]) \(tokens[j])")
            }
        }
        XCTAssertEqual(Set(ids), Set(0..<6))
    }
}
