import Foundation
import XCTest

/// What a user sees on the console while training and decoding (issue 19).
final class ConsoleTests: XCTestCase {
    func args(_ p: [String], _ out: URL) -> [String] {
        ["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2], "--valid-target", p[3],
         "--output", out.path] + TrainCommandTests.tiny
    }

    /// `train` uses every core unless told otherwise and says how many; the progress lines give
    /// elapsed time and ETAs; each epoch ends with a timestamped line with its duration and
    /// every validation metric ×100; pure REINFORCE epochs show the mean reward, the baselines'
    /// MSE and the share of sampled steps instead of a zero loss.
    func testTrainingConsole() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 40, valid: 6)
        let run = dir.appendingPathComponent("run")
        let r = try CLI.run(args(p, run) + ["--epochs", "2", "--objective", "mixer", "--xent-epochs", "1",
                                            "--mixer-delta", "20", "--report-every", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        XCTAssertTrue(r.stderr.contains("\(min(cores, 256)) thread(s)"), r.stderr)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let progress = lines.filter { $0.hasPrefix("epoch ") && $0.contains(" step ") }
        XCTAssertFalse(progress.isEmpty, r.stderr)
        for line in progress {
            XCTAssertTrue(line.contains("elapsed ") && line.contains("ETA epoch ") && line.contains(", run "), line)
        }
        XCTAssertTrue(progress.first!.contains("ETA epoch ≥"), "no validation timed yet: \(progress.first!)")
        XCTAssertTrue(progress.contains { $0.contains("reward ") && !$0.contains(" loss ") }, r.stderr)
        let epochs = lines.filter { $0.range(of: #"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] epoch \d+/2 \("#, options: .regularExpression) != nil }
        XCTAssertEqual(epochs.count, 2, r.stderr)
        for line in epochs {
            for metric in ["valid ppl", "BLEU", "ROUGE-1", "ROUGE-2", "ROUGE-L"] { XCTAssertTrue(line.contains(metric), line) }
        }
        XCTAssertTrue(epochs[0].contains(" xent s=") && epochs[0].contains(" loss "), epochs[0])
        XCTAssertTrue(epochs[1].contains("reinforce s=0") && epochs[1].contains("reward ")
                      && epochs[1].contains("baseline MSE") && epochs[1].contains("sampled 100%"), epochs[1])
        XCTAssertFalse(epochs[1].contains(" loss "), epochs[1])
        // The metrics are the log's, ×100 for ROUGE.
        let log = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
        let record = try XCTUnwrap(log.split(separator: "\n").first { $0.contains(#""event":"epoch""#) })
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any])
        let rouge2 = try XCTUnwrap(json["valid_rouge2"] as? Double)
        XCTAssertTrue(epochs[0].contains(String(format: "ROUGE-2 %.2f", 100 * rouge2)), epochs[0])
    }

    /// A length limit that drops most of the input says so, with the flag to change.
    func testTruncationWarning() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 20, valid: 4)
        var a = args(p, dir.appendingPathComponent("run")) + ["--epochs", "1"]
        a[a.firstIndex(of: "--max-source-length")! + 1] = "3"
        a[a.firstIndex(of: "--max-target-length")! + 1] = "200"
        let r = try CLI.run(a)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: --max-source-length 3 drops"), r.stderr)
        XCTAssertTrue(r.stderr.contains("raise --max-source-length"), r.stderr)
        XCTAssertFalse(r.stderr.contains("--max-target-length 200 drops"), r.stderr)
    }

    /// `decode` and `evaluate` say which checkpoint they loaded: the path, the checkpoint it
    /// resolved to, its epoch and the run's best validation figure.
    func testDecodeAndEvaluateNameTheirCheckpoint() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 20, valid: 4)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1"]).status, 0)
        let d = try CLI.run(["decode", "--model", run.path, "--input", p[2]])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stderr.contains("model: \(run.path)/best → checkpoints/snap-"), d.stderr)
        XCTAssertTrue(d.stderr.contains("end of epoch 1; best valid rouge2 "), d.stderr)
        let e = try CLI.run(["evaluate", "--model", run.appendingPathComponent("last").path, "--source", p[2], "--reference", p[3]])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stderr.contains("model: \(run.path)/last → checkpoints/snap-"), e.stderr)
    }
}
