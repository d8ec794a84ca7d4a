import Foundation
import XCTest

/// One option surface (docs/cli.md): the canonical names and their old spellings, short
/// aliases, the repeated-option error, enum-valued options, and `train --config FILE`.
final class OptionSurfaceTests: XCTestCase {
    func write(_ dir: URL, _ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    // MARK: - Names and aliases

    /// `score`: --reference, -r and the old --ref are one option; --bootstrap-seed and the old
    /// --seed are one seed.
    func testScoreAliasesGiveTheSameOutput() throws {
        let dir = try CLI.temporaryDirectory(self)
        let hyp = try write(dir, "hyp.txt", "the cat sat on the mat\na dog barks\n")
        let ref = try write(dir, "ref.txt", "the cat sat on a mat\nthe dog barks\n")
        let base = ["--metrics", "bleu,rouge1", "--confidence", "--samples", "40"]
        let canonical = try CLI.run(["score", hyp, "--reference", ref, "--bootstrap-seed", "9"] + base)
        XCTAssertEqual(canonical.status, 0, canonical.stderr)
        for spelling in [["-r", ref, "--bootstrap-seed", "9"], ["--ref", ref, "--seed", "9"], ["--reference=\(ref)", "--seed=9"]] {
            let r = try CLI.run(["score", hyp] + spelling + base)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, canonical.stdout, spelling.joined(separator: " "))
        }
        let other = try CLI.run(["score", hyp, "-r", ref, "--bootstrap-seed", "10"] + base)
        XCTAssertNotEqual(other.stdout, canonical.stdout, "the seed must reach the bootstrap")
        // Several references mix the names, in order.
        let two = try CLI.run(["score", hyp, "-r", ref, "--ref", hyp])
        let twoCanonical = try CLI.run(["score", hyp, "--reference", ref, "--reference", hyp])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(two.stdout, twoCanonical.stdout)
        XCTAssertTrue(two.stdout.contains("nrefs:2"), two.stdout)
    }

