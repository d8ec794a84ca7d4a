import XCTest
@testable import Metrics

/// ``ROUGESentenceSplitter`` (ICU's sentence rules for rougeLsum, `--split-summaries`) on
/// examples, and ``Bootstrap/rougeAggregate(_:samples:seed:level:)`` (rouge-score's
/// BootstrapAggregator) against numpy's percentiles and its own invariants.
final class ROUGESentenceSplitTests: XCTestCase {
    func testICUSentenceBreaks() {
        let s = ROUGESentenceSplitter()
        let cases: [(String, [String])] = [
            ("The cat sat. The dog ran.", ["The cat sat. ", "The dog ran."]),
            ("Mr. Smith went to Washington. He left.", ["Mr. Smith went to Washington. ", "He left."]),
            // "U.S." is not in ICU's suppression list: a capitalised word after it starts a sentence.
            ("The U.S. Army is big. It grew.", ["The U.S. ", "Army is big. ", "It grew."]),
            // Neither "Dr." nor an initial is in ICU's list.
            ("Dr. Jones is here. Go.", ["Dr. ", "Jones is here. ", "Go."]),
            ("We met J. Smith today.", ["We met J. ", "Smith today."]),
            ("It costs 3.5 dollars. Cheap!", ["It costs 3.5 dollars. ", "Cheap!"]),
            ("Use a tool, e.g. the saw. Then stop.", ["Use a tool, e.g. the saw. ", "Then stop."]),
            ("Is it? yes it is.", ["Is it? ", "yes it is."]),
            ("line one\nline two", ["line one\n", "line two"]),
            ("He said \"Stop.\" Then he left.", ["He said \"Stop.\" ", "Then he left."]),
            ("no punctuation at all", ["no punctuation at all"]),
            ("", []),
            ("   ", []),
        ]
        for (text, expected) in cases { XCTAssertEqual(s.sentences(text), expected, text) }
    }

    /// rougeLsum with the splitter equals rougeLsum on the splitter's sentences joined by
    /// newlines (rouge-score's own path), and the other types ignore the splitter.
    func testSplitSentencesEqualsNewlineJoinedSentences() {
        let s = ROUGESentenceSplitter()
        let words = ["the", "cat", "sat", "on", "a", "mat", "Dog", "ran", "Mr.", "3.5", "e.g.", "It", "fast"]
        let ends = [". ", "? ", "! ", " ", " ", " "]
        var rng = SplitMix64(seed: 7)
        func text() -> String {
            (0..<(1 + rng.next(below: 25))).map { _ in words[rng.next(below: words.count)] + ends[rng.next(below: ends.count)] }.joined()
        }
        let split = ROUGE(useStemmer: true, splitSentences: true), plain = ROUGE(useStemmer: true)
        var differs = 0
        for seed in 0..<300 {
            let h = text(), r = (0..<(1 + seed % 2)).map { _ in text() }
            let joined = { (t: String) in s.sentences(t).joined(separator: "\n") }
            let a = split.score(hypothesis: h, references: r).best
            let b = plain.score(hypothesis: joined(h), references: r.map(joined)).best
            let c = plain.score(hypothesis: h, references: r).best
            XCTAssertEqual(a[.rougeLsum], b[.rougeLsum], "seed \(seed): \(h) | \(r)")
            for t in [ROUGEType.rouge1, .rouge2, .rougeL] { XCTAssertEqual(a[t], c[t], "seed \(seed) \(t)") }
            if a[.rougeLsum] != c[.rougeLsum] { differs += 1 }
        }
        XCTAssertGreaterThan(differs, 50, "splitting must change rougeLsum on multi-sentence texts")
    }

    /// numpy's `np.percentile(v, [2.5, 50, 97.5])` (linear), values printed by numpy 1.26.
    func testPercentileMatchesNumpy() {
        let cases: [([Double], [Double])] = [
            ([0.3, 0.1, 0.7, 0.25, 0.9, 0.55, 0.05], [0.0575, 0.3, 0.8699999999999999]),
            ([1, 2, 3, 4], [1.075, 2.5, 3.925]),
            ([5], [5, 5, 5]),
        ]
        for (v, expected) in cases {
            let got = [2.5, 50, 97.5].map { Bootstrap.percentile(sorted: v.sorted(), $0) }
            for (g, e) in zip(got, expected) { XCTAssertEqual(g, e, accuracy: 1e-15, "\(v)") }
        }
    }

    /// rouge-score's aggregate: low ≤ mid ≤ high for P, R and F; the interval holds the mean;
    /// the same seed gives the same figures, another seed others; mid.f comes from the same
    /// resamples as ``Bootstrap/mean(_:samples:seed:)``; constant scores give a point.
    func testROUGEAggregateInvariants() {
        var rng = SplitMix64(seed: 11)
        for seed in 0..<20 {
            let n = 1 + rng.next(below: 60)
            let scores = (0..<n).map { _ in ROUGEScore(precision: Double(rng.next(below: 1001)) / 1000, recall: Double(rng.next(below: 1001)) / 1000) }
            let a = Bootstrap.rougeAggregate(scores, samples: 500, seed: UInt64(seed))
            let mean = scores.reduce(0.0) { $0 + $1.f } / Double(n)
            for k in [\ROUGEScore.precision, \ROUGEScore.recall, \ROUGEScore.f] {
                XCTAssertLessThanOrEqual(a.low[keyPath: k], a.mid[keyPath: k], "seed \(seed)")
                XCTAssertLessThanOrEqual(a.mid[keyPath: k], a.high[keyPath: k], "seed \(seed)")
            }
            XCTAssertLessThanOrEqual(a.low.f, mean, "seed \(seed)")
            XCTAssertGreaterThanOrEqual(a.high.f, mean, "seed \(seed)")
            XCTAssertEqual(a, Bootstrap.rougeAggregate(scores, samples: 500, seed: UInt64(seed)), "seed \(seed)")
            if n > 5 { XCTAssertNotEqual(a, Bootstrap.rougeAggregate(scores, samples: 500, seed: UInt64(seed) + 100), "seed \(seed)") }
            let ci = Bootstrap.mean(scores.map(\.f), samples: 500, seed: UInt64(seed))
            XCTAssertLessThanOrEqual(abs(a.mid.f - ci.mean), ci.halfWidth + 1e-12, "seed \(seed)")
        }
        let flat = Array(repeating: ROUGEScore(precision: 0.5, recall: 0.25), count: 9)
        let p = Bootstrap.rougeAggregate(flat, samples: 50, seed: 1)
        XCTAssertEqual(p.low.f, flat[0].f, accuracy: 1e-15)
        XCTAssertEqual(p.high.precision, 0.5, accuracy: 1e-15)
        XCTAssertEqual(Bootstrap.rougeAggregate([], samples: 10, seed: 1), ROUGEAggregate(low: .zero, mid: .zero, high: .zero))
    }
}
