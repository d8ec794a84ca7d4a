import Foundation
import XCTest
@testable import Seq2Seq

/// `mpirun --oversubscribe -np 2 mixer-cli train …` on this machine (docs/distributed.md): two
/// ranks train the run one process trains, up to the order of one sum; a fixed N repeats bit
/// for bit; a killed rank ends the job; SIGTERM to mpirun saves; `--resume` goes on with
/// another N. Skipped, with the reason, where Open MPI's `mpirun` or `libmpi` is missing
/// (`make deps` installs them).
final class DistributedTests: XCTestCase {
    /// The stated tolerance of N = 2 against N = 1 on these short runs: every weight within
    /// 1e-5 and every epoch's training loss within 1e-5 (relative). The two runs differ only in
    /// the order of the sums over a batch's rows (each rank's partial sum, then the allreduce),
    /// ~1e-7 relative per step in float; seen: 1e-7 to 3e-7 on weights after 26–39 updates.
    static let weightTolerance: Float = 1e-5
    static let lossTolerance = 1e-5

    var mpirun: String!

    override func setUpWithError() throws {
        let candidates = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"] +
            (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/mpirun" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("DistributedTests: SKIPPED: mpirun is not installed (make deps installs openmpi-bin and libopenmpi-dev)")
            throw XCTSkip("mpirun is not installed (make deps installs openmpi-bin and libopenmpi-dev)")
        }
        guard dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL) != nil else {
            print("DistributedTests: SKIPPED: libmpi.so.40 cannot be loaded (make deps installs libopenmpi-dev)")
            throw XCTSkip("libmpi.so.40 cannot be loaded (make deps installs libopenmpi-dev)")
        }
        mpirun = found
    }

    /// The environment of mpirun: as root (the CI's user) Open MPI wants both variables.
    static var environment: [String: String] {
        var e = ProcessInfo.processInfo.environment
        e["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        // No launcher variables leak in from a test runner that was itself started by mpirun.
        for k in e.keys where k.hasPrefix("OMPI_COMM_WORLD") || k.hasPrefix("PMIX_") { e[k] = nil }
        return e
    }

    /// Starts `mixer-cli args` under `mpirun -np n` (n = 1: the plain executable), with
    /// `environment` added to the process's.
    func start(_ n: Int, _ args: [String], log: URL, environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        if n == 1 {
            p.executableURL = CLI.executable
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: mpirun)
            p.arguments = ["--oversubscribe", "-np", "\(n)", CLI.executable.path] + args
        }
        p.environment = Self.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits for `p` at most `seconds`; kills it (and says so) if it runs longer.
    func wait(_ p: Process, seconds: Double, _ what: String) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            XCTFail("\(what) still runs after \(Int(seconds)) s: a rank hangs")
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        return p.terminationStatus
    }

    /// Runs to the end: the exit status and the console.
    func train(_ n: Int, _ args: [String], in dir: URL, environment: [String: String] = [:]) throws -> (status: Int32, console: String) {
        let log = dir.appendingPathComponent("console-\(UUID().uuidString).txt")
        let p = try start(n, args, log: log, environment: environment)
        let status = wait(p, seconds: 300, "mixer-cli train on \(n) processes")
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    var data: [String] = []

    func args(_ out: URL, _ extra: [String]) -> [String] {
        ["train", "--train-source", data[0], "--train-target", data[1], "--valid-source", data[2], "--valid-target", data[3],
         "--output", out.path, "--threads", "1", "--seed", "5"]
            + TrainCommandTests.overriding(TrainCommandTests.tiny, with: ["--max-source-length", "24", "--max-target-length", "10"])
            + extra
    }

    func weights(_ run: URL, _ file: String = "model.safetensors") throws -> [String: [Float]] {
        let t = try SafeTensorsFile.read(run.appendingPathComponent("last/" + file).path)
        var out: [String: [Float]] = [:]
        for info in t.tensors { out[info.name] = try XCTUnwrap(t.floats(info.name)) }
        return out
    }

    func assertClose(_ a: URL, _ b: URL, file: String = "model.safetensors", _ what: String) throws {
        let x = try weights(a, file), y = try weights(b, file)
        XCTAssertEqual(Set(x.keys), Set(y.keys))
        var worst: Float = 0, worstName = ""
        for (k, v) in x {
            let w = try XCTUnwrap(y[k])
            XCTAssertEqual(v.count, w.count, k)
            for (p, q) in zip(v, w) where abs(p - q) > worst { worst = abs(p - q); worstName = k }
        }
        print("DistributedTests: \(what): largest weight difference \(worst) (\(worstName)) in \(file)")
        XCTAssertLessThanOrEqual(worst, Self.weightTolerance, "\(what): \(worstName) differs by \(worst)")
        XCTAssertGreaterThan(x.values.map { $0.count }.reduce(0, +), 0)
    }

    func epochLosses(_ run: URL) throws -> [Double] {
        try TrainingLog.read(run.appendingPathComponent("log.jsonl").path).compactMap {
            if case .epoch(let e) = $0 { return e.trainLoss ?? .nan } else { return nil }
        }
    }

    func randomStates(_ run: URL) throws -> [String: UInt64] {
        try Checkpoint.open(run.appendingPathComponent("last").path).state.randomStates
    }

    func assertSameRun(_ one: URL, _ two: URL, aux: Bool, _ what: String) throws {
        try assertClose(one, two, what)
        if aux { try assertClose(one, two, file: "auxiliary.safetensors", what) }
        let a = try epochLosses(one), b = try epochLosses(two)
        XCTAssertEqual(a.count, b.count, what)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: Self.lossTolerance * abs(x), "\(what): epoch losses \(a) vs \(b)") }
        // Every row drew what it draws in one process: the streams end in the same states.
        XCTAssertEqual(try randomStates(one), try randomStates(two), what)
    }

    func prepare() throws -> URL {
        let dir = try CLI.temporaryDirectory(self)
        data = try TrainCommandTests.writeSlice(dir, train: 150, valid: 12)
        return dir
    }

    /// XENT with dropout: N = 2 gives N = 1's run (weights, losses, streams), and a second
    /// N = 2 run gives the same bytes.
    func testXENTOnTwoRanksIsTheOneProcessRun() throws {
        let dir = try prepare()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two"), again = dir.appendingPathComponent("again")
        let extra = ["--epochs", "2", "--dropout", "0.2"]
        var r = try train(1, args(one, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        XCTAssertTrue(r.console.contains("single process"), r.console)
        r = try train(2, args(two, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        XCTAssertTrue(r.console.contains("2 processes (Open MPI)"), r.console)
        XCTAssertEqual(r.console.components(separatedBy: "epoch 2/2 (").count, 2, "rank 0 alone prints:\n\(r.console)")
        try assertSameRun(one, two, aux: false, "xent, N = 2 against N = 1")
        r = try train(2, args(again, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        // The buckets reduced during backward give the bits of the reduction after it.
        let serial = dir.appendingPathComponent("serial")
        r = try train(2, args(serial, extra), in: dir, environment: ["MIXER_OVERLAP": "0"])
        XCTAssertEqual(r.status, 0, r.console)
        for f in ["model.safetensors", "optimizer.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: two.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: again.appendingPathComponent("last/" + f)), "N = 2 repeated: \(f)")
            XCTAssertEqual(try Data(contentsOf: two.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: serial.appendingPathComponent("last/" + f)), "N = 2 without overlap: \(f)")
        }
    }

    /// MIXER (XENT, then two REINFORCE stages with sampling, rewards and learned baselines):
    /// N = 2 gives N = 1's run, the baseline regressors included; repeats are bit-identical.
    func testMIXEROnTwoRanksIsTheOneProcessRun() throws {
        let dir = try prepare()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two"), again = dir.appendingPathComponent("again")
        let extra = ["--epochs", "3", "--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "5", "--dropout", "0.1"]
        var r = try train(1, args(one, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        r = try train(2, args(two, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        try assertSameRun(one, two, aux: true, "mixer, N = 2 against N = 1")
        let log = try TrainingLog.read(two.appendingPathComponent("log.jsonl").path)
        XCTAssertTrue(log.contains { if case .epoch(let e) = $0 { e.stage == "reinforce" || e.stage == "mixer" } else { false } })
        r = try train(2, args(again, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        for f in ["model.safetensors", "auxiliary.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: two.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: again.appendingPathComponent("last/" + f)), "N = 2 repeated: \(f)")
        }
    }

    /// Batches smaller than the group (one pair per batch on 2 ranks): the rank without rows
    /// takes part in every collective and keeps its streams in step; the run is N = 1's.
    func testARankWithoutRowsInABatch() throws {
        let dir = try prepare()
        data = try TrainCommandTests.writeSlice(dir, train: 30, valid: 6)
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let extra = ["--epochs", "2", "--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "5", "--batch-size", "1"]
        let a = TrainCommandTests.overriding(args(one, []), with: extra), b = TrainCommandTests.overriding(args(two, []), with: extra)
        var r = try train(1, a, in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        r = try train(2, b, in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        try assertSameRun(one, two, aux: true, "batches of one pair, N = 2 against N = 1")
    }

    /// `extra` on 1 process, on 2, on 2 again, and on 2 with the reduction after backward
    /// (`MIXER_OVERLAP=0`): N = 2 is N = 1's run within the tolerance (weights, epoch losses,
    /// and the random streams' final states exactly: every row drew where it draws in one
    /// process); the repeat, and the run without overlap, have the same bytes.
    func assertTwoRanksAreOneProcess(_ extra: [String], _ what: String) throws {
        let dir = try prepare()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two"), again = dir.appendingPathComponent("again")
        var r = try train(1, args(one, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        r = try train(2, args(two, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        XCTAssertTrue(r.console.contains("2 processes (Open MPI)"), r.console)
        try assertSameRun(one, two, aux: false, "\(what), N = 2 against N = 1")
        r = try train(2, args(again, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        let serial = dir.appendingPathComponent("serial")
        r = try train(2, args(serial, extra), in: dir, environment: ["MIXER_OVERLAP": "0"])
        XCTAssertEqual(r.status, 0, r.console)
        for f in ["model.safetensors", "optimizer.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: two.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: again.appendingPathComponent("last/" + f)), "\(what), N = 2 repeated: \(f)")
            XCTAssertEqual(try Data(contentsOf: two.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: serial.appendingPathComponent("last/" + f)), "\(what), N = 2 without overlap: \(f)")
        }
    }

    /// DAD (scheduled sampling, sampled feed, dropout, label smoothing): every row's coins and
    /// samples are the one-process draws (the other ranks' coins replayed).
    func testDADOnTwoRanksIsTheOneProcessRun() throws {
        try assertTwoRanksAreOneProcess(["--epochs", "2", "--objective", "dad", "--dad-schedule", "linear:15:0.2",
                                         "--dropout", "0.1", "--label-smoothing", "0.1"], "dad")
    }

    /// SCST with k = 2 samples per source and the greedy baseline, dropout on.
    func testSCSTOnTwoRanksIsTheOneProcessRun() throws {
        try assertTwoRanksAreOneProcess(["--epochs", "2", "--objective", "scst", "--scst-samples", "2", "--dropout", "0.1"], "scst")
    }

    /// Minimum risk training with sampled and beam candidates and the reference, merged
    /// duplicates, the XENT term, dropout: the forced pass's rows are a shard of every rank's.
    func testRiskOnTwoRanksIsTheOneProcessRun() throws {
        try assertTwoRanksAreOneProcess(["--epochs", "2", "--objective", "risk", "--risk-candidates", "2",
                                         "--risk-candidates-from", "both", "--risk-include-reference", "--dropout", "0.1"], "risk")
    }

    /// DAD (argmax feed), SCST (mean baseline) and risk (samples kept as drawn) on batches of
    /// one pair: the rank without rows replays the coins, skips the masks and samples, and
    /// takes part in the gathers; each run is N = 1's.
    func testSamplingObjectivesWithARankWithoutRows() throws {
        let dir = try prepare()
        data = try TrainCommandTests.writeSlice(dir, train: 24, valid: 6)
        let runs: [(String, [String])] = [
            ("dad", ["--objective", "dad", "--dad-schedule", "linear:10:0.3", "--dad-feed", "argmax"]),
            ("scst", ["--objective", "scst", "--scst-samples", "2", "--scst-baseline", "mean"]),
            ("risk", ["--objective", "risk", "--risk-candidates", "2", "--risk-duplicates", "keep"]),
            ("risk-beam", ["--objective", "risk", "--risk-candidates", "2", "--risk-candidates-from", "beam"]),
        ]
        for (name, objective) in runs {
            let extra = ["--epochs", "1", "--batch-size", "1", "--dropout", "0.1"] + objective
            let one = dir.appendingPathComponent(name + "-one"), two = dir.appendingPathComponent(name + "-two")
            let a = TrainCommandTests.overriding(args(one, []), with: extra), b = TrainCommandTests.overriding(args(two, []), with: extra)
            var r = try train(1, a, in: dir)
            XCTAssertEqual(r.status, 0, r.console)
            r = try train(2, b, in: dir)
            XCTAssertEqual(r.status, 0, r.console)
            try assertSameRun(one, two, aux: false, "\(name), batches of one pair, N = 2 against N = 1")
        }
    }

    /// A rank killed with SIGKILL mid-run: mpirun ends the job (non-zero) within seconds.
    func testAKilledRankEndsTheJob() throws {
        let dir = try prepare()
        let out = dir.appendingPathComponent("run")
        let p = try start(2, args(out, ["--epochs", "1000"]), log: dir.appendingPathComponent("console.txt"))
        // Wait until training is under way (the first epoch logged).
        let log = out.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\"event\":\"epoch\"") == false {
            usleep(100_000)
        }
        let ranks = try children(of: p.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "mpirun's ranks")
        let victim = try XCTUnwrap(ranks.last)
        kill(victim, SIGKILL)
        let killed = Date()
        let status = wait(p, seconds: 60, "mpirun after a rank was killed")
        XCTAssertNotEqual(status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(killed), 60)
        // No rank is left running (a zombie waiting for its reaper has ended).
        let grace = Date().addingTimeInterval(10)
        while Date() < grace && ranks.contains(where: isRunning) { usleep(100_000) }
        for pid in ranks { XCTAssertFalse(isRunning(pid), "rank \(pid) outlived the job") }
    }

    /// Whether `pid` exists and is not a zombie.
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// SIGTERM to mpirun: every rank stops after the same step, rank 0 saves; `--resume` on
    /// one process then ends with the weights of the run that was never stopped (N = 1), and a
    /// run begun on one process goes on with two.
    func testSignalSavesAndResumeOnAnotherProcessCount() throws {
        let dir = try prepare()
        let straight = dir.appendingPathComponent("straight"), stopped = dir.appendingPathComponent("stopped")
        // Long enough (120 steps) for the signal to land mid-run.
        let extra = ["--epochs", "12", "--objective", "mixer", "--xent-epochs", "2", "--mixer-delta", "5"]
        var r = try train(1, args(straight, extra), in: dir)
        XCTAssertEqual(r.status, 0, r.console)

        let p = try start(2, args(stopped, extra + ["--report-every", "1"]), log: dir.appendingPathComponent("stopped.txt"))
        let log = stopped.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && p.isRunning, ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\"event\":\"step\"") == false {
            usleep(20_000)
        }
        kill(p.processIdentifier, SIGTERM)
        _ = wait(p, seconds: 120, "mpirun after SIGTERM")
        // Rank 0 saved and logged the interruption (its console may be cut short: mpirun, which
        // forwards it, is ending too).
        let interrupted = try TrainingLog.read(log.path).contains {
            if case .end(let e) = $0 { e.reason.hasPrefix("interrupted at epoch") } else { false }
        }
        if !interrupted {
            // The signal came after the last step: nothing to resume.
            print("DistributedTests: the run finished before SIGTERM reached it; the resume was not exercised")
        } else {
            XCTAssertTrue(FileManager.default.fileExists(atPath: stopped.appendingPathComponent("last/model.safetensors").path))
            r = try train(1, ["train", "--resume", stopped.path], in: dir)
            XCTAssertEqual(r.status, 0, r.console)
        }
        try assertSameRun(straight, stopped, aux: true, "stopped on 2 processes, resumed on 1")

        // Begun on one process (5 epochs), continued on two (to 12).
        let grown = dir.appendingPathComponent("grown")
        r = try train(1, args(grown, extra.map { $0 == "12" ? "5" : $0 }), in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        r = try train(2, ["train", "--resume", grown.path, "--epochs", "12"], in: dir)
        XCTAssertEqual(r.status, 0, r.console)
        try assertClose(straight, grown, "begun on 1 process, resumed on 2")
        try assertClose(straight, grown, file: "auxiliary.safetensors", "begun on 1 process, resumed on 2")
    }

    /// SIGTERM to the ranks themselves (as a batch system's `scancel --signal=TERM` does, or
    /// `pkill -TERM -P <mpirun>`): they stop after the same step, rank 0 saves, and mpirun
    /// exits 130 as a single process does (mpirun signalled itself exits 1: Open MPI's choice).
    func testSignalToTheRanksEndsAsOneProcessDoes() throws {
        let dir = try prepare()
        let out = dir.appendingPathComponent("run")
        let p = try start(2, args(out, ["--epochs", "1000", "--report-every", "1"]), log: dir.appendingPathComponent("console.txt"))
        let log = out.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && p.isRunning, ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\"event\":\"step\"") == false {
            usleep(20_000)
        }
        let ranks = try children(of: p.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "mpirun's ranks")
        for pid in ranks { kill(pid, SIGTERM) }
        let status = wait(p, seconds: 120, "mpirun after SIGTERM to its ranks")
        XCTAssertEqual(status, 130, "mpirun's exit status after its ranks saved on SIGTERM")
        let interrupted = try TrainingLog.read(log.path).contains {
            if case .end(let e) = $0 { e.reason.hasPrefix("interrupted at epoch") } else { false }
        }
        XCTAssertTrue(interrupted, "rank 0 logged the interruption")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("last/model.safetensors").path))
    }

    /// Started by a launcher that says 2 processes, without a loadable libmpi: a clear error,
    /// not a crash and not a silent single-process run.
    func testALauncherWithoutLibMPIIsAClearError() throws {
        let dir = try prepare()
        var env = Self.environment
        env["OMPI_COMM_WORLD_SIZE"] = "2"
        env["MIXER_MPI_LIBRARY"] = dir.appendingPathComponent("no-such-libmpi.so.40").path
        let r = try CLI.run(args(dir.appendingPathComponent("run"), ["--epochs", "1"]), environment: env)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("started by an MPI launcher with 2 processes"), r.stderr)
        XCTAssertTrue(r.stderr.contains("no-such-libmpi.so.40"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/log.jsonl").path))
    }

    /// The child processes of `pid` (mpirun's ranks), from /proc.
    func children(of pid: Int32) throws -> [Int32] {
        var out: [Int32] = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let child = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[1]) == pid { out.append(child) }
        }
        return out.sorted()
    }
}
