import Foundation
import XCTest
@testable import Seq2Seq

#if canImport(Glibc)
import Glibc
#endif

/// The run directory's guarantees (README "Robustness"), each through the built executable:
/// one writer, readers that never write, a crash at every file-system call, resume that
/// checks what it is given, a state file that cannot crash the tool, an honest guard.
final class RunDirectoryTests: XCTestCase {
    func slice(_ dir: URL, train: Int = 32, valid: Int = 4) throws -> [String] {
        try TrainCommandTests.writeSlice(dir, train: train, valid: valid)
    }

    func args(_ p: [String], _ out: URL) -> [String] {
        ["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2], "--valid-target", p[3],
         "--output", out.path] + TrainCommandTests.tiny
    }

    func start(_ args: [String], stderr: URL? = nil) throws -> Process {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        if let stderr {
            FileManager.default.createFile(atPath: stderr.path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: stderr)
        } else {
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    /// Waits until `condition` holds; fails the test if 300 s pass first.
    func wait(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(300)
        while !condition() {
            if Date() > deadline { XCTFail("timed out waiting", file: file, line: line); return }
            usleep(10_000)
        }
    }

    func records(_ run: URL) throws -> [RunRecord] {
        try TrainingLog.read(run.appendingPathComponent("log.jsonl").path)
    }

    func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    // MARK: - One writer

    /// A second trainer on a locked run gets one line naming the holder's PID, for --output
    /// and for --resume; the first run is not disturbed.
    func testASecondTrainerIsRefusedWithTheHoldersPID() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        let first = try start(args(p, run) + ["--epochs", "200", "--report-every", "1"])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        wait { (try? self.records(run).contains { $0.event == "step" }) ?? false }
        for second in [args(p, run), args(p, run) + ["--overwrite"], ["train", "--resume", run.path]] {
            let r = try CLI.run(second)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("in use by another training process (PID \(first.processIdentifier))"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertTrue(first.isRunning)
        first.interrupt()
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 130)
        XCTAssertEqual(try records(run).filter { $0.event == "start" }.count, 1)
    }

    /// `--output` on a run refuses and changes nothing; `--overwrite` replaces the run and
    /// leaves the directory's other files alone.
    func testOutputRefusesARunAndOverwriteReplacesIt() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1"]).status, 0)
        let note = run.appendingPathComponent("notes.txt")
        try "mine\n".write(to: note, atomically: true, encoding: .utf8)
        let log = try bytes(run.appendingPathComponent("log.jsonl"))
        let model = try bytes(run.appendingPathComponent("last/model.safetensors"))

        let again = try CLI.run(args(p, run) + ["--epochs", "1"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("already holds a run") && again.stderr.contains("--resume")
                      && again.stderr.contains("--overwrite"), again.stderr)
        XCTAssertEqual(try bytes(run.appendingPathComponent("log.jsonl")), log)
        XCTAssertEqual(try bytes(run.appendingPathComponent("last/model.safetensors")), model)

        let over = try CLI.run(args(p, run) + ["--epochs", "1", "--seed", "2", "--overwrite"])
        XCTAssertEqual(over.status, 0, over.stderr)
        XCTAssertEqual(try records(run).filter { $0.event == "start" }.count, 1)
        XCTAssertNotEqual(try bytes(run.appendingPathComponent("last/model.safetensors")), model)
        XCTAssertEqual(try String(contentsOf: note, encoding: .utf8), "mine\n")
    }

    /// A run killed before its first save (a log, no checkpoint) has nothing to resume:
    /// `--output` says so and points to `--overwrite` alone, changing nothing.
    func testOutputOnARunWithoutCheckpointPointsToOverwrite() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1"]).status, 0)
        // What a SIGKILL between the log's first line and the first checkpoint leaves.
        for name in ["last", "best", "head", "checkpoints"] {
            try FileManager.default.removeItem(at: run.appendingPathComponent(name))
        }
        let log = try bytes(run.appendingPathComponent("log.jsonl"))
        let again = try CLI.run(args(p, run) + ["--epochs", "1"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("stopped before its first save") && again.stderr.contains("--overwrite")
                      && !again.stderr.contains("--resume"), again.stderr)
        XCTAssertEqual(try bytes(run.appendingPathComponent("log.jsonl")), log)
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1", "--overwrite"]).status, 0)
    }

    /// A new run that fails before writing anything (here: an empty training file) leaves no
    /// directory behind, and no lock file in a directory that existed.
    func testAFailedNewRunLeavesNothingBehind() throws {
        let dir = try CLI.temporaryDirectory(self)
        var p = try slice(dir)
        let empty = dir.appendingPathComponent("empty.src")
        try Data().write(to: empty)
        p[0] = empty.path
        let fresh = dir.appendingPathComponent("fresh")
        var r = try CLI.run(args(p, fresh))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is empty"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path))
        let existing = dir.appendingPathComponent("existing")
        try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
        try "x".write(to: existing.appendingPathComponent("keep.txt"), atomically: true, encoding: .utf8)
        r = try CLI.run(args(p, existing))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: existing.path), ["keep.txt"])
    }

