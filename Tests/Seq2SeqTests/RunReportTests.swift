import Foundation
import XCTest
@testable import Seq2Seq

final class RunReportTests: XCTestCase {
    /// Writes a synthetic but realistic run log: 2 XENT epochs then MIXER stages s = 9, 6.
    static func makeRun(_ name: String, in dir: URL, mixer: Bool) throws -> URL {
        let run = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        var lines = [#"{"event":"start","config":{"hiddenSize":32},"options":{"objective":"\#(mixer ? "mixer" : "xent")"}}"#]
        for e in 1...6 {
            let s = mixer ? (e <= 2 ? 12 : (e <= 4 ? 9 : 6)) : 12
            let stage = s == 12 ? "xent" : "mixer"
            lines.append(#"{"event":"epoch","epoch":\#(e),"stage":"\#(stage)","s":\#(s),"metric":"rouge2","train_loss":\#(5.0 / Double(e)),"valid_loss":\#(5.5 / Double(e)),"valid_metric":\#(0.05 + 0.01 * Double(e)),"lr":0.001,"tokens_per_s":\#(4000 + 10 * e),"mean_reward":\#(0.1 * Double(e)),"baseline_mse":\#(0.2 / Double(e)),"repeated_bigrams":0.01,"distinct1":0.3,"distinct2":0.5,"length_ratio":0.9,"no_eos":0.0}"#)
        }
        lines.append(#"{"event":"samples","epoch":6,"items":[{"source":"a <b> & c","reference":"ref","greedy":"out","beam":"out2"}]}"#)
        try (lines.joined(separator: "\n") + "\n").write(to: run.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        return run
    }

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    func testReportHasChartsMarkersSamplesAndEscapes() throws {
        let d = try tempDir()
        let run = try RunLog(directory: Self.makeRun("mixer-run", in: d, mixer: true))
        XCTAssertEqual(run.epochs.count, 6)
        XCTAssertEqual(run.stageBoundaries.map(\.x), [2.5, 4.5])
        XCTAssertEqual(run.bestValid?.epoch, 6)
        let html = RunReport(runs: [run]).html()
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, RunReport.charts.count)
        // Every chart carries the two stage markers.
        XCTAssertEqual(html.components(separatedBy: "class=\"marker\"").count - 1, 2 * RunReport.charts.count)
        XCTAssertTrue(html.contains("a &lt;b&gt; &amp; c"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") && html.contains("src=\"http"))
        XCTAssertTrue(RunReport(runs: [run]).summary().contains("best valid rouge2 0.11 at epoch 6"))
    }

    func testOverlayOfTwoRuns() throws {
        let d = try tempDir()
        let a = try RunLog(directory: Self.makeRun("xent", in: d, mixer: false))
        let b = try RunLog(directory: Self.makeRun("mixer", in: d, mixer: true))
        let charts = RunReport(runs: [a, b]).svgCharts()
        let lossChart = try XCTUnwrap(charts.first)
        XCTAssertEqual(lossChart.components(separatedBy: "class=\"series\"").count - 1, 4)  // 2 runs × 2 losses
        XCTAssertTrue(lossChart.contains("xent: train_loss"))
    }

    func testBadLogIsAClearError() throws {
        let d = try tempDir()
        XCTAssertThrowsError(try RunLog(directory: d)) { XCTAssertTrue("\($0)".contains("no log.jsonl")) }
        try "not json\n{\"event\":\"epoch\",\"epoch\":1}\n".write(to: d.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunLog(directory: d)) { XCTAssertTrue("\($0)".contains("log.jsonl:1")) }
    }

    func testNiceTicks() {
        XCTAssertEqual(SVGLineChart.ticks(0, 1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0])
        XCTAssertEqual(SVGLineChart.ticks(3, 17), [5, 10, 15])
    }
}