    /// `decode -i -o` and `evaluate -i -r -o` (and evaluate's old --source) name the same files.
    func testDecodeAndEvaluateShortNames() throws {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, references) = try TinyCheckpoint.make(in: model)
        let src = try write(dir, "s.txt", sources.joined(separator: "\n") + "\n")
        let ref = try write(dir, "r.txt", references.joined(separator: "\n") + "\n")
        let long = dir.appendingPathComponent("long.txt").path, short = dir.appendingPathComponent("short.txt").path
        XCTAssertEqual(try CLI.run(["decode", "--model", model.path, "--input", src, "--output", long]).status, 0)
        let r = try CLI.run(["decode", "--model", model.path, "-i", src, "-o", short])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: short, encoding: .utf8), try String(contentsOfFile: long, encoding: .utf8))
        let old = try CLI.run(["evaluate", "--model", model.path, "--source", src, "--reference", ref, "--format", "json"])
        XCTAssertEqual(old.status, 0, old.stderr)
        let kept = dir.appendingPathComponent("kept.txt").path
        let new = try CLI.run(["evaluate", "--model", model.path, "-i", src, "-r", ref, "-f", "json", "-o", kept])
        XCTAssertEqual(new.status, 0, new.stderr)
        XCTAssertEqual(new.stdout, old.stdout)
        XCTAssertEqual(try String(contentsOfFile: kept, encoding: .utf8), try String(contentsOfFile: long, encoding: .utf8))
        let both = try CLI.run(["evaluate", "--model", model.path, "-i", src, "--source", src, "-r", ref])
        XCTAssertEqual(both.status, 64)
        XCTAssertTrue(both.stderr.contains("--input given twice"), both.stderr)
    }

    /// The help lists the canonical names and short aliases, not the hidden old spellings.
    func testHelpShowsCanonicalNamesOnly() throws {
        let score = try CLI.run(["score", "--help"]).stdout
        XCTAssertTrue(score.contains("-r, --reference <reference>"), score)
        XCTAssertTrue(score.contains("--bootstrap-seed <bootstrap-seed>"), score)
        XCTAssertFalse(score.contains("--ref <"), score)
        XCTAssertFalse(score.contains("--seed <"), score)
        let evaluate = try CLI.run(["evaluate", "--help"]).stdout
        XCTAssertTrue(evaluate.contains("-i, --input <input>"), evaluate)
        XCTAssertFalse(evaluate.contains("--source <"), evaluate)
        XCTAssertTrue(evaluate.contains("--seed <seed>"), "evaluate's --seed is the sampling seed, as decode's")
        let decode = try CLI.run(["decode", "--help"]).stdout
        XCTAssertTrue(decode.contains("-i, --input <input>") && decode.contains("-o, --output <output>"), decode)
        XCTAssertFalse(decode.contains("OPENBLAS"), decode)
        let train = try CLI.run(["train", "--help"]).stdout
        XCTAssertTrue(train.contains("-o, --output <output>") && train.contains("--config <config>"), train)
    }

    // MARK: - An option given twice

    /// Every command refuses a single-valued option given twice (any spelling), naming it;
    /// repeatable options (--reference, -i, -m) stay repeatable.
    func testAnOptionGivenTwiceIsAnError() throws {
        let dir = try CLI.temporaryDirectory(self)
        let f = try write(dir, "f.txt", "a b\n")
        let cases: [([String], String)] = [
            (["train", "--epochs", "1", "--epochs", "2", "-o", dir.appendingPathComponent("run").path], "--epochs given twice"),
            (["train", "--epochs=1", "--epochs", "2", "-o", dir.appendingPathComponent("run").path], "--epochs given twice"),
            (["train", "-o", "a", "--output", "b"], "--output given twice"),
            (["score", f, "-r", f, "--width", "1", "-w", "2"], "--width given twice"),
            (["score", f, "-r", f, "--bootstrap-seed", "1", "--seed", "2"], "--bootstrap-seed given twice"),
            (["score", f, "-r", f, "--tokenize", "13a", "-tok", "intl"], "--tokenize given twice"),
            (["decode", "--model", f, "--beam-size", "2", "--strategy", "beam", "--beam-size", "3"], "--beam-size given twice"),
            (["decode", "--model", f, "--model", f], "--model given twice"),
            (["evaluate", "--model", f, "-i", f, "-r", f, "--format", "json", "-f", "text"], "--format given twice"),
            (["tokenize", "--normalization", "nfc", "--normalization", "nfkc"], "--normalization given twice"),
            (["vocab", "--min-count", "1", "--min-count", "2", f], "--min-count given twice"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(args, stdin: Data())
            XCTAssertEqual(r.status, 64, args.joined(separator: " ") + ": " + r.stderr)
            XCTAssertTrue(r.stderr.contains(message), args.joined(separator: " ") + ": " + r.stderr)
            XCTAssertTrue(r.stderr.contains("Usage: mixer-cli \(args[0])"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path))
        // A value that looks like the option is a value; repeatable options repeat.
        let ok = try CLI.run(["score", "-r", f, "-r", f, "-i", f, "-m", "bleu", "-m", "chrf"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    /// The benchmark drivers share train's model options (and the repeated-option error); the
    /// old `--size` and `--batch` still work.
    func testBenchDriversShareTheOptions() throws {
        func run(_ tool: String, _ args: [String]) throws -> CLI.Result {
            let p = Process()
            p.executableURL = CLI.executable.deletingLastPathComponent().appendingPathComponent(tool)
            p.arguments = args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                              stderr: String(decoding: e, as: UTF8.self), stdoutData: o)
        }
        func loss(_ r: CLI.Result) -> Substring? { r.stdout.split(separator: ",").first { $0.contains("\"loss\"") } }
        let common = ["train", "--threads", "1", "--steps", "1", "--warmup", "0", "--vocab", "50", "--source-length", "5", "--target-length", "4"]
        let canonical = try run("mixer-bench", common + ["--embedding-size", "8", "--hidden-size", "8", "--encoder-hidden-size", "8", "--batch-size", "4"])
        XCTAssertEqual(canonical.status, 0, canonical.stderr)
        let old = try run("mixer-bench", common + ["--size", "8", "--batch", "4"])
        XCTAssertEqual(old.status, 0, old.stderr)
        XCTAssertNotNil(loss(canonical))
        XCTAssertEqual(loss(old), loss(canonical))
        let twice = try run("mixer-bench", common + ["--dropout", "0.1", "--dropout", "0.2"])
        XCTAssertEqual(twice.status, 64)
        XCTAssertTrue(twice.stderr.contains("--dropout given twice"), twice.stderr)
        let bad = try run("mixer-bench", common + ["--dropout", "1"])
        XCTAssertTrue(bad.stderr.contains("--dropout must be in [0, 1)"), bad.stderr)
        let decode = try run("decode-bench", ["--threads", "1", "--threads", "2"])
        XCTAssertEqual(decode.status, 64)
        XCTAssertTrue(decode.stderr.contains("--threads given twice"), decode.stderr)
    }

    // MARK: - Enum-valued options

    /// Tokenizers, smoothing, formats and metrics are listed in the help and a bad one gets
    /// ArgumentParser's error with the choices.
    func testEnumOptionsListTheirValues() throws {
        let dir = try CLI.temporaryDirectory(self)
        let f = try write(dir, "f.txt", "a b\n")
        let cases: [([String], [String])] = [
            (["--tokenize", "moses"], ["'moses' is invalid for '--tokenize", "'13a'", "'intl'"]),
            (["--smooth", "add-one"], ["'add-one' is invalid for '--smooth", "'add-k'"]),
            (["--rouge-tokenizer", "nltk"], ["'nltk' is invalid for '--rouge-tokenizer", "'compatible'", "'unicode'"]),
            (["--format", "xml"], ["'xml' is invalid for '--format", "sacrebleu-json"]),
            (["--metrics", "bleu,meteor"], ["'bleu,meteor' is invalid for '--metrics", "rougeLsum"]),
            (["-m", "bleu", "meteor"], ["'meteor' is invalid for '-m", "chrf++"]),
        ]
        for (extra, mentions) in cases {
            let r = try CLI.run(["score", f, "-r", f] + extra)
            XCTAssertEqual(r.status, 64, extra.joined(separator: " "))
            for m in mentions { XCTAssertTrue(r.stderr.contains(m), "\(extra): expected \(m) in \(r.stderr)") }
        }
        let help = try CLI.run(["score", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(help.contains("values: 13a, intl, zh, char, none"), help)
        XCTAssertTrue(help.contains("values: text, json, sacrebleu-text, sacrebleu-json, csv"), help)
    }

    // MARK: - train --config

    func trainData(_ dir: URL) throws -> String {
        let p = try TrainCommandTests.writeSlice(dir, train: 24, valid: 4)
        return """
            train-source: \(p[0])
            train-target: \(p[1])
            valid-source: \(p[2])
            valid-target: \(p[3])
            embedding-size: 16
            hidden-size: 16
            encoder-hidden-size: 16
            source-vocab-size: 300
            target-vocab-size: 200
            max-source-length: 20
            max-target-length: 8
            batch-size: 8

            """
    }

    /// The config's values are used, the command line overrides them, and RUN/config.yaml
    /// records every option, the effective values and the exact command line; reading it back
    /// gives the same run, bit for bit.
    func testConfigFileValuesOverridesAndRecord() throws {
        let dir = try CLI.temporaryDirectory(self)
        let config = try write(dir, "c.yaml", try trainData(dir) + "epochs: 1\nseed: 5\nreward-recall: true\nlog-samples: 0\ndropout: 0.25\n")
        let run = dir.appendingPathComponent("run")
        let r = try CLI.run(["train", "--config", config, "-o", run.path, "--seed", "6", "--report-every", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let saved = try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)
        let lines = saved.split(separator: "\n").map(String.init)
        for expected in ["seed: 6", "epochs: 1", "reward-recall: true", "dropout: 0.25", "report-every: 3", "embedding-size: 16",
                         "objective: xent", "log-samples: 0"] {
            XCTAssertTrue(lines.contains(expected), "\(expected) in \(saved)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("# command: ") && $0.hasSuffix("train --config \(config) -o \(run.path) --seed 6 --report-every 3") }, saved)
        // Every option of train is a key (the run's place and --config itself excepted).
        let help = try CLI.run(["train", "--help"]).stdout
        let options = Set(help.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "--"), line.hasPrefix("  -") else { return nil }
            return String(line[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" })
        }).subtracting(["help", "version", "config", "output", "resume", "overwrite", "init-from"])
        let keys = Set(lines.compactMap { line -> String? in
            let l = line.hasPrefix("# ") ? String(line.dropFirst(2)) : line
            guard let colon = l.firstIndex(of: ":"), !l.hasPrefix("command"), !l.contains(" ") || l.firstIndex(of: " ")! > colon else { return nil }
            return String(l[..<colon])
        })
        XCTAssertEqual(keys.symmetricDifference(options), [], "config.yaml keys vs train's options")
        // Read back: the same configuration and the same weights.
        let again = dir.appendingPathComponent("again")
        let r2 = try CLI.run(["train", "--config", run.appendingPathComponent("config.yaml").path, "--output", again.path])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let saved2 = try String(contentsOf: again.appendingPathComponent("config.yaml"), encoding: .utf8)
        XCTAssertEqual(saved2.split(separator: "\n").filter { !$0.hasPrefix("# command") },
                       saved.split(separator: "\n").filter { !$0.hasPrefix("# command") })
        XCTAssertEqual(try Data(contentsOf: again.appendingPathComponent("last/model.safetensors")),
                       try Data(contentsOf: run.appendingPathComponent("last/model.safetensors")))
        // --resume with the run's own config is no conflict, and keeps the original config.yaml;
        // a changed value is.
        let resumed = try CLI.run(["train", "--resume", run.path, "--config", run.appendingPathComponent("config.yaml").path, "--epochs", "2"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8), saved)
        let changed = try write(dir, "changed.yaml", "seed: 7\n")
        let conflict = try CLI.run(["train", "--resume", run.path, "--config", changed, "--epochs", "3"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertTrue(conflict.stderr.contains("--seed=7 differs from the run"), conflict.stderr)
    }

    /// Bad config files are errors naming the file, the line and the key; nothing is created.
    func testBadConfigFilesAreClearErrors() throws {
        let dir = try CLI.temporaryDirectory(self)
        let data = try trainData(dir)
        let run = dir.appendingPathComponent("run")
        let cases: [(String, [String])] = [
            ("epochs: ten\n", ["c.yaml:1: epochs:", "'ten' is invalid for '--epochs"]),
            ("seed: 1\nepochz: 2\n", ["c.yaml:2: unknown key 'epochz'"]),
            ("output: elsewhere\n", ["c.yaml:1: unknown key 'output'", "command line only"]),
            ("epochs: 1\nepochs: 2\n", ["c.yaml: not valid YAML", "duplicated key", "'epochs'"]),
            ("reward-recall: 3\n", ["c.yaml:1: 'reward-recall' is a flag", "true or false"]),
            ("epochs: [1, 2]\n", ["c.yaml:1: 'epochs' takes one value, not a list"]),
            ("epochs: {a: 1}\n", ["c.yaml:1: 'epochs' takes one value, not a mapping"]),
            ("- epochs\n", ["c.yaml:1: a config file is a mapping"]),
            ("epochs: [1\n", ["c.yaml: not valid YAML"]),
            ("\n\nmixer-delta: 0\n", ["c.yaml:3: mixer-delta: --mixer-delta must be at least 1"]),
            ("objective: ppo\n", ["c.yaml:1: objective:", "'ppo' is invalid"]),
        ]
        for (text, mentions) in cases {
            let config = try write(dir, "c.yaml", text)
            let r = try CLI.run(["train", "--config", config, "--output", run.path])
            XCTAssertEqual(r.status, 64, text + r.stderr)
            for m in mentions { XCTAssertTrue(r.stderr.contains(m), "\(text): expected \(m) in \(r.stderr)") }
        }
        let missing = try CLI.run(["train", "--config", dir.appendingPathComponent("nope.yaml").path, "--output", run.path])
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("nope.yaml: No such file"), missing.stderr)
        let twice = try CLI.run(["train", "--config", "a.yaml", "--config", "b.yaml", "--output", run.path])
        XCTAssertTrue(twice.stderr.contains("--config given twice"), twice.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "a rejected run must not create its directory")
        // A command-line value that is bad is reported as the command line's, not the file's.
        let config = try write(dir, "c.yaml", data + "epochs: 1\n")
        let cli = try CLI.run(["train", "--config", config, "--output", run.path, "--batch-size", "0"])
        XCTAssertEqual(cli.status, 64)
        XCTAssertTrue(cli.stderr.contains("Error: --batch-size must be at least 1"), cli.stderr)
    }
}
