import Foundation
import XCTest

/// Hostile input through the built `mixer-cli`, every command: invalid UTF-8, NUL bytes, CRLF,
/// a 10 MB single line, empty files, files of different lengths, options out of range. Each
/// must give a one-line error naming the file and line (or the option) and a non-zero exit, and
/// never trap; CRLF input must work as LF input does.
final class HostileInputTests: XCTestCase {
    /// Small parallel files from the bundled corpus: train (40 pairs) and valid (8 pairs).
    func corpus(_ dir: URL, crlf: Bool = false) throws -> [String] {
        let eol = crlf ? "\r\n" : "\n"
        return try [("train.src", 40), ("train.tgt", 40), ("valid.src", 8), ("valid.tgt", 8)].map { name, n in
            try Hostile.write(dir, (crlf ? "crlf-" : "") + name, try Hostile.dataLines(name, n).joined(separator: eol) + eol)
        }
    }

    static let tiny = ["--embedding-size", "8", "--hidden-size", "8", "--encoder-hidden-size", "8",
                       "--source-vocab-size", "100", "--target-vocab-size", "100", "--max-source-length", "10",
                       "--max-target-length", "6", "--batch-size", "8", "--epochs", "1", "--log-samples", "0"]

    func train(_ p: [String], _ out: URL, _ extra: [String] = []) -> [String] {
        ["train"] + TrainCommandTests.overriding(["--train-source", p[0], "--train-target", p[1], "--valid-source", p[2],
                                                  "--valid-target", p[3], "--output", out.path] + Self.tiny, with: extra)
    }

    func testInvalidUTF8AndNULInEveryTextCommand() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try corpus(dir)
        let good = try Hostile.write(dir, "good.txt", "one line\nanother line\nthird\n")
        for (name, bytes, reason) in [("bad-utf8.txt", Array("fine\nnot \u{E9}".utf8) + [0xC3, 0x28] + Array(" text\nthird\n".utf8), "invalid UTF-8"),
                                      ("surrogate.txt", Array("fine\n".utf8) + [0xED, 0xA0, 0x80] + Array("\nthird\n".utf8), "invalid UTF-8"),
                                      ("nul.txt", Array("fine\nwith a ".utf8) + [0] + Array(" byte\nthird\n".utf8), "NUL")] {
            let bad = try Hostile.write(dir, name, bytes)
            let at = name + ":2"
            for args in [["tokenize", "--input", bad], ["detokenize", "--input", bad], ["vocab", bad], ["vocab", "--tokenize", bad],
                         ["score", bad, "--ref", good], ["score", good, "--ref", bad], ["score", good, "--ref", good, "--paired", bad],
                         ["score", bad, "--ref", good, "--sentence-level"]] {
                Hostile.assertCleanFailure(try CLI.run(args), mentions: [at, reason], args.joined(separator: " "))
            }
            // Standard input is named as such.
            Hostile.assertCleanFailure(try CLI.run(["tokenize"], stdin: Data(bytes)), mentions: ["<stdin>:2", reason], "tokenize <stdin>")
            // Train: each of the four files. The bad line is line 2 of a copy of the corpus file.
            for k in (name == "bad-utf8.txt" ? [0, 1, 2, 3] : name == "nul.txt" ? [1] : []) {
                var lines = try Hostile.dataLines(["train.src", "train.tgt", "valid.src", "valid.tgt"][k], k < 2 ? 40 : 8).map { Array($0.utf8) }
                lines[1] += [0x20] + (name == "nul.txt" ? [0] : [0xC3, 0x28])
                var q = p
                q[k] = try Hostile.write(dir, "\(k)-\(name)", Array(lines.joined(separator: [0x0A])) + [0x0A])
                Hostile.assertCleanFailure(try CLI.run(train(q, dir.appendingPathComponent("run"))), mentions: ["\(k)-\(name):2", reason], "train file \(k) \(name)")
            }
        }
        // --replace-invalid substitutes U+FFFD instead (but NUL stays an error).
        let bad = try Hostile.write(dir, "repl.txt", Array("a ".utf8) + [0xFF] + Array(" b\n".utf8))
        let r = try CLI.run(["tokenize", "--input", bad, "--replace-invalid"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "a \u{FFFD} b\n")
    }