    // MARK: - Readers

    /// While a trainer saves after every step, `decode --model RUN/last` and `RUN` always get a
    /// whole checkpoint, and the trainer is never disturbed; readers change no file.
    func testReadersDuringSavesNeverFailAndNeverWrite() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir, train: 64)
        let run = dir.appendingPathComponent("run")
        let trainer = try start(TrainCommandTests.overriding(args(p, run), with: ["--epochs", "3", "--save-every", "1", "--batch-size", "4"]))
        defer { if trainer.isRunning { kill(trainer.processIdentifier, SIGKILL) } }
        wait { FileManager.default.fileExists(atPath: run.appendingPathComponent("last/trainer-state.json").path) }
        var reads = 0
        while trainer.isRunning && reads < 40 {
            for model in [run.appendingPathComponent("last").path, run.path] {
                let r = try CLI.run(["decode", "--model", model, "--input", p[2]])
                XCTAssertEqual(r.status, 0, r.stderr)
                XCTAssertEqual(r.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 5)
                reads += 1
            }
        }
        trainer.waitUntilExit()
        XCTAssertEqual(trainer.terminationStatus, 0)
        XCTAssertGreaterThan(reads, 0)

        // Readers of a finished run leave every file as it was.
        func listing() throws -> [String: Data] {
            var out: [String: Data] = [:]
            let e = FileManager.default.enumerator(atPath: run.path)!
            while let name = e.nextObject() as? String {
                let path = run.appendingPathComponent(name).path
                var st = stat()
                lstat(path, &st)
                out[name] = (st.st_mode & S_IFMT) == S_IFREG ? try Data(contentsOf: URL(fileURLWithPath: path))
                                                              : Data((FileIO.readLink(path) ?? "dir").utf8)
            }
            return out
        }
        let before = try listing()
        XCTAssertEqual(try CLI.run(["decode", "--model", run.appendingPathComponent("best").path, "--input", p[2]]).status, 0)
        XCTAssertEqual(try CLI.run(["evaluate", "--model", run.path, "--source", p[2], "--reference", p[3]]).status, 0)
        XCTAssertEqual(try CLI.run(["report", run.path, "--output", dir.appendingPathComponent("r.html").path]).status, 0)
        let other = dir.appendingPathComponent("other")
        XCTAssertEqual(try CLI.run(args(p, other) + ["--epochs", "1", "--init-from", run.appendingPathComponent("last").path]).status, 0)
        XCTAssertEqual(try listing(), before)
    }

    /// A checkpoint whose files are a device or a FIFO is refused at once (no hang, no
    /// unbounded read), naming the file.
    func testNonRegularCheckpointFilesAreRefused() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1"]).status, 0)
        let last = URL(fileURLWithPath: FileIO.resolve(run.appendingPathComponent("last").path)!)
        let model = last.appendingPathComponent("model.safetensors")
        try FileManager.default.removeItem(at: model)
        try FileManager.default.createSymbolicLink(atPath: model.path, withDestinationPath: "/dev/zero")
        var r = try CLI.run(["decode", "--model", run.appendingPathComponent("last").path, "--input", p[2]])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("model.safetensors") && r.stderr.contains("not a regular file"), r.stderr)
        let config = last.appendingPathComponent("config.json")
        try FileManager.default.removeItem(at: config)
        XCTAssertEqual(mkfifo(config.path, 0o644), 0)
        r = try CLI.run(["decode", "--model", run.appendingPathComponent("last").path, "--input", p[2]])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("not a regular file"), r.stderr)
    }

    // MARK: - Every crash point

    /// The process is ended (as by `kill -9`) just before its Nth mutating file-system call,
    /// for every N of a whole run — MIXER with mid-epoch saves. After each crash: `last` and
    /// `best` load (or there is no checkpoint yet), `best` is the epoch `last` reports as best,
    /// and `--resume` (or, with no checkpoint, `--overwrite`) ends with the uninterrupted run's
    /// weights and log, bit for bit.
    func testACrashAtEveryFileSystemCallLosesNothing() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let options = ["--epochs", "2", "--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "4",
                       "--save-every", "1", "--log-samples", "1", "--report-every", "1"]
        let reference = dir.appendingPathComponent("reference")
        let full = try CLI.run(args(p, reference) + options)
        XCTAssertEqual(full.status, 0, full.stderr)
        let expected = try bytes(reference.appendingPathComponent("last/model.safetensors"))
        let expectedBest = try bytes(reference.appendingPathComponent("best/model.safetensors"))
        func epochs(_ run: URL) throws -> [String] {
            try records(run).compactMap { if case .epoch(let e) = $0 { e } else { nil } }
                .map { "\($0.epoch) \($0.validMetric!) \($0.trainLoss!) \($0.best!)" }
        }
        let expectedEpochs = try epochs(reference)
        XCTAssertEqual(expectedEpochs.count, 2)

        var crashes = 0
        for n in 1...2_000 {
            let run = dir.appendingPathComponent("crash-\(n)")
            let r = try CLI.run(args(p, run) + options, environment: ProcessInfo.processInfo.environment
                                .merging(["MIXER_CRASH_AT_FS_OP": "\(n)"]) { $1 })
            if r.status == 0 { break }
            XCTAssertEqual(r.status, FileIO.simulatedCrashStatus, "crash \(n): \(r.stderr)")
            crashes += 1
            let last = run.appendingPathComponent("last").path, best = run.appendingPathComponent("best").path
            if FileIO.exists(last) {
                let l = try TrainedModel(directory: last)
                if let bestEpoch = l.checkpoint.state.validation.bestEpoch {
                    let b = try TrainedModel(directory: best)
                    XCTAssertEqual(b.checkpoint.state.epoch, bestEpoch, "crash \(n): best/ is not the epoch last/ reports")
                    XCTAssertEqual(b.checkpoint.state.step, 0, "crash \(n)")
                } else {
                    XCTAssertFalse(FileIO.exists(best), "crash \(n): a best/ before any epoch ended")
                }
                let resumed = try CLI.run(["train", "--resume", run.path])
                XCTAssertEqual(resumed.status, 0, "crash \(n): \(resumed.stderr)")
            } else {
                let resumed = try CLI.run(["train", "--resume", run.path])
                XCTAssertEqual(resumed.status, 1, "crash \(n)")
                XCTAssertTrue(resumed.stderr.contains("no checkpoint to resume from") || resumed.stderr.contains("no such run"),
                              "crash \(n): \(resumed.stderr)")
                let again = try CLI.run(args(p, run) + options + ["--overwrite"])
                XCTAssertEqual(again.status, 0, "crash \(n): \(again.stderr)")
            }
            XCTAssertEqual(try bytes(run.appendingPathComponent("last/model.safetensors")), expected, "crash \(n): last/ differs")
            XCTAssertEqual(try bytes(run.appendingPathComponent("best/model.safetensors")), expectedBest, "crash \(n): best/ differs")
            XCTAssertEqual(try epochs(run), expectedEpochs, "crash \(n): the log's epochs differ")
            try? FileManager.default.removeItem(at: run)
        }
        XCTAssertGreaterThan(crashes, 100, "the enumeration did not run")
    }

    // MARK: - State

    /// An edited trainer-state.json is caught by its checksum; with the checksum recomputed,
    /// out-of-range fields are errors naming the field — never a crash.
    func testEditedTrainerStateIsAnErrorNotACrash() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1", "--save-every", "1"]).status, 0)
        let snapshot = FileIO.resolve(run.appendingPathComponent("last").path)!
        let stateURL = URL(fileURLWithPath: snapshot + "/trainer-state.json")
        let original = try String(contentsOf: stateURL, encoding: .utf8)
        func edit(_ from: String, _ to: String, rehash: Bool) throws {
            let text = original.replacingOccurrences(of: from, with: to)
            XCTAssertNotEqual(text, original, from)
            try text.write(to: stateURL, atomically: true, encoding: .utf8)
            if rehash {
                try "\(SHA256.hex(Array(text.utf8)))  trainer-state.json\n"
                    .write(toFile: snapshot + "/trainer-state.sha256", atomically: true, encoding: .utf8)
            }
        }
        try edit("\"step\" : 0", "\"step\" : 1000", rehash: false)
        var r = try CLI.run(["train", "--resume", run.path, "--epochs", "2"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("trainer-state.json: checksum mismatch"), r.stderr)
        for (from, to, says) in [("\"step\" : 0", "\"step\" : 1000", "step 1000 is outside an epoch"),
                                 ("\"epoch\" : 1", "\"epoch\" : 9223372036854775807", "epoch 9223372036854775807 is out of range"),
                                 ("\"learningRate\" : 0.001", "\"learningRate\" : -0.001", "learningRate -0.001")] {
            try edit(from, to, rehash: true)
            r = try CLI.run(["train", "--resume", run.path, "--epochs", "2"])
            XCTAssertEqual(r.status, 1, from)
            XCTAssertTrue(r.stderr.contains(says), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    // MARK: - Resume

    /// Flags given with --resume must match the run (except the few that may change); a
    /// finished run is not extended without a larger --epochs; data read from a pipe cannot be
    /// resumed, and the error says so.
    func testResumeChecksWhatItIsGiven() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1", "--learning-rate", "0.002"]).status, 0)
        let log = try bytes(run.appendingPathComponent("log.jsonl"))
        var r = try CLI.run(["train", "--resume", run.path, "--epochs", "2", "--learning-rate", "0.01"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--learning-rate 0.01 differs from the run, which was started with --learning-rate 0.002"), r.stderr)
        r = try CLI.run(["train", "--resume", run.path, "--epochs", "2", "--hidden-size", "32"])
        XCTAssertTrue(r.stderr.contains("--hidden-size 32 differs"), r.stderr)
        r = try CLI.run(["train", "--resume", run.path, "--epochs", "2", "--train-source", p[2]])
        XCTAssertTrue(r.stderr.contains("--train-source"), r.stderr)
        r = try CLI.run(["train", "--resume", run.path])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nothing to do") || r.stderr.contains("already done"), r.stderr)
        XCTAssertEqual(try bytes(run.appendingPathComponent("log.jsonl")), log, "a resume with nothing to do wrote")
        r = try CLI.run(["train", "--resume", run.path, "--epochs", "2", "--learning-rate", "0.002", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try records(run).filter { $0.event == "epoch" }.count, 2)

        // Patience: a run that stopped early stays stopped.
        let patient = dir.appendingPathComponent("patient")
        r = try CLI.run(args(p, patient) + ["--epochs", "5", "--patience", "1", "--learning-rate", "1e-12"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("no improvement for 1 epochs"), r.stderr)
        let done = try records(patient).filter { $0.event == "epoch" }.count
        XCTAssertLessThan(done, 5)
        for _ in 0..<2 {
            r = try CLI.run(["train", "--resume", patient.path])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("has finished"), r.stderr)
        }
        XCTAssertEqual(try records(patient).filter { $0.event == "epoch" }.count, done)

        // A pipe.
        let piped = dir.appendingPathComponent("piped")
        let source = try Data(contentsOf: URL(fileURLWithPath: p[0]))
        var pipedArgs = args(p, piped) + ["--epochs", "1"]
        pipedArgs[pipedArgs.firstIndex(of: p[0])!] = "-"
        r = try CLI.run(pipedArgs, stdin: source)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(["train", "--resume", piped.path, "--epochs", "2"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("from a pipe or device"), r.stderr)
    }

    /// SIGINT, SIGTERM and SIGHUP (a dropped ssh session) each finish the step, save and exit
    /// 130 with the resume command; --resume ends with the weights of an uninterrupted run. The
    /// signal is sent after a given step record inside a REINFORCE stage (not by timing luck),
    /// and the run is long enough that it cannot end first.
    func testSignalsSaveAndResumeIsExact() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let options = ["--epochs", "30", "--report-every", "1", "--objective", "mixer", "--xent-epochs", "1",
                       "--mixer-delta", "20", "--log-samples", "0"]
        let full = dir.appendingPathComponent("full")
        XCTAssertEqual(try CLI.run(args(p, full) + options).status, 0)
        let expected = try bytes(full.appendingPathComponent("last/model.safetensors"))
        for (signal, name) in [(SIGINT, "INT"), (SIGTERM, "TERM"), (SIGHUP, "HUP")] {
            let cut = dir.appendingPathComponent("cut-\(name)")
            let err = dir.appendingPathComponent("stderr-\(name).txt")
            let proc = try start(args(p, cut) + options, stderr: err)
            // Global step 3 is the first step of epoch 2, the first pure REINFORCE epoch.
            wait { ((try? self.records(cut)) ?? []).contains { if case .step(let r) = $0 { r.globalStep == 3 } else { false } } }
            kill(proc.processIdentifier, signal)
            proc.waitUntilExit()
            XCTAssertEqual(proc.terminationReason, .exit, name)
            XCTAssertEqual(proc.terminationStatus, 130, name)
            let text = try String(contentsOf: err, encoding: .utf8)
            XCTAssertTrue(text.contains("resume with --resume \(cut.path)"), "\(name): \(text)")
            let resumed = try CLI.run(["train", "--resume", cut.path])
            XCTAssertEqual(resumed.status, 0, "\(name): \(resumed.stderr)")
            XCTAssertEqual(try bytes(cut.appendingPathComponent("last/model.safetensors")), expected, name)
        }
    }

    // MARK: - The guard

    /// A learning rate of 10^6 gives finite but exploding losses: the guard skips those
    /// updates, stops the run with a non-zero exit, never calls an epoch "(best)" on an
    /// infinite perplexity, and names only a checkpoint that exists.
    func testTheGuardCatchesAFiniteExplosion() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let run = dir.appendingPathComponent("run")
        let r = try CLI.run(TrainCommandTests.overriding(args(p, run), with: ["--epochs", "3", "--learning-rate", "1e6", "--batch-size", "4"]))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("training diverged"), r.stderr)
        XCTAssertFalse(r.stderr.contains("inf  (best)") || r.stderr.contains("nan  (best)"), r.stderr)
        let says = try XCTUnwrap(r.stderr.split(separator: "\n").last { $0.contains("diverged") })
        if says.contains("no checkpoint was written yet") {
            XCTAssertFalse(FileIO.exists(run.appendingPathComponent("last").path), String(says))
        } else {
            XCTAssertTrue(says.contains(run.appendingPathComponent("last").path), String(says))
            XCTAssertNoThrow(try TrainedModel(directory: run.appendingPathComponent("last").path))
        }
        XCTAssertTrue(try records(run).contains { $0.event == "skipped_step" })
    }
}
