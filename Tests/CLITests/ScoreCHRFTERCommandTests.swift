import Foundation
import XCTest

/// `mixer-cli score` with chrF, chrF++ and TER end to end on golden-chrf-ter.json (sacreBLEU
/// 2.6.0's numbers), sacreBLEU's command line and output formats, several systems, and errors.
final class ScoreCHRFTERCommandTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try CLI.temporaryDirectory(self) }

    private static let golden: [String: Any] = {
        let url = CLI.repositoryRoot.appendingPathComponent("Tests/MetricsTests/Resources/golden-chrf-ter.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    private func corpus(_ id: String) -> [String: Any] {
        (Self.golden["corpora"] as! [[String: Any]]).first { $0["id"] as! String == id }!
    }

    private func write(_ lines: [String], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(a), abs(b)) || abs(a - b) < 1e-12 }

    private func goldenScore(_ co: [String: Any], _ metric: String, _ variant: String) -> Double {
        (((co[metric] as! [String: Any])[variant] as! [String: Any])["score"] as! NSNumber).doubleValue
    }

    /// The hypothesis and reference files of a golden corpus (TER: only its `ter_segments`).
    private func files(_ co: [String: Any], ter: Bool) throws -> (hyp: String, refs: [String]) {
        var hyps = co["hyps"] as! [String]
        var refs = (co["refs"] as! [[String]])
        if ter {
            let keep = co["ter_segments"] as! [Int]
            hyps = keep.map { hyps[$0] }
            refs = refs.map { r in keep.map { r[$0] } }
        }
        let tag = ter ? "ter" : "chrf"
        return (try write(hyps, "hyp-\(tag).txt"), try refs.enumerated().map { try write($1, "ref\($0)-\(tag).txt") })
    }

    func testCorpusCHRFAndTERJSONMatchGolden() throws {
        for id in ["1ref", "2ref"] {
            let co = corpus(id)
            let c = try files(co, ter: false)
            let refArgs = c.refs.flatMap { ["--ref", $0] }
            let r = try CLI.run(["score", c.hyp] + refArgs + ["--metrics", "chrf,chrf++", "--format", "json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: [String: Any]]
            XCTAssertTrue(close((obj["chrf"]!["score"] as! NSNumber).doubleValue, goldenScore(co, "chrf", "chrf")), id)
            XCTAssertTrue(close((obj["chrf++"]!["score"] as! NSNumber).doubleValue, goldenScore(co, "chrf", "chrf++")), id)
            XCTAssertEqual(obj["chrf++"]!["name"] as? String, "chrF2++")
            XCTAssertTrue((obj["chrf"]!["signature"] as! String).hasPrefix("nrefs:\(c.refs.count)|case:mixed|eff:yes|nc:6|nw:0|space:no|version:mixer-"))
            for (variant, flags) in [("chrf-lc", ["--chrf-lowercase"]), ("chrf-ws", ["--chrf-whitespace"]), ("chrf-b1", ["--chrf-beta", "1"])] {
                let v = try CLI.run(["score", c.hyp] + refArgs + ["--metrics", "chrf", "-f", "json"] + flags)
                XCTAssertEqual(v.status, 0, v.stderr)
                let o = try JSONSerialization.jsonObject(with: v.stdoutData) as! [String: [String: Any]]
                XCTAssertTrue(close((o["chrf"]!["score"] as! NSNumber).doubleValue, goldenScore(co, "chrf", variant)), "\(id) \(variant)")
            }
            let t = try files(co, ter: true)
            let terRefs = t.refs.flatMap { ["--ref", $0] }
            for (variant, flags) in [("ter", [String]()), ("ter-cased", ["--ter-case-sensitive"]), ("ter-norm", ["--ter-normalized"]),
                                     ("ter-nopunct", ["--ter-no-punct"]), ("ter-asian", ["--ter-normalized", "--ter-asian-support"])] {
                let v = try CLI.run(["score", t.hyp] + terRefs + ["--metrics", "ter", "--format", "json"] + flags)
                XCTAssertEqual(v.status, 0, v.stderr)
                let o = try JSONSerialization.jsonObject(with: v.stdoutData) as! [String: [String: Any]]
                XCTAssertTrue(close((o["ter"]!["score"] as! NSNumber).doubleValue, goldenScore(co, "ter", variant)), "\(id) \(variant)")
            }
        }
    }

    func testSentenceLevelMatchesGoldenCases() throws {
        // Single-reference cases that fit on one line.
        let cases = (Self.golden["cases"] as! [[String: Any]]).filter { c in
            let hyp = c["hyp"] as! String, refs = c["refs"] as! [String]
            return refs.count == 1 && !(hyp + refs[0]).contains("\n") && hyp == hyp.trimmingCharacters(in: .whitespaces)
                && !(c["ter"] as! [String: Any]).isEmpty
        }
        XCTAssertGreaterThan(cases.count, 30)
        let hyp = try write(cases.map { $0["hyp"] as! String }, "hyp.txt")
        let ref = try write(cases.map { ($0["refs"] as! [String])[0] }, "ref.txt")
        let r = try CLI.run(["score", hyp, "--ref", ref, "--sentence-level", "--metrics", "chrf,ter", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, cases.count)
        for (n, (c, line)) in zip(cases, lines).enumerated() {
            var top = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertEqual(top.removeValue(forKey: "line") as? Int, n + 1, "each line carries its line number")
            let obj = top as! [String: [String: Any]]
            XCTAssertTrue(close((obj["chrf"]!["score"] as! NSNumber).doubleValue, goldenScore(c, "chrf", "chrf")), c["id"] as! String)
            XCTAssertTrue(close((obj["ter"]!["score"] as! NSNumber).doubleValue, goldenScore(c, "ter", "ter")), c["id"] as! String)
        }
        let text = try CLI.run(["score", hyp, "--ref", ref, "-sl", "-m", "chrf", "-f", "sacrebleu-text", "-w", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let first = text.stdout.split(separator: "\n")[0]
        XCTAssertEqual(String(first), "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:mixer-0.2.0 = "
                       + String(format: "%.1f", goldenScore(cases[0], "chrf", "chrf")))
    }

    func testSacreBLEUCommandLineAndJSON() throws {
        let co = corpus("2ref")
        let c = try files(co, ter: false)
        // sacreBLEU's order: references, then -i; -m takes several words.
        let r = try CLI.run(["score"] + c.refs + ["-i", c.hyp, "-m", "bleu", "chrf", "ter", "-f", "sacrebleu-json", "-w", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let list = try JSONSerialization.jsonObject(with: r.stdoutData) as! [[String: Any]]
        XCTAssertEqual(list.map { $0["name"] as! String }, ["BLEU", "chrF2", "TER"])
        let chrf = list[1]
        XCTAssertEqual((chrf["score"] as! NSNumber).doubleValue, (goldenScore(co, "chrf", "chrf") * 100).rounded() / 100)
        XCTAssertEqual(Set(chrf.keys), ["name", "score", "signature", "nrefs", "case", "eff", "nc", "nw", "space", "version"])
        XCTAssertEqual(chrf["nrefs"] as? String, "2")
        XCTAssertNotNil(list[0]["verbose_score"] as? String)
        XCTAssertTrue(r.stdout.hasPrefix("[\n{\n \"name\": \"BLEU\",\n \"score\": "), r.stdout)
        // One metric: one object; -lc and -tok reach BLEU's signature.
        let one = try CLI.run(["score"] + c.refs + ["-i", c.hyp, "-m", "bleu", "-lc", "-tok", "intl", "-f", "sacrebleu-json"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let obj = try JSONSerialization.jsonObject(with: one.stdoutData) as! [String: Any]
        XCTAssertEqual(obj["case"] as? String, "lc")
        XCTAssertEqual(obj["tok"] as? String, "intl")
        // The sacrebleu formats default to sacreBLEU's width, 1; -b with sacrebleu-json gives a list of bare scores.
        let w1 = try CLI.run(["score"] + c.refs + ["-i", c.hyp, "-m", "chrf", "ter", "-f", "sacrebleu-json", "-b"])
        XCTAssertEqual(w1.status, 0, w1.stderr)
        XCTAssertEqual(w1.stdout, "[\n" + String(format: "%.1f", goldenScore(co, "chrf", "chrf")) + ",\n"
                       + w1.stdout.split(separator: "\n")[2] + "\n]\n")
        // -b prints the scores alone, one per line, with -w decimals.
        let b = try CLI.run(["score"] + c.refs + ["-i", c.hyp, "-m", "chrf", "ter", "-b", "-w", "3"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let scores = b.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(scores.count, 2)
        XCTAssertEqual(scores[0], String(format: "%.3f", goldenScore(co, "chrf", "chrf")))
        // sacreBLEU's text lines, aligned on "=".
        let text = try CLI.run(["score"] + c.refs + ["-i", c.hyp, "-m", "bleu", "ter", "-f", "sacrebleu-text", "-sh"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].contains("BLEU|#:2|c:mixed|e:no|tok:13a|s:exp|v:mixer-"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("TER|#:2|c:lc|t:tercom|nr:no|pn:yes|as:no|v:mixer-"), lines[1])
        XCTAssertTrue(lines[0].hasPrefix("     BLEU|"), lines[0])     // padded as sacreBLEU pads it
        XCTAssertEqual(lines[0].firstIndex(of: "=").map { lines[0].distance(from: lines[0].startIndex, to: $0) },
                       lines[1].firstIndex(of: "=").map { lines[1].distance(from: lines[1].startIndex, to: $0) })
    }

    func testSeveralSystemsGiveOneTable() throws {
        let co = corpus("1ref")
        let c = try files(co, ter: false)
        let hyps = co["hyps"] as! [String]
        let other = try write(hyps.reversed(), "other.txt")
        let t = try CLI.run(["score", c.refs[0], "-i", c.hyp, other, "-m", "bleu", "chrf", "ter"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let lines = t.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("System") && lines[0].contains("BLEU") && lines[0].contains("chrF2") && lines[0].contains("TER"), t.stdout)
        XCTAssertTrue(lines[1].hasPrefix(c.hyp) && lines[2].hasPrefix(other), t.stdout)
        XCTAssertTrue(lines[1].contains(String(format: "%.2f", goldenScore(co, "chrf", "chrf"))), t.stdout)
        XCTAssertTrue(t.stdout.contains("Metric signatures"), t.stdout)
        let j = try CLI.run(["score", c.hyp, other, "--ref", c.refs[0], "--metrics", "chrf,rouge1", "-f", "json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let list = try JSONSerialization.jsonObject(with: j.stdoutData) as! [[String: Any]]
        XCTAssertEqual(list.count, 2)
        XCTAssertEqual(list[1]["system"] as? String, other)
        XCTAssertTrue(close(((list[0]["chrf"] as! [String: Any])["score"] as! NSNumber).doubleValue, goldenScore(co, "chrf", "chrf")))
        XCTAssertNotNil(list[0]["rouge1"])
        let sj = try CLI.run(["score", c.refs[0], "-i", c.hyp, other, "-m", "chrf", "ter", "-f", "sacrebleu-json", "-w", "1"])
        XCTAssertEqual(sj.status, 0, sj.stderr)
        let slist = try JSONSerialization.jsonObject(with: sj.stdoutData) as! [[String: String]]
        XCTAssertEqual(slist[0]["chrF2"], String(format: "%.1f", goldenScore(co, "chrf", "chrf")))
        XCTAssertEqual(Set(slist[0].keys), ["system", "chrF2", "TER"])
    }

    func testConfidenceAndPairedForCHRFAndTER() throws {
        let co = corpus("1ref")
        let c = try files(co, ter: false)
        let args = ["score", c.hyp, "--ref", c.refs[0], "--metrics", "chrf++,ter", "--confidence", "--samples", "100", "--seed", "7", "--format", "json"]
        let a = try CLI.run(args), b = try CLI.run(args)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        let obj = try JSONSerialization.jsonObject(with: a.stdoutData) as! [String: [String: Any]]
        for key in ["chrf++", "ter"] {
            let ci = obj[key]!["confidence"] as! [String: Any]
            XCTAssertGreaterThan((ci["half_width"] as! NSNumber).doubleValue, 0, key)
            XCTAssertTrue((obj[key]!["signature"] as! String).contains("bs:100|seed:7|"), key)
        }
        let other = try write((co["hyps"] as! [String]).reversed(), "other.txt")
        let p = try CLI.run(["score", c.hyp, "--ref", c.refs[0], "--metrics", "chrf,ter", "--paired", other, "--samples", "100"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("paired bootstrap vs \(other): baseline chrF2 = "), p.stdout)
        XCTAssertTrue(p.stdout.contains("paired bootstrap vs \(other): baseline TER = "), p.stdout)
    }

    func testBadOptionsGiveOneLineAndNonZeroExit() throws {
        let hyp = try write(["a b c"], "hyp.txt"), ref = try write(["a b d"], "ref.txt"), two = try write(["x"], "two.txt")
        let cases: [([String], String)] = [
            (["score", hyp, "--ref", ref, "--metrics", "chrf", "--chrf-char-order", "-1"], "--chrf-char-order"),
            (["score", hyp, "--ref", ref, "--metrics", "chrf", "--chrf-char-order", "0"], "cannot both be 0"),
            (["score", hyp, "--ref", ref, "--metrics", "chrf", "--chrf-beta", "-2"], "--chrf-beta"),
            (["score", hyp, "--ref", ref, "--metrics", "chrf", "--chrf-word-order", "x"], "--chrf-word-order"),
            (["score", hyp, "--ref", ref, "--metrics", "rouge1", "-f", "sacrebleu-json"], "sacrebleu-json"),
            (["score", hyp, two, "--ref", ref, "--sentence-level"], "--sentence-level"),
            (["score", hyp, two, "--ref", ref, "--confidence"], "--confidence"),
            (["score", "-m", "chrf", hyp, "--ref", ref], "put files before it"),
            (["score", "-i", hyp], "--ref"),
        ]
        for (args, mention) in cases {
            let r = try CLI.run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(mention), "\(args): \(r.stderr)")
        }
        let mismatch = try CLI.run(["score", ref, "-i", try write(["a", "b"], "long.txt"), "-m", "ter"])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.stderr.hasPrefix("error: ") && mismatch.stderr.contains("2 lines"), mismatch.stderr)
        XCTAssertEqual(mismatch.stderr.split(separator: "\n").count, 1, mismatch.stderr)
    }
}

extension ScoreCHRFTERCommandTests {
    func testPairedBootstrapAcrossSystems() throws {
        let co = corpus("1ref")
        let c = try files(co, ter: false)
        let hyps = co["hyps"] as! [String]
        let worse = try write(hyps.map { $0.split(separator: " ").dropLast().joined(separator: " ") }, "worse.txt")
        let same = try write(hyps, "same.txt")
        let args = ["score", c.refs[0], "-i", c.hyp, worse, same, "-m", "bleu", "chrf", "ter", "--paired-bs", "-pbsn", "200", "--seed", "3"]
        let t = try CLI.run(args)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(t.stdout, try CLI.run(args).stdout, "seeded: the same output twice")
        let lines = t.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].contains("BLEU (μ ± 95% CI)") && lines[0].contains("chrF2 (μ ± 95% CI)") && lines[0].contains("TER (μ ± 95% CI)"), t.stdout)
        XCTAssertTrue(lines[1].hasPrefix("Baseline: \(c.hyp)"), t.stdout)
        XCTAssertTrue(lines[1].contains(String(format: "%.2f (", goldenScore(co, "chrf", "chrf"))), t.stdout)
        XCTAssertTrue(t.stdout.contains("bs:200|seed:3|"), t.stdout)
        let j = try CLI.run(["score", c.refs[0], "-i", c.hyp, worse, same, "-m", "chrf", "ter", "--paired-bs", "-pbsn", "200", "-f", "json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let list = try JSONSerialization.jsonObject(with: j.stdoutData) as! [[String: Any]]
        XCTAssertEqual(list.count, 3)
        XCTAssertEqual(list[0]["baseline"] as? Bool, true)
        XCTAssertNil((list[0]["chrf"] as! [String: Any])["p_value"])
        let sameChrf = list[2]["chrf"] as! [String: Any]
        XCTAssertEqual((sameChrf["score"] as! NSNumber).doubleValue, ((list[0]["chrf"] as! [String: Any])["score"] as! NSNumber).doubleValue)
        // The same system as the baseline: every resampled difference is 0, so p = 1/(N + 1).
        XCTAssertEqual((sameChrf["p_value"] as! NSNumber).doubleValue, 1.0 / 201, accuracy: 1e-12)
        let worseTER = list[1]["ter"] as! [String: Any]
        XCTAssertGreaterThan((worseTER["score"] as! NSNumber).doubleValue, ((list[0]["ter"] as! [String: Any])["score"] as! NSNumber).doubleValue)
        for bad in [["score", c.refs[0], "-i", c.hyp, "--paired-bs"], ["score", c.refs[0], "-i", c.hyp, worse, "--paired-bs", "--confidence"],
                    ["score", c.refs[0], "-i", c.hyp, worse, "--paired-bs", "-f", "sacrebleu-json"]] {
            let r = try CLI.run(bad)
            XCTAssertNotEqual(r.status, 0, bad.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("--paired-bs"), r.stderr)
        }
    }
}

extension ScoreCHRFTERCommandTests {
    /// `--rouge-newline '<n>'` and `--format csv` reproduce rouge-score 0.1.2's own per-example
    /// CSV byte for byte on multi-sentence summaries (Resources/rouge-score-lsum, made by
    /// scripts/gen_rouge_lsum_csv.py), where rougeLsum differs from rougeL on 12 of 40 lines.
    func testRougeLsumSentenceMarkerAndCSVMatchRougeScore() throws {
        let d = CLI.repositoryRoot.appendingPathComponent("Tests/MetricsTests/Resources/rouge-score-lsum")
        let expected = try String(contentsOf: d.appendingPathComponent("rouge-score.csv"), encoding: .utf8)
        let args = ["score", d.appendingPathComponent("predictions.txt").path, "--ref", d.appendingPathComponent("targets.txt").path,
                    "--metrics", "rouge1,rougeLsum,rouge2,rougeL", "--stem", "--sentence-level", "--format", "csv"]
        let r = try CLI.run(args + ["--rouge-newline", "<n>"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, expected)
        // Without the marker, "<n>" is read as the word "n" and rougeLsum sees one sentence.
        let plain = try CLI.run(args)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertNotEqual(plain.stdout, expected)
        // Other metrics get one column each; csv without --sentence-level (rouge-score's
        // aggregate) takes ROUGE only; the marker cannot be empty.
        let more = try CLI.run(["score", d.appendingPathComponent("predictions.txt").path, "--ref", d.appendingPathComponent("targets.txt").path,
                                "--metrics", "rougeL,chrf,ter", "-sl", "-f", "csv"])
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stdout.hasPrefix("id,rougeL-P,rougeL-R,rougeL-F,chrf,ter\n0,"), more.stdout)
        for (bad, mention) in [(["-f", "csv", "-m", "bleu"], "--sentence-level"), (["--rouge-newline", ""], "--rouge-newline")] {
            let e = try CLI.run(["score", d.appendingPathComponent("predictions.txt").path, "--ref", d.appendingPathComponent("targets.txt").path,
                                 "--metrics", "rougeLsum"] + bad)
            XCTAssertNotEqual(e.status, 0)
            XCTAssertTrue(e.stderr.contains(mention), e.stderr)
        }
    }
}
