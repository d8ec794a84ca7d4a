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

    /// `kill -9` after each of the first steps of a run that saves every step: whatever
    /// `last/` holds loads, and `--resume` ends with the weights of the run that was never
    /// killed. (SIGINT/SIGTERM/SIGHUP: `RunDirectoryTests.testSignalsSaveAndResumeIsExact`;
    /// a kill at every file-system call: `RunDirectoryTests.testACrashAtEveryFileSystemCallLosesNothing`.)
    func testKill9ThenResumeEqualsAnUninterruptedRun() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try slice(dir)
        let options = ["--epochs", "12", "--save-every", "1", "--report-every", "1", "--objective", "mixer",
                       "--xent-epochs", "1", "--mixer-delta", "3", "--log-samples", "0"]
        let full = dir.appendingPathComponent("full")
        XCTAssertEqual(try CLI.run(args(p, full) + options).status, 0)
        let expected = try Data(contentsOf: full.appendingPathComponent("last/model.safetensors"))
        for k in [1, 4, 7, 11] {
            let out = dir.appendingPathComponent("run\(k)")
            let proc = try start(args(p, out) + options)
            let log = out.appendingPathComponent("log.jsonl").path
            let deadline = Date().addingTimeInterval(300)
            while Date() < deadline, !(((try? TrainingLog.read(log)) ?? []).contains { if case .step(let r) = $0 { r.globalStep == k } else { false } }) {
                usleep(5_000)
            }
            kill(proc.processIdentifier, SIGKILL)
            proc.waitUntilExit()
            XCTAssertEqual(proc.terminationReason, .uncaughtSignal, "step \(k): the run ended before the kill")
            let last = out.appendingPathComponent("last").path
            if FileManager.default.fileExists(atPath: last) {
                XCTAssertGreaterThan(try TrainedModel(directory: last).model.params.count, 0)
                let resumed = try CLI.run(["train", "--resume", out.path])
                XCTAssertEqual(resumed.status, 0, "step \(k): \(resumed.stderr)")
            } else {
                let again = try CLI.run(args(p, out) + options + ["--overwrite"])
                XCTAssertEqual(again.status, 0, "step \(k): \(again.stderr)")
            }
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("last/model.safetensors")), expected, "step \(k)")
        }
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