    func testCRLFInputWorksAsLF() throws {
        let dir = try CLI.temporaryDirectory(self)
        let lf = try corpus(dir), crlf = try corpus(dir, crlf: true)
        for args in [["tokenize", "--input"], ["detokenize", "--input"], ["vocab"], ["vocab", "--tokenize"]] {
            let a = try CLI.run(args + [lf[0]]), b = try CLI.run(args + [crlf[0]])
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(b.status, 0, b.stderr)
            XCTAssertEqual(a.stdout, b.stdout, args.joined(separator: " "))
            XCTAssertFalse(b.stdout.contains("\r"), args.joined(separator: " "))
        }
        // Scoring: CRLF hypothesis against LF reference and the other way round, as LF/LF.
        let metrics = ["--metrics", "bleu,rouge1,rouge2,rougeL", "--format", "json"]
        let base = try CLI.run(["score", lf[2], "--ref", lf[3]] + metrics)
        XCTAssertEqual(base.status, 0, base.stderr)
        for (h, r) in [(crlf[2], lf[3]), (lf[2], crlf[3]), (crlf[2], crlf[3])] {
            let s = try CLI.run(["score", h, "--ref", r] + metrics)
            XCTAssertEqual(s.stdout, base.stdout, "\(h) vs \(r): \(s.stderr)")
        }
        // Training: the same vocabularies from CRLF files.
        let runLF = dir.appendingPathComponent("lf"), runCRLF = dir.appendingPathComponent("crlf")
        let t1 = try CLI.run(train(lf, runLF)), t2 = try CLI.run(train(crlf, runCRLF))
        XCTAssertEqual(t1.status, 0, t1.stderr)
        XCTAssertEqual(t2.status, 0, t2.stderr)
        for f in ["best/source.vocab", "best/target.vocab", "best/model.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: runLF.appendingPathComponent(f)), try Data(contentsOf: runCRLF.appendingPathComponent(f)), f)
        }
    }

