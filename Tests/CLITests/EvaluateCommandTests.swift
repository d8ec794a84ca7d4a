import Foundation
import XCTest

final class EvaluateCommandTests: XCTestCase {
    func testEvaluateEqualsDecodeThenScore() throws {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, references) = try TinyCheckpoint.make(in: model)
        let src = dir.appendingPathComponent("s.txt"), ref = dir.appendingPathComponent("r.txt")
        // Held-out-like input: the training sources with two words swapped in a few lines.
        let shuffled = sources.enumerated().map { i, s in i % 3 == 0 ? s.replacingOccurrences(of: "sees", with: "likes") : s }
        try (shuffled.joined(separator: "\n") + "\n").write(to: src, atomically: true, encoding: .utf8)
        try (references.joined(separator: "\n") + "\n").write(to: ref, atomically: true, encoding: .utf8)
        let settings: [(decode: [String], score: [String])] = [
            ([], []),
            (["--strategy", "beam", "--beam-size", "3", "--replace-unk"], ["--metrics", "bleu,rouge2,rougeL", "--format", "json"]),
            (["--strategy", "sample", "--seed", "4", "--top-p", "0.9"], ["--metrics", "rouge1", "--stem", "--width", "3"]),
            ([], ["--metrics", "chrf,chrf++,ter", "--chrf-beta", "1", "--chrf-whitespace", "--ter-normalized", "--format", "json"]),
            ([], ["-m", "bleu", "rouge2", "--confidence", "--samples", "50", "--bootstrap-seed", "3", "-w", "3", "-f", "json"]),
            ([], ["--tokenize", "char", "--smooth", "floor", "--smooth-value", "0.2", "-lc", "--rouge-tokenizer", "unicode",
                  "--metrics", "bleu,rougeL"]),
        ]
        for (d, s) in settings {
            let out = dir.appendingPathComponent("out.txt").path
            let decoded = try CLI.run(["decode", "--model", model.path, "--input", src.path, "--output", out] + d)
            XCTAssertEqual(decoded.status, 0, decoded.stderr)
            let scored = try CLI.run(["score", out, "--ref", ref.path] + s)
            XCTAssertEqual(scored.status, 0, scored.stderr)
            let kept = dir.appendingPathComponent("kept.txt").path
            let evaluated = try CLI.run(["evaluate", "--model", model.path, "--source", src.path, "--reference", ref.path,
                                         "--output", kept] + d + s)
            XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
            XCTAssertEqual(evaluated.stdout, scored.stdout, "\(d) \(s)")
            XCTAssertEqual(try String(contentsOfFile: kept, encoding: .utf8), try String(contentsOfFile: out, encoding: .utf8))
            XCTAssertFalse(evaluated.stdout.isEmpty)
        }
        // The model reproduces most references: BLEU is high.
        let json = try CLI.run(["evaluate", "--model", model.path, "--source", src.path, "--reference", ref.path, "--format", "json"])
        let obj = try JSONSerialization.jsonObject(with: json.stdoutData) as! [String: Any]
        let bleu = (obj["bleu"] as! [String: Any])["score"] as! Double
        XCTAssertGreaterThan(bleu, 40, json.stdout)
    }

    func testEvaluateRejectsBadInput() throws {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, references) = try TinyCheckpoint.make(in: model)
        let src = dir.appendingPathComponent("s.txt"), ref = dir.appendingPathComponent("r.txt")
        try (sources.joined(separator: "\n") + "\n").write(to: src, atomically: true, encoding: .utf8)
        try (references.dropLast().joined(separator: "\n") + "\n").write(to: ref, atomically: true, encoding: .utf8)
        let base = ["evaluate", "--model", model.path, "--source", src.path, "--reference", ref.path]
        let short = try CLI.run(base)
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.hasPrefix("error: ") && short.stderr.contains("has 21 lines but"), short.stderr)
        for (extra, message) in [(["--strategy", "beam", "--n-best", "2"], "one output per input"),
                                 (["--metrics", "meteor"], "The value 'meteor' is invalid for '--metrics"),
                                 (["--metrics", "chrf", "--chrf-char-order", "-1"], "--chrf-char-order"),
                                 (["--strategy", "beam", "--beam-size", "0"], "--beam-size must be at least 1")] {
            let r = try CLI.run(base + extra)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(message), "\(extra): \(r.stderr)")
        }
        let noRef = try CLI.run(["evaluate", "--model", model.path, "--source", src.path])
        XCTAssertNotEqual(noRef.status, 0)
        XCTAssertTrue(noRef.stderr.contains("--reference"), noRef.stderr)
        let missing = try CLI.run(["evaluate", "--model", model.path, "--source", dir.path + "/nope.src", "--reference", ref.path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("nope.src: no such file"), missing.stderr)
    }
}
