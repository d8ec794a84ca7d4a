import Foundation
import XCTest
@testable import Metrics

/// chrF and TER against sacreBLEU 2.6.0 on 300 random cases (Resources/sacrebleu-random-chrf-ter.json,
/// made by scripts/gen_chrf_ter_random.py): block-shuffled references that exercise TER's shift
/// search, six TER and four chrF variants, and three long lines (300–1000 words) for TER.
final class CHRFTERRandomTests: XCTestCase {
    private static let json: [String: Any] = {
        let url = Bundle.module.url(forResource: "sacrebleu-random-chrf-ter", withExtension: "json", subdirectory: "Resources")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    func testRandomCasesMatchSacreBLEU() {
        let configs = Self.json["configs"] as! [String: [String: Any]]
        let cconfigs = Self.json["cconfigs"] as! [String: [String: Any]]
        let cases = Self.json["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 300)
        var checked = 0
        for (k, c) in cases.enumerated() {
            let hyp = c["hyp"] as! String, refs = c["refs"] as! [String]
            for (name, g) in c["ter"] as! [String: [Any]] {
                let ter = GoldenCHRFTER.ter(configs[name]!)
                let st = ter.statistics(hypothesis: hyp, references: refs)
                XCTAssertEqual(Double(st.edits), number(g[0]), "case \(k) \(name) edits")
                assertClose(st.referenceLength, number(g[1]), "case \(k) \(name) ref_length")
                assertClose(ter.score(st).score, number(g[2]), "case \(k) \(name) score")
                checked += 1
            }
            for (name, g) in c["chrf"] as! [String: [Any]] {
                let chrf = GoldenCHRFTER.chrf(cconfigs[name]!)
                let st = chrf.statistics(hypothesis: hyp, references: refs)
                XCTAssertEqual(st.values, doubles(g[0]).map { Int($0) }, "case \(k) \(name) stats")
                assertClose(chrf.score(st).score, number(g[1]), "case \(k) \(name) score")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 300 * 10)
    }

    func testLongLinesMatchSacreBLEU() {
        let long = Self.json["long"] as! [[String: Any]]
        XCTAssertEqual(long.count, 3)
        for l in long {
            let st = TER().statistics(hypothesis: l["hyp"] as! String, references: l["refs"] as! [String])
            XCTAssertEqual(Double(st.edits), number(l["edits"]), "edits")
            XCTAssertEqual(st.referenceLength, number(l["ref_length"]), "ref_length")
        }
    }

    /// sacreBLEU tokenizes references twice (its cache preprocesses them, then extracts their words
    /// with the preprocessing again): `..5` becomes `. .5`, then `. . 5`. Values from sacreBLEU 2.6.0.
    func testReferencesAreTokenizedTwiceAsSacreBLEUDoes() {
        let ter = TER(normalized: true)
        XCTAssertEqual(ter.tokenizer("..5"), ". .5")
        XCTAssertEqual(ter.statistics(hypothesis: ". . 5", references: ["..5"]), TERStatistics(edits: 0, referenceLength: 3))
        let same = ter.sentenceScore(hypothesis: "..5", references: ["..5"])
        XCTAssertEqual(same.edits, 2)
        assertClose(same.score, 66.66666666666666, "TER of ..5 against itself")
    }

    /// The tokenizer's joined output, as sacreBLEU's `TercomTokenizer.__call__` prints it.
    func testTercomTokenizerStrings() {
        let norm = TERTokenizer(normalized: true)
        XCTAssertEqual(norm("Hello, World! It's 3.14 and 1,000 people (e.g. the U.S.A.)."),
                       "hello , world ! it 's 3.14 and 1,000 people ( e . g . the u . s . a . ) .")
        XCTAssertEqual(norm("a &amp;quot; b\n-c 1990-2000"), "a & quot ; bc 1990 - 2000")
        XCTAssertEqual(TERTokenizer(normalized: true, asianSupport: true, caseSensitive: true)("東京は、晴れ。OK"),
                       "東 京 は 、 晴 れ 。 OK")
        XCTAssertEqual(TERTokenizer(noPunct: true, asianSupport: true)("Yes, \"no\" (maybe)!。"), "yes no maybe")
    }
}
