import Foundation
import XCTest
@testable import Metrics

/// The chrF, chrF++ and TER golden vectors of sacreBLEU 2.6.0 (Resources/golden-chrf-ter.json).
enum GoldenCHRFTER {
    static let json: [String: Any] = {
        let url = Bundle.module.url(forResource: "golden-chrf-ter", withExtension: "json", subdirectory: "Resources")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()
    static var cases: [[String: Any]] { json["cases"] as! [[String: Any]] }
    static var corpora: [[String: Any]] { json["corpora"] as! [[String: Any]] }
    static var configs: [String: [String: [String: Any]]] { json["configs"] as! [String: [String: [String: Any]]] }

    /// The chrF configuration of a variant's constructor arguments.
    static func chrf(_ args: [String: Any]) -> CHRF {
        CHRF(charOrder: (args["char_order"] as? Int) ?? 6, wordOrder: (args["word_order"] as? Int) ?? 0,
             beta: (args["beta"] as? Int) ?? 2, lowercase: (args["lowercase"] as? Bool) ?? false,
             whitespace: (args["whitespace"] as? Bool) ?? false, epsSmoothing: (args["eps_smoothing"] as? Bool) ?? false)
    }

    /// The TER configuration of a variant's constructor arguments.
    static func ter(_ args: [String: Any]) -> TER {
        TER(normalized: (args["normalized"] as? Bool) ?? false, noPunct: (args["no_punct"] as? Bool) ?? false,
            asianSupport: (args["asian_support"] as? Bool) ?? false, caseSensitive: (args["case_sensitive"] as? Bool) ?? false)
    }
}

/// Every chrF, chrF++ and TER figure of golden-chrf-ter.json, to a relative 1e-9: sentence scores,
/// their printed strings and statistics for every case and variant, and corpus scores, strings
/// and signatures for the three corpora.
final class CHRFTERGoldenTests: XCTestCase {
    func testGoldenFileIsBundled() {
        XCTAssertEqual((GoldenCHRFTER.json["versions"] as? [String: String])?["sacrebleu"], "2.6.0")
        XCTAssertEqual(GoldenCHRFTER.cases.count, 46)
        XCTAssertEqual(GoldenCHRFTER.configs["chrf"]?.count, 5)
        XCTAssertEqual(GoldenCHRFTER.configs["ter"]?.count, 5)
    }

