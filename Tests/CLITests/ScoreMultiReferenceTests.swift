import Foundation
import XCTest

/// ROUGE with several references through the executable (`--ref` given several times) against
/// rouge-score's own `score_multi` values in the golden file, and `evaluate` with several
/// references and `--confidence` against `decode` followed by `score` (issue 22).
final class ScoreMultiReferenceTests: XCTestCase {
    func testROUGEWithSeveralReferencesMatchesRougeScoreMulti() throws {
        let url = CLI.repositoryRoot.appendingPathComponent("Tests/MetricsTests/Resources/golden.json")
        let golden = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(golden["cases"] as? [[String: Any]]).filter { (($0["refs"] as? [String])?.count ?? 0) > 1 }
        XCTAssertGreaterThanOrEqual(cases.count, 5)
        let dir = try CLI.temporaryDirectory(self)
        for refCount in Set(cases.map { ($0["refs"] as! [String]).count }) {
            let group = cases.filter { ($0["refs"] as! [String]).count == refCount }
            let hyp = dir.appendingPathComponent("hyp\(refCount).txt")
            try (group.map { $0["hyp"] as! String }.joined(separator: "\n") + "\n").write(to: hyp, atomically: true, encoding: .utf8)
            var args = ["score", hyp.path, "--metrics", "rouge1,rouge2,rougeL", "--sentence-level", "--format", "json"]
            for k in 0..<refCount {
                let ref = dir.appendingPathComponent("ref\(refCount)-\(k).txt")
                try (group.map { ($0["refs"] as! [String])[k] }.joined(separator: "\n") + "\n").write(to: ref, atomically: true, encoding: .utf8)
                args += ["--ref", ref.path]
            }
            for stem in [false, true] {
                let r = try CLI.run(args + (stem ? ["--stem"] : []))
                XCTAssertEqual(r.status, 0, r.stderr)
                let lines = r.stdout.split(separator: "\n")
                XCTAssertEqual(lines.count, group.count)
                for (line, c) in zip(lines, group) {
                    let got = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    let rouge = try XCTUnwrap(c["rouge"] as? [String: Any])
                    let multi = try XCTUnwrap((rouge[stem ? "stem" : "nostem"] as? [String: Any])?["multi"] as? [String: [Double]])
                    for metric in ["rouge1", "rouge2", "rougeL"] {
                        let g = try XCTUnwrap(multi[metric]), m = try XCTUnwrap(got[metric] as? [String: Any])
                        for (name, i) in [("precision", 0), ("recall", 1), ("f", 2)] {
                            XCTAssertEqual(try XCTUnwrap(m[name] as? Double), g[i], accuracy: 1e-12, "\(c["id"]!) \(metric) \(name) stem \(stem)")
                        }
                    }
                }
            }
        }
    }

    /// `evaluate` with two references and `--confidence` prints what `decode` then `score` print.
    func testEvaluateWithSeveralReferencesAndConfidenceEqualsDecodeThenScore() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 40, valid: 8)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2],
                                    "--valid-target", p[3], "--output", run.path, "--epochs", "1"] + TrainCommandTests.tiny).status, 0)
        let second = dir.appendingPathComponent("ref2.txt")
        try String(contentsOfFile: p[2], encoding: .utf8).write(to: second, atomically: true, encoding: .utf8)
        let scoring = ["--metrics", "bleu,rouge2", "--confidence", "--samples", "100", "--format", "json"]
        let e = try CLI.run(["evaluate", "--model", run.path, "--source", p[2], "--reference", p[3], "--reference", second.path,
                             "--bootstrap-seed", "7"] + scoring)
        XCTAssertEqual(e.status, 0, e.stderr)
        let out = dir.appendingPathComponent("out.txt")
        let d = try CLI.run(["decode", "--model", run.path, "--input", p[2], "--output", out.path])
        XCTAssertEqual(d.status, 0, d.stderr)
        let s = try CLI.run(["score", out.path, "--ref", p[3], "--ref", second.path, "--seed", "7"] + scoring)
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(e.stdout, s.stdout)
        XCTAssertTrue(e.stdout.contains("\"confidence\""), e.stdout)
    }

    /// `decode` reads its input in chunks of 10,000 lines: across the boundary the outputs equal
    /// those of the two parts decoded separately, and n-best line numbers keep counting.
    func testDecodingAcrossTheChunkBoundary() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 40, valid: 8)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2],
                                    "--valid-target", p[3], "--output", run.path, "--epochs", "1"] + TrainCommandTests.tiny).status, 0)
        let valid = try String(contentsOfFile: p[2], encoding: .utf8).split(separator: "\n").map(String.init)
        let lines = (0..<10_012).map { valid[$0 % valid.count] + ($0 % 3 == 0 ? " extra" : "") }
        let all = dir.appendingPathComponent("all.txt"), head = dir.appendingPathComponent("head.txt"), tail = dir.appendingPathComponent("tail.txt")
        try (lines.joined(separator: "\n") + "\n").write(to: all, atomically: true, encoding: .utf8)
        try (lines.prefix(10_000).joined(separator: "\n") + "\n").write(to: head, atomically: true, encoding: .utf8)
        try (lines.dropFirst(10_000).joined(separator: "\n") + "\n").write(to: tail, atomically: true, encoding: .utf8)
        let whole = try CLI.run(["decode", "--model", run.path, "--input", all.path])
        let first = try CLI.run(["decode", "--model", run.path, "--input", head.path])
        let second = try CLI.run(["decode", "--model", run.path, "--input", tail.path])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertEqual(whole.stdout, first.stdout + second.stdout)
        XCTAssertEqual(whole.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 10_013)
        // n-best: the first field is the input's line number in the whole file.
        let nbest = try CLI.run(["decode", "--model", run.path, "--input", all.path, "--strategy", "beam",
                                 "--beam-size", "2", "--n-best", "2"])
        XCTAssertEqual(nbest.status, 0, nbest.stderr)
        let numbers = nbest.stdout.split(separator: "\n").map { Int($0.split(separator: "\t")[0])! }
        XCTAssertEqual(numbers, (1...10_012).flatMap { [$0, $0] })
    }
}
