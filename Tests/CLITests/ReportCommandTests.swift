import Foundation
import Seq2Seq
import XCTest

/// `mixer-cli report` end to end, including a real headless browser rendering of the page.
final class ReportCommandTests: XCTestCase {
    func writeRun(_ dir: URL, name: String) throws -> URL {
        let run = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        var lines = [#"{"event":"start","config":{"hiddenSize":32},"options":{"objective":"mixer"}}"#]
        for e in 1...8 {
            let s = e <= 3 ? 12 : (e <= 5 ? 9 : 6)
            lines.append(#"{"event":"epoch","epoch":\#(e),"stage":"mixer","s":\#(s),"metric":"rouge2","train_loss":\#(5.0 / Double(e)),"valid_loss":\#(5.5 / Double(e)),"valid_metric":\#(0.05 + 0.01 * Double(e)),"lr":0.001,"tokens_per_s":\#(4000 + 10 * e),"mean_reward":\#(0.1 * Double(e)),"baseline_mse":\#(0.2 / Double(e)),"repeated_bigrams":0.01,"distinct1":0.3,"distinct2":0.5,"length_ratio":0.9,"no_eos":0.0}"#)
        }
        lines.append(#"{"event":"samples","epoch":8,"items":[{"source":"src","reference":"ref","greedy":"out","beam":"out2"}]}"#)
        try (lines.joined(separator: "\n") + "\n").write(to: run.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        return run
    }

    func testReportWritesHTMLAndSummary() throws {
        let dir = try CLI.temporaryDirectory(self)
        let a = try writeRun(dir, name: "xent"), b = try writeRun(dir, name: "mixer")
        let out = dir.appendingPathComponent("both.html")
        let r = try CLI.run(["report", a.path, b.path, "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("xent: 8 epochs"), r.stdout)
        XCTAssertTrue(r.stdout.contains("mixer: 8 epochs"), r.stdout)
        let html = try String(contentsOf: out, encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(html.contains("data-name=\"mixer: train\""))
        XCTAssertTrue(html.contains("<b>xent</b>") && html.contains("<b>mixer</b>"), "the legend names both runs")
    }

    /// Two real (tiny) runs, XENT and MIXER, then their report: the typed flags, with the ones
    /// that differ marked, and the MIXER stages labelled.
    func testReportOfRealRunsShowsTheirFlagsAndStages() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir)
        let data = ["--train-source", p[0], "--train-target", p[1], "--valid-source", p[2], "--valid-target", p[3]]
        let xent = dir.appendingPathComponent("xent"), mixer = dir.appendingPathComponent("mixer")
        var r = try CLI.run(["train", "--output", xent.path, "--epochs", "3"] + data + TrainCommandTests.tiny)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(["train", "--output", mixer.path, "--epochs", "3"] + data + TrainCommandTests.tiny
                        + ["--objective", "mixer", "--xent-epochs", "1", "--mixer-delta", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = dir.appendingPathComponent("both.html")
        r = try CLI.run(["report", xent.path, mixer.path, "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOf: out, encoding: .utf8)
        // 9 decoder steps (--max-target-length 8, and </s>): XENT at epoch 1, then s = 9 - 5 = 4,
        // then REINFORCE (s = 0).
        XCTAssertTrue(html.contains("XENT epoch 1 · MIXER s=4 epoch 2 · REINFORCE epoch 3"), html)
        XCTAssertTrue(html.contains(">MIXER s=4</text>") && html.contains(">REINFORCE</text>"))
        XCTAssertTrue(html.contains("mixer-cli train <span class=\"arg\">--epochs 3</span> <span class=\"arg\">--train-source "))
        XCTAssertTrue(html.contains("<mark class=\"arg\">--objective mixer</mark> <mark class=\"arg\">--xent-epochs 1</mark> <mark class=\"arg\">--mixer-delta 5</mark>"))
        XCTAssertTrue(html.contains("<code>--objective</code></td><td class=\"diff\">xent</td><td class=\"diff\">mixer</td>"))
        XCTAssertFalse(html.contains("options."))
        XCTAssertFalse(html.contains("e+0"))
    }

    /// Every flag the report may print for a saved setting is a flag of `mixer-cli train`, and
    /// takes a value there exactly when the report gives it one; the flags the report reads as
    /// taking no value (in typed arguments) take none.
    func testEveryFlagTheReportWritesIsATrainFlag() throws {
        let r = try CLI.run(["train", "--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let help = r.stdout
        XCTAssertGreaterThan(FlagMapping.knownFlags.count, 40)
        let booleans = FlagMapping.knownFlags.filter { !$0.takesValue }.map(\.flag) + FlagMapping.booleanFlags.sorted()
        for (flag, takesValue) in FlagMapping.knownFlags where takesValue {
            XCTAssertTrue(help.contains(" \(flag) <"), "\(flag) is not a train flag with a value")
        }
        for flag in booleans {
            XCTAssertTrue(help.contains(" \(flag) ") || help.contains(" \(flag)\n"), "\(flag) is not a train flag")
            XCTAssertFalse(help.contains(" \(flag) <"), "\(flag) takes a value in train")
        }
    }

    func testReportOnANonRunIsAClearError() throws {
        let dir = try CLI.temporaryDirectory(self)
        let r = try CLI.run(["report", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no log.jsonl"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Fatal error"))
    }

    /// Renders the report in headless Chromium and checks that the charts are drawn: the
    /// screenshot has many colours and a clearly non-white chart area. Skipped where Chromium
    /// or ImageMagick is missing (CI installs both).
    func testReportRendersInHeadlessChromium() throws {
        guard let chromium = which("chromium") ?? which("chromium-browser") ?? which("google-chrome"),
              let convert = which("convert"), isRealImageMagick(convert) else {
            throw XCTSkip("headless Chromium and ImageMagick are needed (apt-get install chromium imagemagick)")
        }
        let dir = try CLI.temporaryDirectory(self)
        let run = try writeRun(dir, name: "run")
        XCTAssertEqual(try CLI.run(["report", run.path]).status, 0)
        let shot = dir.appendingPathComponent("shot.png")
        let html = run.appendingPathComponent("report.html")
        _ = try shell(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                 "--window-size=1400,1000", "--screenshot=\(shot.path)", html.absoluteString])
        XCTAssertTrue(FileManager.default.fileExists(atPath: shot.path), "no screenshot written")
        // The chart area (below the title): mean grey level and the number of distinct colours.
        let stats = try shell(convert, [shot.path, "-crop", "900x700+20+130", "+repage", "-colorspace", "gray",
                                        "-format", "%[fx:mean] %k", "info:"])
        let parts = stats.split(separator: " ")
        let mean = Double(parts.first ?? "") ?? 1, colours = Int(parts.last ?? "") ?? 0
        XCTAssertLessThan(mean, 0.99, "the chart area is blank: \(stats)")
        XCTAssertGreaterThan(colours, 50, "too few colours for drawn charts: \(stats)")
        // And against a blank page of the same size, to be sure the measure can fail.
        let blank = dir.appendingPathComponent("blank.html"), blankShot = dir.appendingPathComponent("blank.png")
        try "<html><body></body></html>".write(to: blank, atomically: true, encoding: .utf8)
        _ = try shell(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                 "--window-size=1400,1000", "--screenshot=\(blankShot.path)", blank.absoluteString])
        let blankStats = try shell(convert, [blankShot.path, "-crop", "900x700+20+130", "+repage", "-colorspace", "gray",
                                             "-format", "%[fx:mean] %k", "info:"])
        XCTAssertTrue(blankStats.hasPrefix("1 "), "blank page measured as \(blankStats)")
    }

    private func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    private func isRealImageMagick(_ convert: String) -> Bool {
        ((try? shell(convert, ["-version"])) ?? "").contains("ImageMagick")
    }

    @discardableResult
    private func shell(_ exe: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
