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

    /// sacreBLEU's `--num-refs N` / `-nr N`: one reference file whose lines hold N tab-separated
    /// references prints exactly what N reference files print (every metric, corpus and
    /// sentence level, mixer's and sacreBLEU's formats), the signature counting N references;
    /// the line is `rstrip()`ped and split on its first N − 1 tabs, as sacreBLEU does.
    func testNumRefsReadsTabSeparatedReferencesAsSeveralFiles() throws {
        let dir = try CLI.temporaryDirectory(self)
        func file(_ name: String, _ lines: [String]) throws -> String {
            let url = dir.appendingPathComponent(name)
            try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let hyps = ["the cat sat on the mat", "a dog barks", "Über naïve café, \"quoted\" text.", "", "one two three four five"]
        let r1 = ["the cat is on the mat", "the dog barked", "uber naive cafe quoted text", "nothing", "one two three"]
        let r2 = ["a cat sat on a mat ", "dogs bark", "Über café", "", "five four three two one"]
        let r3 = ["on the mat sat the cat", "barking", "naïve text", "x y", "one  two\tthree"]
        let hyp = try file("hyp.txt", hyps)
        let files = [try file("r1.txt", r1), try file("r2.txt", r2), try file("r3.txt", r3)]
        // The last field keeps its tab (maxsplit), and trailing whitespace of the line is stripped.
        let tabbed = try file("refs.tsv", (0..<hyps.count).map { "\(r1[$0])\t\(r2[$0])\t\(r3[$0])   " })
        let metrics = "bleu,chrf,chrf++,ter,rouge1,rougeL"
        for extra in [[], ["--sentence-level"], ["--sentence-level", "--format", "json"], ["--format", "json"]] {
            let a = try CLI.run(["score", hyp, "--metrics", metrics, "--num-refs", "3", "-r", tabbed] + extra)
            let b = try CLI.run(["score", hyp, "--metrics", metrics] + files.flatMap { ["-r", $0] } + extra)
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(a.stdout, b.stdout, "\(extra)")
            if extra != ["--sentence-level"] { XCTAssertTrue(a.stdout.contains("nrefs:3"), a.stdout) }
        }
        for extra in [[], ["-sl"]] {
            let a = try CLI.run(["score", tabbed, "-i", hyp, "-m", "bleu", "chrf", "ter", "-nr", "3", "-f", "sacrebleu-json"] + extra)
            let b = try CLI.run(["score"] + files + ["-i", hyp, "-m", "bleu", "chrf", "ter", "-f", "sacrebleu-json"] + extra)
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(a.stdout, b.stdout)
        }
        // Too few fields: one line naming the file and the line; several files: refused.
        let short = try file("short.tsv", ["a\tb\tc", "a\tb", "a\tb\tc", "a\tb\tc", "a\tb\tc"])
        let e = try CLI.run(["score", hyp, "--num-refs", "3", "-r", short])
        XCTAssertEqual(e.status, 1)
        XCTAssertEqual(e.stderr, "error: \(short):2: expected 3 tab-separated references (--num-refs), found 2\n")
        let trailingTab = try file("trailing.tsv", ["a\tb\t", "a\tb\tc", "a\tb\tc", "a\tb\tc", "a\tb\tc"])
        XCTAssertTrue(try CLI.run(["score", hyp, "-nr", "3", "-r", trailingTab]).stderr.contains("trailing.tsv:1: expected 3"))
        let two = try CLI.run(["score", hyp, "--num-refs", "2", "-r", files[0], "-r", files[1]])
        XCTAssertNotEqual(two.status, 0)
        XCTAssertTrue(two.stderr.contains("--num-refs 2 reads"), two.stderr)
        XCTAssertNotEqual(try CLI.run(["score", hyp, "--num-refs", "0", "-r", files[0]]).status, 0)
    }
}
