import Foundation
import XCTest

/// `mixer-cli score` end to end on golden.json's two-reference corpus (sacreBLEU 2.6.0 and
/// rouge-score 0.1.2 numbers), and its errors.
final class ScoreCommandTests: XCTestCase {
    private var dir: URL!

    private struct Corpus { var hyps: [String]; var refs: [[String]]; var bleu: [String: Any]; var rougeMeanF: [String: Double] }

    private func golden(_ name: String) throws -> Corpus {
        let url = CLI.repositoryRoot.appendingPathComponent("Tests/MetricsTests/Resources/golden.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let co = (json["corpora"] as! [[String: Any]]).first { $0["name"] as! String == name }!
        return Corpus(hyps: co["hyps"] as! [String], refs: co["ref_streams"] as! [[String]],
                      bleu: co["bleu"] as! [String: Any],
                      rougeMeanF: (co["rouge_nostem_mean_f"] as? [String: Double]) ?? [:])
    }

    private func write(_ lines: [String], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    override func setUpWithError() throws { dir = try CLI.temporaryDirectory(self) }

    private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(a), abs(b)) || abs(a - b) < 1e-12 }

    func testCorpusBLEUAndROUGEJSONMatchGolden() throws {
        let c = try golden("2ref")
        let hyp = try write(c.hyps, "hyp.txt")
        let r0 = try write(c.refs[0], "r0.txt"), r1 = try write(c.refs[1], "r1.txt")
        let r = try CLI.run(["score", hyp, "--ref", r0, "--ref", r1, "--metrics", "bleu,rouge1", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: Any]
        let bleu = obj["bleu"] as! [String: Any]
        let g = c.bleu["exp|eff=no"] as! [String: Any]
        XCTAssertTrue(close((bleu["score"] as! NSNumber).doubleValue, (g["score"] as! NSNumber).doubleValue))
        XCTAssertEqual(bleu["counts"] as! [Int], g["counts"] as! [Int])
        XCTAssertEqual(bleu["totals"] as! [Int], g["totals"] as! [Int])
        XCTAssertEqual(bleu["sys_len"] as! Int, 1214)
        XCTAssertEqual(bleu["ref_len"] as! Int, 1287)
        XCTAssertTrue(close((bleu["bp"] as! NSNumber).doubleValue, (g["bp"] as! NSNumber).doubleValue))
        XCTAssertTrue((bleu["signature"] as! String).hasPrefix("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:mixer-"))
        let r1obj = obj["rouge1"] as! [String: Any]
        for k in ["precision", "recall", "f"] { XCTAssertNotNil(r1obj[k]) }
    }

    func testROUGEMeanAndTextOutputAndStdin() throws {
        let c = try golden("1ref")
        let ref = try write(c.refs[0], "r.txt")
        let stdin = Data((c.hyps.joined(separator: "\n") + "\n").utf8)
        let r = try CLI.run(["score", "-", "--ref", ref, "--metrics", "rouge1,rouge2,rougeL,rougeLsum", "--format", "json"], stdin: stdin)
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: Any]
        for (t, f) in c.rougeMeanF {
            XCTAssertTrue(close(((obj[t] as! [String: Any])["f"] as! NSNumber).doubleValue, f), t)
        }
        let text = try CLI.run(["score", "--ref", ref, "--metrics", "bleu,rouge1", "--rouge-tokenizer", "unicode"], stdin: stdin)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("BLEU = 54.39 95.5/72.8/46.4/33.8 (BP = 0.946 ratio = 0.948 hyp_len = 1214 ref_len = 1281)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("NOT rouge-score compatible"), text.stdout)
    }

    func testSentenceLevelConfidenceAndPaired() throws {
        let c = try golden("1ref")
        let hyp = try write(c.hyps, "hyp.txt"), ref = try write(c.refs[0], "r.txt")
        let s = try CLI.run(["score", hyp, "--ref", ref, "--sentence-level", "--format", "json"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let lines = s.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, c.hyps.count)
        var top = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        XCTAssertEqual(top.removeValue(forKey: "line") as? Int, 2)
        let first = top as! [String: [String: Any]]
        XCTAssertTrue(close((first["bleu"]!["score"] as! NSNumber).doubleValue, 39.67088290836578))
        let ci1 = try CLI.run(["score", hyp, "--ref", ref, "--confidence", "--samples", "100", "--seed", "7", "--format", "json"])
        let ci2 = try CLI.run(["score", hyp, "--ref", ref, "--confidence", "--samples", "100", "--seed", "7", "--format", "json"])
        XCTAssertEqual(ci1.status, 0, ci1.stderr)
        XCTAssertEqual(ci1.stdout, ci2.stdout)
        XCTAssertTrue(ci1.stdout.contains("\"half_width\""))
        XCTAssertTrue(ci1.stdout.contains("bs:100|seed:7"))
        let p = try CLI.run(["score", hyp, "--ref", ref, "--paired", ref, "--samples", "100"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("paired bootstrap"), p.stdout)
    }

    func testLineCountMismatchNamesBothFiles() throws {
        let hyp = try write(["a", "b", "c"], "hyp.txt"), ref = try write(["a", "b", "c", "d"], "ref.txt")
        let r = try CLI.run(["score", hyp, "--ref", ref])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
        XCTAssertTrue(r.stderr.contains("hyp.txt") && r.stderr.contains("3 lines"), r.stderr)
        XCTAssertTrue(r.stderr.contains("ref.txt") && r.stderr.contains("4 lines"), r.stderr)
    }

    func testInvalidUTF8NamesFileAndLine() throws {
        let url = dir.appendingPathComponent("bad.txt")
        try Data([0x6F, 0x6B, 0x0A, 0x61, 0xFF, 0x62, 0x0A]).write(to: url)
        let ref = try write(["ok", "ab"], "ref.txt")
        let r = try CLI.run(["score", url.path, "--ref", ref])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("bad.txt:2:") && r.stderr.contains("UTF-8"), r.stderr)
        XCTAssertEqual(try CLI.run(["score", url.path, "--ref", ref, "--replace-invalid"]).status, 0)
    }

    func testValidationErrors() throws {
        let hyp = try write(["a"], "hyp.txt")
        for args in [["score", hyp], ["score", hyp, "--ref", hyp, "--metrics", "meteor"],
                     ["score", hyp, "--ref", hyp, "--tokenize", "moses"],
                     ["score", hyp, "--ref", hyp, "--smooth", "exp", "--smooth-value", "0.2"],
                     ["score", hyp, "--ref", hyp, "--samples", "0"]] {
            let r = try CLI.run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("Error") || r.stderr.contains("error"), r.stderr)
        }
        let missing = try CLI.run(["score", hyp, "--ref", dir.appendingPathComponent("nope.txt").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("nope.txt: no such file"), missing.stderr)
        let help = try CLI.run(["score", "--help"])
        XCTAssertTrue(help.stdout.contains("mixer-cli score out.txt -r ref.txt"), help.stdout)
    }
}
