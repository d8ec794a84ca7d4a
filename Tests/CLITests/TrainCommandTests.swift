import Foundation
import XCTest

/// `mixer-cli train` end to end on a slice of the bundled corpus, in seconds.
final class TrainCommandTests: XCTestCase {
    static func writeSlice(_ dir: URL, train: Int = 60, valid: Int = 12) throws -> [String] {
        let data = CLI.repositoryRoot.appendingPathComponent("data")
        var paths: [String] = []
        for (name, n) in [("train.src", train), ("train.tgt", train), ("valid.src", valid), ("valid.tgt", valid)] {
            let lines = try String(contentsOf: data.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).prefix(n)
            let url = dir.appendingPathComponent(name)
            try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
            paths.append(url.path)
        }
        return paths
    }

    static let tiny = ["--embedding-size", "16", "--hidden-size", "16", "--encoder-hidden-size", "16",
                       "--source-vocab-size", "300", "--target-vocab-size", "200", "--max-source-length", "20",
                       "--max-target-length", "8", "--batch-size", "16"]

    /// `base` then `extra`, with the options that `extra` sets removed from `base` first: an
    /// option given twice is an error, so a test that changes one of ``tiny``'s replaces it.
    static func overriding(_ base: [String], with extra: [String]) -> [String] {
        let names = Set(extra.filter { $0.hasPrefix("--") })
        var out: [String] = []
        var i = 0
        while i < base.count {
            if names.contains(base[i]) {
                i += i + 1 < base.count && !base[i + 1].hasPrefix("--") ? 2 : 1
                continue
            }
            out.append(base[i])
            i += 1
        }
        return out + extra
    }

    func args(_ p: [String], _ out: URL) -> [String] {
        ["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2], "--valid-target", p[3],
         "--output", out.path] + Self.tiny
    }

