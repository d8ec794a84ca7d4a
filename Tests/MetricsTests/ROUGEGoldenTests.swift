import XCTest
@testable import Metrics

/// Every ROUGE figure of golden.json (rouge-score 0.1.2, nltk 3.10.4), to a relative 1e-9.
final class ROUGEGoldenTests: XCTestCase {
    func testTokens() {
        for c in Golden.cases {
            let id = c["id"] as! String
            let tokens = (c["rouge"] as! [String: Any])["tokens"] as! [String: [String: Any]]
            for (mode, g) in tokens {
                let r = ROUGE(useStemmer: mode == "stem")
                XCTAssertEqual(r.tokenize(c["hyp"] as! String), g["hyp"] as! [String], "\(id) \(mode) hyp")
                XCTAssertEqual((c["refs"] as! [String]).map(r.tokenize), g["refs"] as! [[String]], "\(id) \(mode) refs")
            }
        }
    }

    func testPerReferenceAndMultiScores() {
        var multiChecked = 0
        for c in Golden.cases {
            let id = c["id"] as! String
            let rouge = c["rouge"] as! [String: Any]
            for mode in ["nostem", "stem"] {
                let g = rouge[mode] as! [String: Any]
                let result = ROUGE(useStemmer: mode == "stem").score(hypothesis: c["hyp"] as! String, references: c["refs"] as! [String])
                let perRef = g["per_ref"] as! [[String: Any]]
                XCTAssertEqual(result.perReference.count, perRef.count, id)
                for (i, gr) in perRef.enumerated() {
                    for t in ROUGEType.allCases {
                        let v = doubles(gr[t.rawValue]), s = result.perReference[i][t]!
                        assertClose(s.precision, v[0], "\(id) \(mode) ref\(i) \(t) P")
                        assertClose(s.recall, v[1], "\(id) \(mode) ref\(i) \(t) R")
                        assertClose(s.f, v[2], "\(id) \(mode) ref\(i) \(t) F")
                    }
                }
                if let multi = g["multi"] as? [String: Any] {
                    multiChecked += 1
                    for t in ROUGEType.allCases {
                        let v = doubles(multi[t.rawValue]), s = result.best[t]!
                        assertClose(s.precision, v[0], "\(id) \(mode) multi \(t) P")
                        assertClose(s.recall, v[1], "\(id) \(mode) multi \(t) R")
                        assertClose(s.f, v[2], "\(id) \(mode) multi \(t) F")
                    }
                }
            }
        }
        XCTAssertGreaterThan(multiChecked, 0)
    }

    func testCorpusMeanF() {
        let co = Golden.corpora.first { $0["name"] as! String == "1ref" }!
        let hyps = co["hyps"] as! [String]
        let refs = (co["ref_streams"] as! [[String]])[0]
        let g = co["rouge_nostem_mean_f"] as! [String: Any]
        let rouge = ROUGE()
        for t in ROUGEType.allCases {
            let mean = zip(hyps, refs).map { rouge.score(hypothesis: $0, reference: $1)[t]!.f }.reduce(0, +) / Double(hyps.count)
            assertClose(mean, number(g[t.rawValue]), "1ref mean \(t)")
        }
    }

    func testPorterStemmerOnNLTKExamples() {
        // nltk 3.10.4 PorterStemmer().stem(w), NLTK_EXTENSIONS mode.
        let cases = ["dies": "die", "fly": "fli", "running": "run", "runners": "runner", "races": "race",
                     "quickly": "quickli", "caresses": "caress", "ponies": "poni", "ties": "tie",
                     "agreed": "agre", "hopping": "hop", "hoping": "hope", "relational": "relat",
                     "generalization": "gener", "dying": "die", "skies": "sky", "happy": "happi",
                     "analogi": "analog", "formalli": "formal"]
        for (w, s) in cases { XCTAssertEqual(PorterStemmer.stem(w), s, w) }
    }

    func testBitParallelLCSMatchesTheTable() {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<200 {
            let m = Int(rng.next() % 150), n = Int(rng.next() % 150)
            let alphabet = UInt64(1 + trial % 12)
            let a = (0..<m).map { _ in UInt32(rng.next() % alphabet) }
            let b = (0..<n).map { _ in UInt32(rng.next() % alphabet) }
            let index = NGramIndex(maxOrder: 1)
            index.addReference(a)
            let fast = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { LCSMasks(ref: ap, index: index).lcs($0, index: index) } }
            let table = lcsTable(a, b)
            XCTAssertEqual(fast, Int(table[m][n]), "trial \(trial) m=\(m) n=\(n)")
        }
    }

    func testUnicodeTokenizerIsLabelledAndSegmentsCJK() {
        let r = ROUGE(tokenizer: .unicode)
        XCTAssertEqual(r.tokenize("Le CAFÉ était très bon à Zürich."), ["le", "café", "était", "très", "bon", "à", "zürich"])
        XCTAssertEqual(r.tokenize("我喜欢吃苹果。"), ["我", "喜", "欢", "吃", "苹", "果"])
        XCTAssertEqual(ROUGE().tokenize("我喜欢吃苹果。"), [])
        XCTAssertTrue(ROUGETokenizer.unicode.label.contains("NOT rouge-score compatible"))
        let s = r.score(hypothesis: "我喜欢苹果", reference: "我喜欢吃苹果")
        assertClose(s[.rouge1]!.recall, 5.0 / 6.0, "cjk recall")
    }
}

final class PorterStemmerTableTests: XCTestCase {
    /// 3,000+ words of the bundled corpus and edge cases, stemmed by nltk 3.10.4.
    func testAgreesWithNLTKOnTheCorpusVocabulary() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "porter-nltk", withExtension: "tsv", subdirectory: "Resources"))
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertGreaterThan(lines.count, 3000)
        var wrong = 0
        for l in lines {
            let parts = l.split(separator: "\t").map(String.init)
            if PorterStemmer.stem(parts[0]) != parts[1] { wrong += 1; XCTFail("\(parts[0]): \(PorterStemmer.stem(parts[0])) vs \(parts[1])") }
            if wrong > 10 { break }
        }
    }
}