    func testCHRFSentenceScoresStatisticsAndStrings() {
        var checked = 0
        for c in GoldenCHRFTER.cases {
            let id = c["id"] as! String
            let hyp = c["hyp"] as! String, refs = c["refs"] as! [String]
            for (variant, args) in GoldenCHRFTER.configs["chrf"]! {
                let g = (c["chrf"] as! [String: Any])[variant] as! [String: Any]
                let chrf = GoldenCHRFTER.chrf(args)
                let stats = chrf.statistics(hypothesis: hyp, references: refs)
                XCTAssertEqual(stats.values, doubles(g["stats"]).map { Int($0) }, "\(id) \(variant) stats")
                let s = chrf.score(stats)
                assertClose(s.score, number(g["score"]), "\(id) \(variant) score")
                XCTAssertEqual(s.formatted(), g["str"] as! String, "\(id) \(variant) str")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 46 * 5)
    }

    func testTERSentenceScoresStatisticsAndStrings() {
        var checked = 0
        for c in GoldenCHRFTER.cases {
            let id = c["id"] as! String
            let hyp = c["hyp"] as! String, refs = c["refs"] as! [String]
            let variants = c["ter"] as! [String: [String: Any]]
            for (variant, g) in variants {
                let ter = GoldenCHRFTER.ter(GoldenCHRFTER.configs["ter"]![variant]!)
                let stats = ter.statistics(hypothesis: hyp, references: refs)
                XCTAssertEqual(Double(stats.edits), number(g["edits"]), "\(id) \(variant) edits")
                assertClose(stats.referenceLength, number(g["ref_length"]), "\(id) \(variant) ref_length")
                let s = ter.score(stats)
                assertClose(s.score, number(g["score"]), "\(id) \(variant) score")
                XCTAssertEqual(s.formatted(), g["str"] as! String, "\(id) \(variant) str")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 45 * 5, "every case but the 1200-word line has TER goldens")
    }

    private func streams(_ co: [String: Any]) -> [[String?]] {
        (co["refs"] as! [[Any]]).map { $0.map { $0 as? String } }
    }

    func testCorpusScoresStringsAndSignatures() {
        var checked = 0
        for co in GoldenCHRFTER.corpora {
            let id = co["id"] as! String
            let hyps = co["hyps"] as! [String]
            let refs = streams(co)
            let nrefs: ReferenceCount = id == "varref" ? .variable : .fixed(refs.count)
            for (variant, args) in GoldenCHRFTER.configs["chrf"]! {
                let g = (co["chrf"] as! [String: Any])[variant] as! [String: Any]
                let chrf = GoldenCHRFTER.chrf(args)
                let s = chrf.corpusScore(hypotheses: hyps, references: refs)
                assertClose(s.score, number(g["score"]), "\(id) \(variant) corpus score")
                XCTAssertEqual(s.formatted(), g["str"] as! String, "\(id) \(variant) corpus str")
                XCTAssertEqual(chrf.signature(references: nrefs, version: "2.6.0"), g["signature"] as! String, "\(id) \(variant) signature")
                checked += 1
            }
            let keep = (co["ter_segments"] as! [Int])
            let terHyps = keep.map { hyps[$0] }
            let terRefs = refs.map { stream in keep.map { stream[$0] } }
            for (variant, args) in GoldenCHRFTER.configs["ter"]! {
                let g = (co["ter"] as! [String: Any])[variant] as! [String: Any]
                let ter = GoldenCHRFTER.ter(args)
                let s = ter.corpusScore(hypotheses: terHyps, references: terRefs)
                assertClose(s.score, number(g["score"]), "\(id) \(variant) corpus score")
                XCTAssertEqual(s.formatted(), g["str"] as! String, "\(id) \(variant) corpus str")
                XCTAssertEqual(ter.signature(references: nrefs, version: "2.6.0"), g["signature"] as! String, "\(id) \(variant) signature")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 3 * 10)
    }

    func testShortSignaturesAndBootstrapFields() {
        XCTAssertEqual(CHRF(wordOrder: 2).signature(references: .fixed(1), version: "2.6.0", short: true),
                       "#:1|c:mixed|e:yes|nc:6|nw:2|s:no|v:2.6.0")
        XCTAssertEqual(TER().signature(references: .fixed(2), bootstrap: (1000, 12345), version: "2.6.0"),
                       "nrefs:2|bs:1000|seed:12345|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0")
        XCTAssertEqual(TER(caseSensitive: true).signature(references: .variable, version: "2.6.0", short: true),
                       "#:var|c:mixed|t:tercom|nr:no|pn:yes|as:no|v:2.6.0")
    }
}

/// Bootstrap intervals and paired tests of chrF and TER over per-segment statistics.
final class CHRFTERBootstrapTests: XCTestCase {
    private func corpus() -> (hyps: [String], refs: [[String?]]) {
        let co = GoldenCHRFTER.corpora[0]
        return (co["hyps"] as! [String], (co["refs"] as! [[Any]]).map { $0.map { $0 as? String } })
    }

    func testIntervalsAreDeterministicAndAroundTheScore() {
        let (hyps, refs) = corpus()
        let chrf = CHRF(wordOrder: 2), ter = TER()
        let cs = chrf.corpusStatistics(hypotheses: hyps, references: refs)
        let ts = ter.corpusStatistics(hypotheses: hyps, references: refs)
        let a = Bootstrap.chrf(cs, config: chrf, samples: 200, seed: 3)
        XCTAssertEqual(a, Bootstrap.chrf(cs, config: chrf, samples: 200, seed: 3))
        XCTAssertNotEqual(a.mean, Bootstrap.chrf(cs, config: chrf, samples: 200, seed: 4).mean)
        let chrfActual = chrf.score(cs.reduce(CHRFStatistics(orders: chrf.order), +)).score
        XCTAssertGreaterThan(a.halfWidth, 0)
        XCTAssertLessThan(abs(a.mean - chrfActual), 2 * a.halfWidth + 1)
        let t = Bootstrap.ter(ts, config: ter, samples: 200, seed: 3)
        let terActual = ter.score(ts.reduce(TERStatistics(), +)).score
        XCTAssertGreaterThan(t.halfWidth, 0)
        XCTAssertLessThan(abs(t.mean - terActual), 2 * t.halfWidth + 1)
        // One segment repeated: every resample is the same corpus.
        let same = Bootstrap.ter(Array(repeating: ts[1], count: 20), config: ter, samples: 50, seed: 1)
        XCTAssertEqual(same.halfWidth, 0)
        XCTAssertEqual(same.mean, ter.score(ts[1]).score, accuracy: 1e-9)
    }

    func testPairedTestSeesAClearDifferenceAndComparesASystemWithItself() {
        let (hyps, refs) = corpus()
        let chrf = CHRF(), ter = TER()
        let good = chrf.corpusStatistics(hypotheses: hyps, references: refs)
        let bad = chrf.corpusStatistics(hypotheses: hyps.map { String($0.reversed()) }, references: refs)
        let p = Bootstrap.pairedCHRF(baseline: bad, system: good, config: chrf, samples: 300, seed: 1)
        XCTAssertGreaterThan(p.systemScore, p.baselineScore)
        XCTAssertLessThan(p.pValue, 0.05)
        let ts = ter.corpusStatistics(hypotheses: hyps, references: refs)
        let itself = Bootstrap.pairedTER(baseline: ts, system: ts, config: ter, samples: 100, seed: 1)
        // sacreBLEU's p = (#{d_i − mean(d) > |s − b|} + 1) / (N + 1): all differences are 0, so 1 / 101.
        XCTAssertEqual(itself.pValue, 1.0 / 101)
        XCTAssertEqual(itself.baselineScore, itself.systemScore)
    }
}
