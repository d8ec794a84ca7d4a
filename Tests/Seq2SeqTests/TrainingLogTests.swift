import XCTest
@testable import Seq2Seq

final class TrainingLogTests: XCTestCase {
    func testAppendsOneSortedJSONObjectPerLineAndReadsBack() throws {
        let dir = NSTemporaryDirectory() + "log-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = RunDirectory(dir).log
        let report = ProgressReport(epoch: 1, epochs: 10, step: 150, steps: 400, globalStep: 550,
                                    targetTokensPerSecond: 1234.4, loss: 3.21, learningRate: 0.2 / 1.2,
                                    elapsed: 12.5, eta: 3900, stage: "mixer s=10")
        do {
            let log = try TrainingLog(path: path)
            try log.append(report.record)
            var r = report.record
            r["loss"] = .double(.nan)
            r["note"] = "quote \" and\nnewline"
            try log.append(r)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix(#"{"elapsed":12.5,"epoch":1,"epochs":10,"eta":3900.0,"global_step":550,"kind":"progress","loss":3.21,"lr":0.16666666666666669,"#), String(lines[0]))
        XCTAssertTrue(lines[1].contains(#""loss":"NaN""#))
        XCTAssertTrue(lines[1].contains(#""note":"quote \" and\nnewline""#))
        // Python's json / jq read these lines; so do we.
        let records = try TrainingLog.read(path)
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0], report.record)
        XCTAssertEqual(records[1]["note"], "quote \" and\nnewline")

        // A torn last line (kill -9 mid-write) is skipped on read and ended on reopen.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data(#"{"epoch":2,"los"#.utf8))
        h.closeFile()
        XCTAssertEqual(try TrainingLog.read(path).count, 2)
        try TrainingLog(path: path).append(["kind": "resume"])
        let after = try TrainingLog.read(path)
        XCTAssertEqual(after.count, 3)
        XCTAssertEqual(after[2]["kind"], "resume")
        // A malformed line in the middle is an error naming the line.
        try Data("{}\nnot json\n{}\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TrainingLog.read(path)) { e in
            XCTAssertTrue("\(e)".hasPrefix(path + ":2: "), "\(e)")
        }
    }

    func testProgressLineAndPrinterModes() {
        let r = ProgressReport(epoch: 1, epochs: 10, step: 150, steps: 400, globalStep: 550,
                               targetTokensPerSecond: 1234.4, loss: 3.21, learningRate: 0.2 / 1.2,
                               elapsed: 12.5, eta: 3900)
        XCTAssertEqual(r.line, "epoch 2/10  step 150/400  1234 tok/s  loss 3.2100  lr 0.1667  elapsed 13s  ETA run 1h05m")
        var both = r
        both.epochETA = 65
        both.etaIsLowerBound = true
        both.reward = 0.25
        both.stage = "reinforce"
        XCTAssertEqual(both.line, "epoch 2/10  step 150/400  1234 tok/s  reward 0.2500  lr 0.1667  reinforce  elapsed 13s  ETA epoch ≥1m05s, run ≥1h05m")
        XCTAssertEqual(ProgressReport.duration(65), "1m05s")
        XCTAssertEqual(ProgressReport.duration(9), "9s")
        XCTAssertEqual(ProgressReport.duration(.nan), "?")
        var nanReport = r
        nanReport.loss = .nan
        nanReport.learningRate = 1e-5
        nanReport.eta = nil
        XCTAssertEqual(nanReport.line, "epoch 2/10  step 150/400  1234 tok/s  loss nan  lr 1e-05  elapsed 13s")

        var out = ""
        let terminal = ProgressPrinter(inPlace: true) { out += $0 }
        terminal.show(r)
        terminal.show(r)
        terminal.message("validation: ppl 12.3")
        XCTAssertEqual(out, "\r\(r.line)\u{1B}[K\r\(r.line)\u{1B}[K\nvalidation: ppl 12.3\n")
        out = ""
        let plain = ProgressPrinter(inPlace: false) { out += $0 }
        plain.show(r)
        plain.message("done")
        XCTAssertEqual(out, "\(r.line)\ndone\n")
    }
}