    func testEmptyFiles() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try corpus(dir)
        let empty = try Hostile.write(dir, "empty.txt", "")
        let blank = try Hostile.write(dir, "blank.txt", "  \n\t\n")
        // Text in, text out: an empty file is empty output, not an error.
        for args in [["tokenize", "--input", empty], ["detokenize", "--input", empty]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, "")
        }
        Hostile.assertCleanFailure(try CLI.run(["vocab", empty]), mentions: ["empty.txt", "no tokens"], "vocab empty")
        Hostile.assertCleanFailure(try CLI.run(["vocab", blank, empty]), mentions: ["blank.txt", "no tokens"], "vocab blank")
        Hostile.assertCleanFailure(try CLI.run(["score", empty, "--ref", empty]), mentions: ["empty.txt", "nothing to score"], "score empty")
        Hostile.assertCleanFailure(try CLI.run(["score", empty, "--ref", empty, "--sentence-level"]), mentions: ["nothing to score"], "score -s empty")
        Hostile.assertCleanFailure(try CLI.run(["score", p[2], "--ref", empty]), mentions: ["valid.src", "has 8 lines", "empty.txt has 0 lines"], "score vs empty")
        Hostile.assertCleanFailure(try CLI.run(["score", empty, "--ref", p[3]]), mentions: ["empty.txt", "has 0 lines", "8 lines"], "score empty hyp")
        for k in 0..<4 {
            var q = p
            q[k] = empty
            Hostile.assertCleanFailure(try CLI.run(train(q, dir.appendingPathComponent("run"))), mentions: ["empty.txt"], "train empty \(k)")
        }
        // Only blank lines: every pair is skipped.
        var q = p
        q[0] = try Hostile.write(dir, "blank40.txt", String(repeating: " \n", count: 40))
        Hostile.assertCleanFailure(try CLI.run(train(q, dir.appendingPathComponent("run"))), mentions: ["blank40.txt", "empty line"], "train blank")
        // report: an empty log.
        let run = dir.appendingPathComponent("emptyrun")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Hostile.write(run, "log.jsonl", "")
        Hostile.assertCleanFailure(try CLI.run(["report", run.path]), mentions: ["log.jsonl"], "report empty log")
        try Hostile.write(run, "log.jsonl", Array("{\"event\":\"epoch\"\n".utf8) + [0xFF, 0x0A])
        Hostile.assertCleanFailure(try CLI.run(["report", run.path]), mentions: ["log.jsonl"], "report garbage log")
    }

    func testFilesOfDifferentLengths() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try corpus(dir)
        let three = try Hostile.write(dir, "three.txt", "a\nb\nc\n")
        let two = try Hostile.write(dir, "two.txt", "a\nb\n")
        Hostile.assertCleanFailure(try CLI.run(["score", three, "--ref", two]), mentions: ["three.txt", "3 lines", "two.txt", "2 lines"], "score 3 vs 2")
        Hostile.assertCleanFailure(try CLI.run(["score", two, "--ref", two, "--ref", three]), mentions: ["two.txt", "three.txt"], "score 2 refs")
        Hostile.assertCleanFailure(try CLI.run(["score", two, "--ref", two, "--paired", three]), mentions: ["three.txt", "3 lines"], "score paired")
        for k in [1, 3] {
            var q = p
            q[k] = try Hostile.write(dir, "short\(k).txt", try Hostile.dataLines(k == 1 ? "train.tgt" : "valid.tgt", k == 1 ? 39 : 7).joined(separator: "\n") + "\n")
            Hostile.assertCleanFailure(try CLI.run(train(q, dir.appendingPathComponent("run"))),
                                       mentions: ["short\(k).txt", k == 1 ? "39" : "7"], "train short \(k)")
        }
    }

    /// A 10 MB line: tokenized and scored (streaming, no error), and truncated by train.
    func testTenMegabyteSingleLine() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try corpus(dir)
        let unit = "The quick brown fox, 3.14 times (again). "
        let line = String(repeating: unit, count: 10_000_000 / unit.utf8.count)
        let big = try Hostile.write(dir, "big.txt", "short first line\n" + line + "\n")
        let tok = try CLI.run(["tokenize", "--input", big, "--output", dir.appendingPathComponent("big.tok").path])
        XCTAssertEqual(tok.status, 0, tok.stderr)
        let out = try Data(contentsOf: dir.appendingPathComponent("big.tok"))
        XCTAssertEqual(out.filter { $0 == 0x0A }.count, 2)
        let s = try CLI.run(["score", big, "--ref", big, "--metrics", "bleu,rouge1", "--format", "json"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stdout.contains("\"score\": 100"), s.stdout)
        // Training: the long source is truncated to --max-source-length while it is read.
        var q = p
        q[0] = try Hostile.write(dir, "big.src", try Hostile.dataLines("train.src", 39).joined(separator: "\n") + "\n" + line + "\n")
        let t = try CLI.run(train(q, dir.appendingPathComponent("run")))
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stderr.contains("truncated"), t.stderr)
    }

    func testOptionsOutOfRange() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try corpus(dir)
        let f = p[2], r = p[3]
        let cases: [([String], String)] = [
            (["tokenize", "--input", f, "--locale", "en US"], "--locale"),
            (["tokenize", "--input", f, "--locale", String(repeating: "a", count: 200)], "--locale"),
            (["tokenize", "--input", f, "--normalization", "nfd"], "--normalization"),
            (["tokenize", "--input", ""], "--input"),
            (["tokenize", "--input", f, "--output", ""], "--output"),
            (["tokenize", "--input", dir.path], dir.path),
            (["tokenize", "--input", dir.appendingPathComponent("missing.txt").path], "missing.txt"),
            (["tokenize", "--input", f, "--output", dir.appendingPathComponent("no/such/dir/out.txt").path], "out.txt"),
            (["detokenize", "--input", f, "--bogus"], "--bogus"),
            (["vocab", "--min-count", "0", f], "--min-count"),
            (["vocab", "--min-count", "-3", f], "--min-count"),
            (["vocab", "--max-size", "3", f], "--max-size"),
            (["vocab", "--max-size", "99999999999999999999999", f], "--max-size"),
            (["vocab"], "file"),
            (["score", f], "--ref"),
            (["score", f, "--ref", r, "--metrics", "bleu,meteor"], "meteor"),
            (["score", f, "--ref", r, "--metrics", ","], "--metrics"),
            (["score", f, "--ref", r, "--tokenize", "moses"], "moses"),
            (["score", f, "--ref", r, "--smooth", "add-one"], "add-one"),
            (["score", f, "--ref", r, "--smooth", "exp", "--smooth-value", "0.1"], "--smooth-value"),
            (["score", f, "--ref", r, "--smooth", "floor", "--smooth-value", "nan"], "--smooth-value"),
            (["score", f, "--ref", r, "--smooth", "floor", "--smooth-value", "-1"], "--smooth-value"),
            (["score", f, "--ref", r, "--samples", "0"], "--samples"),
            (["score", f, "--ref", r, "--samples", "100000000"], "--samples"),
            (["score", f, "--ref", r, "--width", "-1"], "--width"),
            (["score", f, "--ref", r, "--width", "400"], "--width"),
            (["score", f, "--ref", r, "--seed", "-1"], "--seed"),
            (["score", f, "--ref", r, "--format", "xml"], "--format"),
            (["score", f, "--ref", r, "--rouge-tokenizer", "nltk"], "nltk"),
            (["score", f, "--ref", r, "--sentence-level", "--confidence"], "--confidence"),
            (["score", "-", "--ref", r, "--paired", "-"], "standard input"),
            (["report"], "<runs>"),
        ]
        for (args, mention) in cases {
            Hostile.assertCleanFailure(try CLI.run(args, stdin: Data()), mentions: [mention], args.joined(separator: " "))
        }
        let out = dir.appendingPathComponent("run")
        let trainCases: [([String], String)] = [
            (["--epochs", "0"], "--epochs"), (["--batch-size", "0"], "--batch-size"), (["--batch-size", "-5"], "--batch-size"),
            (["--threads", "0"], "--threads"), (["--threads", "10000"], "--threads"),
            (["--learning-rate", "-1"], "--learning-rate"), (["--learning-rate", "nan"], "--learning-rate"),
            (["--learning-rate", "inf"], "--learning-rate"), (["--lr-decay", "0.5"], "--lr-decay"),
            (["--min-lr", "nan"], "--min-lr"), (["--min-lr", "-1"], "--min-lr"),
            (["--clip-norm", "-1"], "--clip-norm"), (["--clip-norm", "inf"], "--clip-norm"),
            (["--dropout", "1"], "--dropout"), (["--dropout", "nan"], "--dropout"), (["--init-scale", "0"], "--init-scale"),
            (["--init-scale", "inf"], "--init-scale"),
            (["--temperature", "0"], "--temperature"), (["--temperature", "nan"], "--temperature"),
            (["--baseline-init-weight", "nan"], "--baseline-init-weight"), (["--baseline-init-bias", "inf"], "--baseline-init-bias"),
            (["--baseline-lr-factor", "inf"], "--baseline-lr-factor"),
            (["--source-vocab-size", "4"], "--source-vocab-size"), (["--target-vocab-size", "-1"], "--target-vocab-size"),
            (["--max-source-length", "0"], "--max-source-length"), (["--max-target-length", "0"], "--max-target-length"),
            (["--max-target-length", "1000000000"], "--max-target-length"),
            (["--hidden-size", "0"], "--hidden-size"), (["--min-count", "0"], "--min-count"),
            (["--mixer-delta", "0"], "--mixer-delta"), (["--objective", "ppo"], "--objective"),
            (["--reward", "meteor"], "--reward"), (["--reward-smoothing", "plus-two"], "--reward-smoothing"),
            (["--dad-schedule", "inverse-sigmoid:0"], "--dad-schedule"), (["--dad-schedule", "linear:10:2"], "--dad-schedule"),
            (["--scst-samples", "0"], "--scst-samples"), (["--patience", "-1"], "--patience"),
            (["--save-every", "-1"], "--save-every"), (["--report-every", "0"], "--report-every"),
            (["--valid-metric", "meteor"], "--valid-metric"), (["--attention", "dot", "--encoder-hidden-size", "5"], "dot"),
            (["--output", ""], "--output"), (["--seed", "-1"], "--seed"),
            (["--locale", "a b"], "--locale"),
        ]
        for (extra, mention) in trainCases {
            let r = try CLI.run(train(p, out, extra))
            Hostile.assertCleanFailure(r, mentions: [mention], "train " + extra.joined(separator: " "))
            XCTAssertFalse(r.stderr.contains("given twice"), "train " + extra.joined(separator: " ") + ": " + r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a rejected run must not create its directory")
    }
}