    func testXENTThenMIXERFromTheXENTCheckpoint() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir)
        let xent = dir.appendingPathComponent("xent")
        let r = try CLI.run(args(p, xent) + ["--epochs", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("epoch 2/2"), r.stderr)
        for f in ["log.jsonl", "last/model.safetensors", "best/config.json", "valid/epoch-002.txt", "valid/reference.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: xent.appendingPathComponent(f).path), f)
        }
        // The validation metric in the log is what `score` prints for the same output.
        let log = try String(contentsOf: xent.appendingPathComponent("log.jsonl"), encoding: .utf8)
        let last = try XCTUnwrap(log.split(separator: "\n").last { $0.contains("\"event\":\"epoch\"") })
        let rec = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let score = try CLI.run(["score", xent.appendingPathComponent("valid/epoch-002.txt").path,
                                 "--ref", xent.appendingPathComponent("valid/reference.txt").path,
                                 "--metrics", "rouge2", "--format", "json"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let js = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any])
        let f = try XCTUnwrap((js["rouge2"] as? [String: Any])?["f"] as? Double)
        XCTAssertEqual(rec["valid_rouge2"] as? Double ?? -1, f, accuracy: 1e-12)

        let mixer = dir.appendingPathComponent("mixer")
        let m = try CLI.run(args(p, mixer) + ["--epochs", "2", "--objective", "mixer", "--xent-epochs", "0",
                                              "--mixer-delta", "4", "--init-from", xent.appendingPathComponent("best").path])
        XCTAssertEqual(m.status, 0, m.stderr)
        let mlog = try String(contentsOf: mixer.appendingPathComponent("log.jsonl"), encoding: .utf8)
        XCTAssertTrue(mlog.contains("\"mean_reward\""), mlog)
        XCTAssertTrue(mlog.contains("\"stage\":\"mixer\""), mlog)
    }

    /// `--objective mixer --init-from X` with no schedule flag runs the whole schedule down to
    /// s = 0 (T = 9, Δ = 3: s = 6, 3, 0, three epochs), with --xent-epochs 0, Adam 0.0003 and
    /// baseline factor 1, saved as values; a schedule cut short and --xent-epochs that leave no
    /// REINFORCE epoch are warned about on stderr and in the start record.
    func testMIXERDefaultsRunTheWholeScheduleAndWarn() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir)
        let xent = dir.appendingPathComponent("xent")
        let r = try CLI.run(args(p, xent) + ["--epochs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let initFrom = xent.appendingPathComponent("best").path
        func start(_ run: URL) throws -> [String: Any] {
            let log = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
            let line = try XCTUnwrap(log.split(separator: "\n").first { $0.contains("\"event\":\"start\"") })
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let mixer = dir.appendingPathComponent("mixer")
        let m = try CLI.run(args(p, mixer) + ["--objective", "mixer", "--mixer-delta", "3", "--init-from", initFrom])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stderr.contains("epoch 3/3"), m.stderr)
        XCTAssertFalse(m.stderr.contains("warning: MIXER"), m.stderr)
        let rec = try start(mixer)
        let o = try XCTUnwrap(rec["options"] as? [String: Any])
        XCTAssertEqual(o["epochs"] as? Int, 3)
        XCTAssertEqual(o["xentEpochs"] as? Int, 0)
        XCTAssertEqual(o["learningRate"] as? Double, 0.0003)
        XCTAssertEqual(o["baselineLearningRateFactor"] as? Double, 1)
        XCTAssertEqual(o["rewardEOS"] as? String, "count")
        XCTAssertNil(rec["warnings"])
        let log = try String(contentsOf: mixer.appendingPathComponent("log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"stage\":\"reinforce\""), "the last epoch is pure REINFORCE (s = 0)")
        let config = try String(contentsOf: mixer.appendingPathComponent("config.yaml"), encoding: .utf8)
        XCTAssertTrue(config.contains("\nepochs: 3\n") && config.contains("\nlearning-rate: 0.0003\n"), config)

        for (extra, expected) in [(["--epochs", "1", "--mixer-delta", "5"], "warning: MIXER's schedule will not finish: --epochs 1 stops at s = 4 of T = 9"),
                                  (["--epochs", "1", "--xent-epochs", "1"], "warning: --xent-epochs 1 leaves no REINFORCE epoch in --epochs 1")] {
            let run = dir.appendingPathComponent("warn-\(UUID().uuidString)")
            let w = try CLI.run(args(p, run) + ["--objective", "mixer", "--init-from", initFrom] + extra)
            XCTAssertEqual(w.status, 0, w.stderr)
            XCTAssertEqual(w.stderr.components(separatedBy: expected).count, 2, "one warning line: \(w.stderr)")
            let warnings = try XCTUnwrap(try start(run)["warnings"] as? [String])
            XCTAssertTrue(warnings.count == 1 && ("warning: " + warnings[0]).hasPrefix(expected), "\(warnings)")
        }
    }

    /// Minimum risk training from an XENT checkpoint, and XENT with label smoothing, through the
    /// executable: both train, log their stage, and record their options in RUN/config.yaml.
    func testRiskAndLabelSmoothing() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir)
        let xent = dir.appendingPathComponent("xent")
        let r = try CLI.run(args(p, xent) + ["--epochs", "1", "--label-smoothing", "0.1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try String(contentsOf: xent.appendingPathComponent("config.yaml"), encoding: .utf8)
        XCTAssertTrue(config.contains("label-smoothing: 0.1"), config)
        let risk = dir.appendingPathComponent("risk")
        let k = try CLI.run(args(p, risk) + ["--epochs", "1", "--objective", "risk", "--risk-candidates", "3",
                                             "--risk-alpha", "2", "--init-from", xent.appendingPathComponent("best").path])
        XCTAssertEqual(k.status, 0, k.stderr)
        let log = try String(contentsOf: risk.appendingPathComponent("log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"stage\":\"risk\""), log)
        XCTAssertTrue(log.contains("\"mean_reward\""), log)
        let rc = try String(contentsOf: risk.appendingPathComponent("config.yaml"), encoding: .utf8)
        XCTAssertTrue(rc.contains("risk-candidates: 3") && rc.contains("objective: risk"), rc)
    }

    /// MIXER training (XENT then REINFORCE stages) writes the same weights with `--threads 1` and
    /// `--threads 2`. The model is large enough (vocabularies of 2,000, hidden 64) that the
    /// products and the optimizer split over the two threads.
    /// `train --copy` with the objectives that sample from the copy distribution: MIXER (an XENT
    /// epoch, then a mixed one), SCST, risk (beam, samples and the reference) and scheduled
    /// sampling run end to end, log their stage (and rewards) and write a copy checkpoint that
    /// decodes; XENT with `--label-smoothing` too.
    func testCopyWithSequenceLevelObjectives() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir)
        for (name, extra) in [("mixer", ["--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "4"]),
                              ("scst", ["--objective", "scst", "--scst-samples", "2"]),
                              ("risk", ["--objective", "risk", "--risk-candidates", "2", "--risk-candidates-from", "both",
                                        "--risk-include-reference"]),
                              ("dad", ["--objective", "dad", "--dad-schedule", "inverse-sigmoid:2"]),
                              ("xent", ["--label-smoothing", "0.1"])] {
            let out = dir.appendingPathComponent(name)
            let r = try CLI.run(args(p, out) + ["--copy", "--epochs", "2"] + extra)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            let log = try String(contentsOf: out.appendingPathComponent("log.jsonl"), encoding: .utf8)
            if name != "dad" && name != "xent" { XCTAssertTrue(log.contains("\"mean_reward\""), "\(name): \(log)") }
            XCTAssertTrue(log.contains("\"stage\":\"\(name == "mixer" ? "xent" : name)\""), "\(name): \(log)")
            let config = try String(contentsOf: out.appendingPathComponent("last/config.json"), encoding: .utf8)
            XCTAssertTrue(config.contains("\"copy\""), "\(name): \(config)")
            let d = try CLI.run(["decode", "--model", out.appendingPathComponent("last").path, "--input", p[2]])
            XCTAssertEqual(d.status, 0, "\(name): \(d.stderr)")
            XCTAssertEqual(d.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 13, name)
        }
    }

    /// `train --copy --coverage` then `decode --strategy beam` (n-best) end to end; the
    /// configuration records coverage; dad is refused, and --coverage-loss-weight without
    /// --coverage is an error, each with a one-line message.
    func testCopyCoverageTrainThenBeamDecode() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir)
        let out = dir.appendingPathComponent("coverage")
        let r = try CLI.run(args(p, out) + ["--copy", "--coverage", "--coverage-loss-weight", "0.5", "--epochs", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try String(contentsOf: out.appendingPathComponent("last/config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"coverage\""), config)
        XCTAssertTrue(config.contains("\"copy\""), config)
        let d = try CLI.run(["decode", "--model", out.appendingPathComponent("last").path, "--input", p[2],
                             "--strategy", "beam", "--beam-size", "3", "--n-best", "2"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertGreaterThanOrEqual(d.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 13, d.stdout)
        let dad = try CLI.run(args(p, dir.appendingPathComponent("dad")) + ["--coverage", "--epochs", "1", "--objective", "dad"])
        XCTAssertEqual(dad.status, 0, dad.stderr)
        let risk = try CLI.run(args(p, dir.appendingPathComponent("risk")) + ["--coverage", "--epochs", "1", "--objective", "risk"])
        XCTAssertNotEqual(risk.status, 0)
        XCTAssertTrue(risk.stderr.contains("--coverage trains with --objective xent, dad, mixer or scst only"), risk.stderr)
        let lone = try CLI.run(args(p, dir.appendingPathComponent("lone")) + ["--coverage-loss-weight", "2", "--epochs", "1"])
        XCTAssertNotEqual(lone.status, 0)
        XCTAssertTrue(lone.stderr.contains("--coverage-loss-weight weights the coverage loss: add --coverage"), lone.stderr)
    }

    func testTrainedWeightsDoNotDependOnThreads() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir, train: 200, valid: 12)
        var sums: [String] = []
        var kernels = Set<String>()
        // A thread sweep: 1, 2, 3 and 7 threads on 2 cores (more threads than cores, and counts
        // that do not divide the products' panels evenly).
        for threads in ["1", "2", "3", "7"] {
            let out = dir.appendingPathComponent("t\(threads)")
            let r = try CLI.run(["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2],
                                 "--valid-target", p[3], "--output", out.path, "--embedding-size", "64", "--hidden-size", "64",
                                 "--encoder-hidden-size", "64", "--source-vocab-size", "2000", "--target-vocab-size", "2000",
                                 "--epochs", "2", "--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "5",
                                 "--threads", threads])
            XCTAssertEqual(r.status, 0, r.stderr)
            if let k = r.stderr.range(of: #"[a-z0-9]+ kernels"#, options: .regularExpression) { kernels.insert(String(r.stderr[k])) }
            let bytes = try [UInt8](Data(contentsOf: out.appendingPathComponent("last/model.safetensors")))
            sums.append(Hostile.sha256(bytes))
        }
        XCTAssertEqual(Set(sums).count, 1, "trained weights differ across --threads 1/2/3/7 (\(kernels))")
        XCTAssertEqual(kernels.count, 1, "\(kernels)")

        // The narrower kernel paths (MIXER_KERNEL, as the benchmarks force them) train the same
        // bits, and the start line names the path taken (never one the CPU lacks).
        for (kernel, threads) in [("avx2", "1"), ("portable", "2")] {
            let out = dir.appendingPathComponent("k-\(kernel)")
            var environment = ProcessInfo.processInfo.environment
            environment["MIXER_KERNEL"] = kernel
            let r = try CLI.run(["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2],
                                 "--valid-target", p[3], "--output", out.path, "--embedding-size", "64", "--hidden-size", "64",
                                 "--encoder-hidden-size", "64", "--source-vocab-size", "2000", "--target-vocab-size", "2000",
                                 "--epochs", "2", "--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "5",
                                 "--threads", threads], environment: environment)
            XCTAssertEqual(r.status, 0, r.stderr)
            let named = r.stderr.range(of: #"[a-z0-9]+ kernels"#, options: .regularExpression).map { String(r.stderr[$0]) }
            XCTAssertTrue(named == "\(kernel) kernels" || (kernel == "avx2" && named == "portable kernels"), "\(named ?? "no kernel named")")
            let bytes = try [UInt8](Data(contentsOf: out.appendingPathComponent("last/model.safetensors")))
            XCTAssertEqual(Hostile.sha256(bytes), sums[0], "MIXER_KERNEL=\(kernel) trains other weights")
        }

        // A value that names no path (a typo) is warned about, not silently read as no cap.
        var typo = ProcessInfo.processInfo.environment
        typo["MIXER_KERNEL"] = "avx"
        let t = try CLI.run(["decode", "--model", dir.appendingPathComponent("t1").path, "--input", p[2]], environment: typo)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stderr.contains("MIXER_KERNEL=avx is not portable, avx2 or avx512"), t.stderr)

        // Decoding through the executable: greedy, beam (n-best with scores) and sampling give
        // the same bytes on 1, 2, 3, 7, 16 and 64 threads, in batches of 32 and of 1.
        let model = dir.appendingPathComponent("t1").path
        for strategy in [["--strategy", "greedy"], ["--strategy", "beam", "--beam-size", "4", "--n-best", "2"],
                         ["--strategy", "sample", "--num-samples", "2", "--seed", "5"]] {
            var outputs = Set<String>()
            for threads in ["1", "2", "3", "7", "16", "64"] {
                for batch in ["32", "1"] {
                    let r = try CLI.run(["decode", "--model", model, "--input", p[2], "--threads", threads,
                                         "--batch-size", batch, "--scores"] + strategy)
                    XCTAssertEqual(r.status, 0, r.stderr)
                    outputs.insert(r.stdout)
                }
            }
            XCTAssertEqual(outputs.count, 1, "\(strategy): decoding depends on --threads or --batch-size (\(kernels))")
        }
    }

    func testBadInputIsAClearError() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try Self.writeSlice(dir)
        let out = dir.appendingPathComponent("run")
        // Different line counts.
        let short = dir.appendingPathComponent("short.tgt")
        try "only one line\n".write(to: short, atomically: true, encoding: .utf8)
        var a = args(p, out)
        a[4] = short.path
        var r = try CLI.run(a)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("short.tgt") && r.stderr.contains("lines"), r.stderr)
        // An empty file.
        let empty = dir.appendingPathComponent("empty.src")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        a = args(p, out)
        a[2] = empty.path
        r = try CLI.run(a)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("empty.src"), r.stderr)
        // Invalid UTF-8 names file and line.
        let bad = dir.appendingPathComponent("bad.src")
        var bytes = Array(try String(contentsOfFile: p[0], encoding: .utf8).utf8)
        if let nl = bytes.firstIndex(of: 0x0A) { bytes.insert(0xFF, at: nl + 3) }
        try Data(bytes).write(to: bad)
        a = args(p, out)
        a[2] = bad.path
        r = try CLI.run(a)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("bad.src:2"), r.stderr)
        // Impossible options.
        for (flag, value) in [("--mixer-delta", "0"), ("--epochs", "0"), ("--dropout", "1.5"), ("--temperature", "0"),
                              ("--dad-schedule", "linear:x"), ("--label-smoothing", "1"), ("--label-smoothing", "-0.1"),
                              ("--risk-candidates", "1"), ("--risk-alpha", "0"), ("--risk-xent-weight", "-1")] {
            r = try CLI.run(args(p, out) + [flag, value])
            XCTAssertNotEqual(r.status, 0, flag)
            XCTAssertTrue(r.stderr.contains(flag), "\(flag): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
        // A missing init checkpoint.
        r = try CLI.run(args(p, out) + ["--init-from", dir.appendingPathComponent("nope").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nope"), r.stderr)
    }
}
