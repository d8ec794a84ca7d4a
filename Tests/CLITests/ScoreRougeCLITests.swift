import Foundation
import XCTest

/// `score`'s rouge-score surface: ROUGE on 0-100 in text (JSON on 0-1), line numbers in
/// --sentence-level text, rouge-score's file patterns, its bootstrap aggregate CSV and
/// --split-summaries, on Resources/rouge-score-lsum (rouge-score 0.1.2's own per-example CSV).
final class ScoreRougeCLITests: XCTestCase {
    private var dir: URL!
    private let lsum = CLI.repositoryRoot.appendingPathComponent("Tests/MetricsTests/Resources/rouge-score-lsum")
    private var predictions: String { lsum.appendingPathComponent("predictions.txt").path }
    private var targets: String { lsum.appendingPathComponent("targets.txt").path }
    private let types = ["--metrics", "rouge1,rougeLsum,rouge2,rougeL", "--stem", "--rouge-newline", "<n>"]

    override func setUpWithError() throws { dir = try CLI.temporaryDirectory(self) }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    private func write(_ lines: some Sequence<String>, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: url)
        return url.path
    }

    private func json(_ r: CLI.Result) throws -> [String: [String: Any]] {
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdoutData) as? [String: [String: Any]])
    }

    private func percent(_ x: Any?, _ width: Int) -> String { String(format: "%.\(width)f", 100 * ((x as? Double) ?? .nan)) }

    /// Text prints ROUGE ×100 with --width decimals, as BLEU; JSON keeps rouge-score's 0-1.
    func testTextPrintsROUGEOnBLEUsScale() throws {
        for width in [2, 3, 0] {
            let base = ["score", predictions, "-r", targets, "-w", String(width)] + types
            let obj = try json(try CLI.run(base + ["-f", "json"]))
            let text = try CLI.run(base)
            XCTAssertEqual(text.status, 0, text.stderr)
            for t in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
                let o = try XCTUnwrap(obj[t])
                XCTAssertLessThanOrEqual(o["f"] as! Double, 1)
                let line = "\(t): F = \(percent(o["f"], width)) P = \(percent(o["precision"], width)) R = \(percent(o["recall"], width))"
                XCTAssertTrue(text.stdout.contains(line + "\n"), "\(line)\n\(text.stdout)")
            }
            XCTAssertTrue(text.stdout.contains("mean over 40 lines, ×100"), text.stdout)
        }
        // The table of several systems and --score-only: the same figures.
        let obj = try json(try CLI.run(["score", predictions, "-r", targets, "-m", "rouge2", "bleu", "-f", "json"]))
        let table = try CLI.run(["score", "-i", predictions, targets, "-r", targets, "-m", "bleu", "rouge2"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let row = try XCTUnwrap(table.stdout.split(separator: "\n").first { $0.hasPrefix(predictions) })
        XCTAssertTrue(row.hasSuffix("  \(percent(obj["rouge2"]?["f"], 2))"), String(row))
        XCTAssertTrue(table.stdout.contains("100.00  100.00"), table.stdout)
        let only = try CLI.run(["score", predictions, "-r", targets, "-m", "rouge2", "-b"])
        XCTAssertEqual(only.stdout, percent(obj["rouge2"]?["f"], 2) + "\n")
        // --confidence: μ ± half-width ×100; --rouge-aggregate: rouge-score's low/mid/high ×100 (JSON: 0-1).
        let ci = try CLI.run(["score", predictions, "-r", targets, "-m", "rouge1", "--confidence", "--rouge-aggregate", "--samples", "200"])
        let cj = try json(try CLI.run(["score", predictions, "-r", targets, "-m", "rouge1", "--confidence", "--rouge-aggregate", "--samples", "200", "-f", "json"]))
        let c = try XCTUnwrap(cj["rouge1"]?["confidence"] as? [String: Any])
        XCTAssertTrue(ci.stdout.contains("(μ = \(percent(c["mean"], 2)) ± \(percent(c["half_width"], 2)))"), ci.stdout)
        let agg = try XCTUnwrap(cj["rouge1"]?["aggregate"] as? [String: Any])
        let f = ["low", "mid", "high"].map { percent(($0 == "low" ? agg["low"] : $0 == "mid" ? agg["mid"] : agg["high"]).flatMap { ($0 as? [String: Any])?["f"] }, 2) }
        XCTAssertTrue(ci.stdout.contains("  F low/mid/high = \(f[0]) / \(f[1]) / \(f[2])\n"), ci.stdout)
        // The aggregate equals -f csv's (same seed, same resamples) and is not there without the flag.
        let csv = try CLI.run(["score", predictions, "-r", targets, "-m", "rouge1", "--samples", "200", "-f", "csv"])
        let fRow = try XCTUnwrap(csv.stdout.split(separator: "\n").first { $0.hasPrefix("rouge1-F,") })
        let low = try XCTUnwrap((agg["low"] as? [String: Any])?["f"] as? Double)
        XCTAssertEqual(fRow.split(separator: ",")[1], String(format: "%.6f", low)[...])
        let plain = try json(try CLI.run(["score", predictions, "-r", targets, "-m", "rouge1", "--confidence", "-f", "json"]))
        XCTAssertNil(plain["rouge1"]?["aggregate"])
        for bad in [["-m", "bleu"], ["-m", "rouge1", "-sl"]] {
            let e = try CLI.run(["score", predictions, "-r", targets, "--rouge-aggregate"] + bad)
            XCTAssertNotEqual(e.status, 0)
            XCTAssertTrue(e.stderr.contains("--rouge-aggregate"), e.stderr)
        }
    }

    /// --sentence-level text starts each line with its 1-based number; ROUGE ×100 there too.
    func testSentenceLevelTextCarriesTheLineNumber() throws {
        let text = try CLI.run(["score", predictions, "-r", targets, "-m", "bleu", "rouge1", "-sl"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let rows = text.stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, 40)
        let js = try CLI.run(["score", predictions, "-r", targets, "-m", "bleu", "rouge1", "-sl", "-f", "json"]).stdout.split(separator: "\n")
        for (i, row) in rows.enumerated() {
            let fields = row.split(separator: "\t")
            XCTAssertEqual(fields.first, "\(i + 1)", String(row))
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(js[i].utf8)) as? [String: Any])
            XCTAssertEqual(o["line"] as? Int, i + 1)
            XCTAssertEqual(fields.last, "rouge1 F = \(percent((o["rouge1"] as? [String: Any])?["f"], 2))"[...])
            XCTAssertTrue(fields[1].hasPrefix("BLEU = "), String(row))
        }
        // --score-only keeps the bare figures.
        let only = try CLI.run(["score", predictions, "-r", targets, "-m", "bleu", "-sl", "-b"])
        XCTAssertFalse(only.stdout.contains("\t"), only.stdout)
    }

    /// rouge-score's file patterns: the matches pair up in byte order (p-1 < p-10 < p-2) and
    /// score as one corpus, so the per-example CSV is rouge-score's own for the whole corpus,
    /// ids running on across files, and the aggregate equals that of the concatenation.
    func testFilePatternsConcatenateSortedMatches() throws {
        let p = try lines(predictions), t = try lines(targets)
        let parts = [("1", 0..<10), ("10", 10..<25), ("2", 25..<40)]
        for (name, range) in parts {
            _ = try write(p[range], "pred/p-\(name).txt")
            _ = try write(t[range], "gold/t-\(name).txt")
        }
        _ = try write(["ignored"], "pred/.hidden.txt")
        let patterns = ["--target-filepattern", dir.appendingPathComponent("gold/t-*.txt").path,
                        "--prediction_filepattern", dir.appendingPathComponent("pred/*.txt").path]
        let r = try CLI.run(["score"] + patterns + types + ["-sl", "-f", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try String(contentsOf: lsum.appendingPathComponent("rouge-score.csv"), encoding: .utf8))
        let whole = try CLI.run(["score", predictions, "-r", targets] + types + ["-f", "csv"])
        let globbed = try CLI.run(["score"] + patterns + types + ["-f", "csv"])
        XCTAssertEqual(globbed.status, 0, globbed.stderr)
        XCTAssertEqual(globbed.stdout, whole.stdout)
        // Line-count mismatch in one pair, unequal or empty matches, and mixing with files.
        _ = try write(t[25..<39], "gold/t-2.txt")
        let short = try CLI.run(["score"] + patterns + types)
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.contains("t-2.txt") && short.stderr.contains("lines"), short.stderr)
        let bad: [([String], String)] = [
            (["--target-filepattern", dir.appendingPathComponent("gold/t-1*.txt").path, "--prediction-filepattern",
              dir.appendingPathComponent("pred/*.txt").path], "matches 2"),
            (["--target-filepattern", dir.appendingPathComponent("none/*").path, "--prediction-filepattern",
              dir.appendingPathComponent("none/*").path], "matches 0"),
            (["--target-filepattern", dir.appendingPathComponent("gold/*").path], "go together"),
            (patterns + [predictions], "drop the file arguments"),
            (patterns + ["-r", targets], "drop the file arguments"),
            (patterns + ["--paired-bs"], "--paired"),
        ]
        for (args, mention) in bad {
            let e = try CLI.run(["score"] + args + ["-m", "rouge1"])
            XCTAssertNotEqual(e.status, 0, "\(args)")
            XCTAssertTrue(e.stderr.contains(mention), "\(args): \(e.stderr)")
            XCTAssertFalse(e.stderr.contains("Fatal error"), e.stderr)
        }
    }

    /// `-f csv` without --sentence-level: rouge-score's aggregate CSV (R, P, F rows per type in
    /// sorted order; low ≤ mid ≤ high around the mean), reproducible from the seed.
    func testAggregateCSV() throws {
        let args = ["score", predictions, "-r", targets] + types + ["-f", "csv", "--samples", "300"]
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.map { $0[0] }, ["score_type"] + ["rouge1", "rouge2", "rougeL", "rougeLsum"].flatMap { ["\($0)-R", "\($0)-P", "\($0)-F"] })
        XCTAssertEqual(rows[0], ["score_type", "low", "mid", "high"])
        let means = try json(try CLI.run(["score", predictions, "-r", targets] + types + ["-f", "json"]))
        for row in rows.dropFirst() {
            let v = row.dropFirst().map { Double($0)! }
            XCTAssertTrue(row[1].split(separator: ".")[1].count == 6, "%f figures: \(row)")
            XCTAssertTrue(v[0] <= v[1] && v[1] <= v[2], "\(row)")
            let parts = row[0].split(separator: "-")
            let key = ["R": "recall", "P": "precision", "F": "f"][String(parts[1])]!
            let mean = try XCTUnwrap(means[String(parts[0])]?[key] as? Double)
            XCTAssertTrue(v[0] <= mean && mean <= v[2], "\(row) vs mean \(mean)")
            XCTAssertEqual(v[1], mean, accuracy: 0.02, "\(row)")
        }
        XCTAssertEqual(try CLI.run(args).stdout, r.stdout)
        XCTAssertNotEqual(try CLI.run(args + ["--bootstrap-seed", "7"]).stdout, r.stdout)
        for (extra, mention) in [(["-m", "bleu"], "ROUGE metrics only"), (["--confidence"], "--confidence")] {
            let e = try CLI.run(args + extra)
            XCTAssertNotEqual(e.status, 0)
            XCTAssertTrue(e.stderr.contains(mention), e.stderr)
        }
    }

    /// --split-summaries: sentences ending in ". " before a capital, on one line, give the
    /// rougeLsum of the same sentences separated by the `<n>` marker; the other types and the
    /// scores without rougeLsum are unchanged.
    func testSplitSummariesFindsSentencesInALine() throws {
        func capitalised(_ line: String) -> [String] {
            line.components(separatedBy: " <n> ").map { $0.prefix(1).uppercased() + $0.dropFirst() }
        }
        let p = try lines(predictions).map(capitalised), t = try lines(targets).map(capitalised)
        let marked = (try write(p.map { $0.joined(separator: " <n> ") }, "pm.txt"), try write(t.map { $0.joined(separator: " <n> ") }, "tm.txt"))
        let dotted = (try write(p.map { $0.joined(separator: ". ") + "." }, "pd.txt"), try write(t.map { $0.joined(separator: ". ") + "." }, "td.txt"))
        let m = ["-m", "rouge1", "rougeL", "rougeLsum", "-sl", "-f", "csv"]
        let a = try CLI.run(["score", marked.0, "-r", marked.1, "--rouge-newline", "<n>"] + m)
        let b = try CLI.run(["score", dotted.0, "-r", dotted.1, "--split-summaries"] + m)
        let c = try CLI.run(["score", dotted.0, "-r", dotted.1] + m)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(b.stdout, a.stdout)
        XCTAssertNotEqual(c.stdout, b.stdout, "without the splitter, rougeLsum sees one sentence per line")
        func column(_ s: String, _ name: String) -> [String] {
            let rows = s.split(separator: "\n").map { $0.split(separator: ",") }
            let k = rows[0].firstIndex(of: Substring(name))!
            return rows.map { String($0[k]) }
        }
        XCTAssertEqual(column(b.stdout, "rouge1-F"), column(c.stdout, "rouge1-F"))
        XCTAssertEqual(column(b.stdout, "rougeL-F"), column(c.stdout, "rougeL-F"))
        let text = try CLI.run(["score", dotted.0, "-r", dotted.1, "--split-summaries", "-m", "rougeLsum"])
        XCTAssertTrue(text.stdout.contains("rougeLsum sentences split by ICU"), text.stdout)
        let js = try json(try CLI.run(["score", dotted.0, "-r", dotted.1, "--split_summaries", "-m", "rougeLsum", "-f", "json"]))
        XCTAssertEqual(js["rougeLsum"]?["split_sentences"] as? Bool, true)
    }
}
