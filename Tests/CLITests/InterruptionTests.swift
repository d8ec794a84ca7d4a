import Foundation
import XCTest
@testable import Seq2Seq

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM, `kill -9` and `--resume` on the real executable.
final class InterruptionTests: XCTestCase {
    func slice(_ dir: URL) throws -> [String] {
        try TrainCommandTests.writeSlice(dir, train: 80, valid: 10)
    }

    func args(_ p: [String], _ out: URL) -> [String] {
        ["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2], "--valid-target", p[3],
         "--output", out.path] + TrainCommandTests.tiny
    }

    func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits until `path` exists (or `timeout` seconds pass).
    func waitFor(_ path: String, timeout: Double = 60) {
        let deadline = Date().addingTimeInterval(timeout)
        while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(20_000) }
    }

    /// Ctrl-C finishes the step, saves last/, exits 130 with a resume hint; --resume then ends
    /// with exactly the weights of an uninterrupted run.
    func testSIGINTThenResumeEqualsAnUninterruptedRun() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let full = dir.appendingPathComponent("full"), cut = dir.appendingPathComponent("cut")
        let epochs = ["--epochs", "6", "--objective", "mixer", "--xent-epochs", "2", "--mixer-delta", "3"]
        XCTAssertEqual(try CLI.run(args(p, full) + epochs).status, 0)

        let proc = try start(args(p, cut) + epochs)
        waitFor(cut.appendingPathComponent("valid/epoch-001.txt").path)
        proc.interrupt()  // SIGINT
        proc.waitUntilExit()
        if proc.terminationStatus == 0 {
            throw XCTSkip("the run finished before the signal arrived")
        }
        XCTAssertEqual(proc.terminationStatus, 130)
        let resumed = try CLI.run(["train", "--resume", cut.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming"), resumed.stderr)
        let a = try SafeTensorsFile.read(full.appendingPathComponent("last/model.safetensors").path)
        let b = try SafeTensorsFile.read(cut.appendingPathComponent("last/model.safetensors").path)
        for t in a.tensors {
            XCTAssertEqual(a.floats(t.name), b.floats(t.name), "\(t.name) differs after resume")
        }
        // The interrupted run says how to resume.
        let again = try CLI.run(["train", "--resume", cut.path])
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("has finished") && again.stderr.contains("nothing to do"), again.stderr)
    }

    /// `kill -9` at random moments, with a checkpoint written every step, never leaves a
    /// corrupt last/: whatever is there opens, verifies its checksums and loads.
    func testKill9NeverLeavesACorruptCheckpoint() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        var rng = RandomGenerator(seed: 42)
        var opened = 0
        for i in 0..<8 {
            let out = dir.appendingPathComponent("run\(i)")
            let proc = try start(args(p, out) + ["--epochs", "50", "--save-every", "1"])
            waitFor(out.appendingPathComponent("log.jsonl").path)
            usleep(UInt32(50_000 + rng.next() % 700_000))
            kill(proc.processIdentifier, SIGKILL)
            proc.waitUntilExit()
            let last = out.appendingPathComponent("last").path
            try Checkpoint.recover(last)
            guard FileManager.default.fileExists(atPath: last) else { continue }
            let model = try TrainedModel(directory: last)
            XCTAssertGreaterThan(model.model.params.count, 0)
            opened += 1
        }
        XCTAssertGreaterThan(opened, 0, "no kill landed after a checkpoint was written")
    }

    /// A checkpoint file altered after saving is detected, naming the file.
    func testAlteredCheckpointFileIsNamed() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let out = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, out) + ["--epochs", "1"]).status, 0)
        let model = out.appendingPathComponent("last/model.safetensors")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: model)
        let r = try CLI.run(["train", "--resume", out.path, "--epochs", "2"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("model.safetensors") && r.stderr.contains("checksum"), r.stderr)
    }
}
