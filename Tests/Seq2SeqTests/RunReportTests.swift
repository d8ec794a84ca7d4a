import Foundation
import XCTest
@testable import Seq2Seq

final class RunReportTests: XCTestCase {
    /// Writes a synthetic but realistic run log of 8 epochs. A MIXER run (T = 12, Δ = 3):
    /// XENT for epochs 1–2, then MIXER s = 9, 6, 3 (two epochs each … the last one) and
    /// REINFORCE (s = 0) at epoch 8; an XENT run has s = 12 throughout. With `arguments`, the
    /// start record carries the typed command line (as newer trainers write it).
    static func makeRun(_ name: String, in dir: URL, mixer: Bool, arguments: [String]? = nil) throws -> URL {
        let run = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let objective = mixer ? "mixer" : "xent"
        var start = #"{"event":"start","config":{"maxSourceLength":50,"maxTargetLength":12,"mixerVersion":"0.9","model":{"hiddenSize":32,"embeddingSize":32,"encoderHiddenSize":32,"inputFeeding":false,"dropout":0.2,"sourceVocabSize":900,"targetVocabSize":700,"convWindow":5},"tokenizer":{"lowercase":false,"locale":"","normalization":"nfkc"}},"options":{"objective":"\#(objective)","epochs":8,"batchSize":32,"learningRate":null,"minimumLearningRate":1e-05,"xentEpochs":2,"mixerDelta":3,"dadSchedule":{"inverseSigmoid":{"k":500}},"maxDivergentSteps":5,"rewardRecall":false},"data":{"train_pairs":1200,"valid_pairs":100,"source_vocabulary":900,"target_vocabulary":700}"#
        if let arguments {
            let json = try JSONSerialization.data(withJSONObject: arguments)
            start += #","arguments":"# + String(decoding: json, as: UTF8.self)
        }
        var lines = [start + "}"]
        for e in 1...8 {
            let s = mixer ? [12, 12, 9, 9, 6, 6, 3, 0][e - 1] : 12
            let stage = s == 12 ? "xent" : (s == 0 ? "reinforce" : "mixer")
            let d = Double(e)
            var rec = #"{"event":"epoch","epoch":\#(e),"stage":"\#(stage)","s":\#(s),"metric":"rouge2","train_loss":\#(5.0 / d),"valid_loss":\#(5.5 / d),"valid_ppl":\#(exp(5.5 / d)),"valid_bleu":\#(2.0 * d),"valid_rouge1":\#(0.2 + 0.01 * d),"valid_rouge2":\#(0.05 + 0.01 * d),"valid_rougeL":\#(0.18 + 0.01 * d),"valid_rougeLsum":\#(0.18 + 0.01 * d),"valid_metric":\#(0.05 + 0.01 * d),"best":true,"lr":0.001,"tokens_per_s":\#(13000 + 250 * e),"repeated_bigrams":0.01,"distinct1":0.3,"distinct2":0.5,"length_ratio":0.9,"no_eos":0.0"#
            if s < 12 { rec += #","mean_reward":\#(0.1 * d),"baseline_mse":\#(0.02 / d)"# }
            lines.append(rec + "}")
        }
        lines.append(#"{"event":"samples","epoch":8,"items":[{"source":"a <b> & c","reference":"ref","greedy":"out","beam":"out2"}]}"#)
        try (lines.joined(separator: "\n") + "\n").write(to: run.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        return run
    }

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    // MARK: - What a reader checks on the page

    /// The page's text without its tags (what a reader sees, roughly).
    static func text(_ html: String) -> String {
        var out = "", inTag = false
        for c in html {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { out.append(c) }
        }
        return out.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
    }

    /// A rectangle of SVG units.
    struct Box {
        var x, y, w, h: Double
        func intersects(_ o: Box) -> Bool { x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h }
    }

    /// The value of attribute `name` in the element text `element`.
    static func attribute(_ name: String, _ element: Substring) -> String? {
        guard let r = element.range(of: " \(name)=\"") else { return nil }
        let rest = element[r.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    /// The elements (from `<` to `>`) that start with `prefix`, each with the text up to its
    /// closing tag (for `<text>`).
    static func elements(_ prefix: String, in s: Substring) -> [(tag: Substring, text: String)] {
        var out: [(tag: Substring, text: String)] = []
        var rest = s[...]
        while let r = rest.range(of: prefix) {
            let end = rest[r.lowerBound...].firstIndex(of: ">") ?? rest.endIndex
            let tag = rest[r.lowerBound..<end]
            let after = end < rest.endIndex ? rest.index(after: end) : end
            let text = rest[after...].range(of: "</").map { String(rest[after..<$0.lowerBound]) } ?? ""
            out.append((tag, text))
            rest = rest[after...]
        }
        return out
    }

    static func box(_ tag: Substring) -> Box? {
        if let b = attribute("data-box", tag) {
            let v = b.split(separator: " ").compactMap { Double($0) }
            return v.count == 4 ? Box(x: v[0], y: v[1], w: v[2], h: v[3]) : nil
        }
        guard let x = attribute("x", tag).flatMap(Double.init), let y = attribute("y", tag).flatMap(Double.init),
              let w = attribute("width", tag).flatMap(Double.init), let h = attribute("height", tag).flatMap(Double.init) else { return nil }
        return Box(x: x, y: y, w: w, h: h)
    }

    /// What a person checks looking at the page, as a list of problems (empty: none):
    /// - no legend or key over a plot area: each chart's key box lies outside its plot
    ///   rectangle, stage labels sit above it, and the run legend is outside every chart;
    /// - epoch ticks are integers; no tick label in exponent notation;
    /// - one colour per run, the same in every chart and in the legend, different runs
    ///   different colours;
    /// - at most four figures per chart.
    static func readabilityProblems(_ html: String, runs: [String]) -> [String] {
        var problems: [String] = []
        let charts = html.components(separatedBy: "<svg").dropFirst().map { $0.components(separatedBy: "</svg>")[0] }
        if charts.isEmpty { problems.append("no charts") }
        var colourOfRun: [String: Set<String>] = [:]
        for (i, chart) in charts.enumerated() {
            let c = chart[...]
            let title = "chart \(i + 1) (\(elements("<text", in: c).first?.text ?? "?"))"
            guard let plot = elements("<rect class=\"plot\"", in: c).first.flatMap({ box($0.tag) }) else {
                problems.append("\(title): no plot rectangle"); continue
            }
            for key in elements("<g class=\"key\"", in: c) {
                guard let b = box(key.tag) else { problems.append("\(title): key without a box"); continue }
                if b.intersects(plot) { problems.append("\(title): the key \(b) is over the plot \(plot)") }
            }
            for label in elements("<text class=\"marker-label\"", in: c) {
                if let y = attribute("y", label.tag).flatMap(Double.init), y > plot.y {
                    problems.append("\(title): stage label '\(label.text)' inside the plot")
                }
            }
            for t in elements("<text class=\"xtick\"", in: c) where Int(t.text) == nil {
                problems.append("\(title): epoch tick '\(t.text)' is not an integer")
            }
            for t in elements("<text class=\"xtick\"", in: c) + elements("<text class=\"ytick\"", in: c)
            where t.text.lowercased().contains("e+") || t.text.lowercased().contains("e-") {
                problems.append("\(title): tick label '\(t.text)' in exponent notation")
            }
            var figures = Set<String>()
            for s in elements("<polyline class=\"series\"", in: c) {
                let name = attribute("data-name", s.tag) ?? "?"
                guard let colon = name.range(of: ": ") else { problems.append("\(title): series '\(name)' names no run"); continue }
                colourOfRun[String(name[..<colon.lowerBound]), default: []].insert(attribute("stroke", s.tag) ?? "?")
                figures.insert(String(name[colon.upperBound...]))
            }
            if figures.count > 4 { problems.append("\(title): \(figures.count) figures in one chart") }
        }
        // One colour per run, different runs different colours.
        var runOfColour: [String: String] = [:]
        var colourOf: [String: String] = [:]
        for run in runs {
            let colours = colourOfRun[run] ?? []
            if colours.count != 1 { problems.append("run \(run) drawn in \(colours.count) colours: \(colours.sorted())"); continue }
            let colour = colours.first!
            if let other = runOfColour[colour] { problems.append("runs \(other) and \(run) share the colour \(colour)") }
            runOfColour[colour] = run
            colourOf[run] = colour
        }
        // The run legend: outside every chart, each run's swatch in the run's colour.
        guard let legendStart = html.range(of: "<div class=\"legend\"") else { return problems + ["no run legend"] }
        let before = html[..<legendStart.lowerBound]
        if before.components(separatedBy: "<svg").count != before.components(separatedBy: "</svg>").count {
            problems.append("the run legend is inside a chart")
        }
        let legend = html[legendStart.lowerBound...].components(separatedBy: "</div>")[0]
        for (run, colour) in colourOf where !legend.contains("background:\(colour)\"></span><b>\(escapeXML(run))</b>") {
            problems.append("the legend does not show run \(run) in \(colour)")
        }
        return problems
    }

    func testTheChecksFindTheProblemsOfTheOldPage() {
        // The faults the issue lists, drawn by hand: key over the plot, fractional and exponent
        // ticks, one run in two colours, five figures in one chart, no legend.
        var bad = "<svg><rect class=\"plot\" x=\"50\" y=\"30\" width=\"400\" height=\"200\"/><g class=\"key\" data-box=\"300 40 120 40\"></g>"
        bad += "<text class=\"xtick\" x=\"1\" y=\"1\">1.5</text><text class=\"ytick\" x=\"1\" y=\"1\">1.3e+04</text>"
        for (i, f) in ["a", "b", "c", "d", "e"].enumerated() {
            bad += "<polyline class=\"series\" data-name=\"r1: \(f)\" stroke=\"\(SVGLineChart.palette[i])\" points=\"\"/>"
        }
        bad += "</svg>"
        let problems = Self.readabilityProblems(bad, runs: ["r1"]).joined(separator: "\n")
        for expected in ["is over the plot", "'1.5' is not an integer", "'1.3e+04' in exponent", "run r1 drawn in 5 colours",
                         "5 figures in one chart", "no run legend"] {
            XCTAssertTrue(problems.contains(expected), "missed '\(expected)' in:\n\(problems)")
        }
    }

    func testTwoRunsReadLikeADashboard() throws {
        let d = try tempDir()
        let a = try RunLog(directory: Self.makeRun("xent", in: d, mixer: false))
        let b = try RunLog(directory: Self.makeRun("mixer", in: d, mixer: true))
        let report = RunReport(runs: [a, b])
        let html = report.html()
        XCTAssertEqual(Self.readabilityProblems(html, runs: ["xent", "mixer"]), [])
        // The split charts, each drawn once.
        for title in ["Loss (nats per target token)", "Validation perplexity", "Validation BLEU (0–100)",
                      "Validation ROUGE F (×100)", "REINFORCE mean reward", "REINFORCE baseline MSE",
                      "Throughput (target tokens per second)"] {
            XCTAssertEqual(html.components(separatedBy: "aria-label=\"\(title)\"").count - 1, 1, title)
        }
        // A constant learning rate gets no chart.
        XCTAssertFalse(html.contains("aria-label=\"Learning rate\""))
        // 2 runs × (train, validation) loss lines; the key names the line styles.
        let loss = try XCTUnwrap(report.svgCharts().first)
        XCTAssertEqual(loss.components(separatedBy: "class=\"series\"").count - 1, 4)
        XCTAssertTrue(loss.contains(">train</text>") && loss.contains(">validation</text>"))
        // Throughput in the thousands: plain with separators.
        XCTAssertTrue(html.contains(">14,000</text>"), "no plain thousands tick")
        XCTAssertFalse(html.contains("e+0"))
    }

    func testScoresAreTimesOneHundredAndStagesAreLabelled() throws {
        let d = try tempDir()
        let run = try RunLog(directory: Self.makeRun("mixer-run", in: d, mixer: true))
        XCTAssertEqual(run.stageBoundaries.map(\.x), [2.5, 4.5, 6.5, 7.5])
        XCTAssertEqual(run.stageBoundaries.map(\.label), ["MIXER s=9", "s=6", "s=3", "REINFORCE"])
        XCTAssertEqual(run.stageSummary, "XENT epochs 1–2 · MIXER s=9→3 epochs 3–7 · REINFORCE epoch 8")
        let report = RunReport(runs: [run])
        let rouge = try XCTUnwrap(report.svgCharts().first { $0.contains("Validation ROUGE F") })
        // ROUGE-1 F runs 0.21 … 0.28, so the axis shows 20 … 28, not 0.2 … 0.28.
        let yTicks = Self.elements("<text class=\"ytick\"", in: rouge[...]).compactMap { Double($0.text) }
        XCTAssertGreaterThanOrEqual(yTicks.max() ?? 0, 20, "\(yTicks)")
        XCTAssertEqual(Set(Self.elements("<polyline class=\"series\"", in: rouge[...]).compactMap { Self.attribute("data-name", $0.tag) }),
                       ["mixer-run: ROUGE-1", "mixer-run: ROUGE-2", "mixer-run: ROUGE-L"])
        // Every chart with the MIXER epochs carries the labelled boundaries above the plot.
        for chart in report.svgCharts() where chart.contains("Loss") {
            let labels = Self.elements("<text class=\"marker-label\"", in: chart[...]).map(\.text)
            XCTAssertEqual(labels, ["MIXER s=9", "s=6", "s=3", "REINFORCE"])
        }
        let html = report.html()
        // Last epoch: ROUGE-2 F 0.13 → 13; the best validation ROUGE-2 likewise.
        XCTAssertTrue(html.contains("<td class=\"num\">13</td>"), "ROUGE-2 not ×100 in the table")
        XCTAssertTrue(html.contains("rouge2 13 (8)"))
        XCTAssertTrue(report.summary().contains("best valid rouge2 13 at epoch 8"), report.summary())
        XCTAssertTrue(html.contains("a &lt;b&gt; &amp; c"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("src=\"http"))
    }

    func testConfigurationIsTheTypedFlagsWithDifferencesMarked() throws {
        let d = try tempDir()
        let typed = ["--epochs", "8", "--objective", "mixer", "--xent-epochs", "2", "--mixer-delta", "3",
                     "--train-source", "my data/train.src"]
        let a = try RunLog(directory: Self.makeRun("xent", in: d, mixer: false))
        let b = try RunLog(directory: Self.makeRun("mixer", in: d, mixer: true, arguments: typed))
        XCTAssertNil(a.arguments)
        XCTAssertEqual(b.arguments, typed)
        let html = RunReport(runs: [a, b]).html()
        // The typed run: its arguments, the differing flags marked, a path with a space quoted.
        XCTAssertTrue(Self.text(html).contains("mixer-cli train --epochs 8 --objective mixer --xent-epochs 2 --mixer-delta 3 --train-source 'my data/train.src'"))
        XCTAssertTrue(html.contains("<span class=\"arg\">--epochs 8</span> <mark class=\"arg\">--objective mixer</mark> <mark class=\"arg\">--xent-epochs 2</mark>"), html)
        XCTAssertTrue(html.contains("<mark class=\"arg\">--train-source 'my data/train.src'</mark>"), html)
        // The other run rebuilt from its saved settings, as flags: no internal names, no JSON,
        // no exponent (1e-05), booleans as bare flags, no MIXER flags for an XENT run.
        XCTAssertTrue(html.contains(">--min-lr 0.00001<"))
        XCTAssertTrue(html.contains(">--no-input-feeding<"))
        XCTAssertTrue(html.contains(">--max-target-length 12<"))
        XCTAssertFalse(html.contains("--reward-recall"))
        for name in ["options.", "config.", "minimumLearningRate", "maxDivergentSteps", "{&quot;", "1e-05"] {
            XCTAssertFalse(html.contains(name), "the page shows '\(name)'")
        }
        // The table of differences: objective and the MIXER schedule, not the shared settings.
        let diff = try XCTUnwrap(html.components(separatedBy: "<h3>Settings that differ</h3>").dropFirst().first)
        XCTAssertTrue(diff.contains("<code>--objective</code></td><td class=\"diff\">xent</td><td class=\"diff\">mixer</td>"), diff)
        XCTAssertTrue(diff.contains("<code>--xent-epochs</code></td><td class=\"diff\">(not used by xent)</td><td class=\"diff\">2</td>"), diff)
        XCTAssertTrue(diff.contains("<code>--train-source</code></td><td class=\"diff\">(not recorded)</td>"), diff)
        XCTAssertFalse(diff.contains("--batch-size"))
        XCTAssertFalse(diff.contains("--epochs<"))
    }

    func testFlagMapping() {
        XCTAssertEqual(FlagMapping.dadSchedule(#"{"inverseSigmoid":{"k":500}}"#), "inverse-sigmoid:500")
        XCTAssertEqual(FlagMapping.dadSchedule(#"{"linear":{"decaySteps":1000,"minimum":0.25}}"#), "linear:1000:0.25")
        XCTAssertEqual(FlagMapping.tokens(["--lowercase", "--seed", "-3", "--x=1", "a b"]).map(\.text), ["--lowercase", "--seed", "-3", "--x=1", "'a b'"])
        XCTAssertEqual(FlagMapping.tokens(["--lowercase", "--seed", "-3"]).map(\.flag), ["--lowercase", "--seed", "--seed"])
        XCTAssertEqual(FlagMapping.differingFlags([[("--lr", "1e-3"), ("--a", "1")], [("--lr", "0.001"), ("--a", "2")]]), ["--a"])
        XCTAssertEqual(FlagMapping.differingFlags([[("--lowercase", "")], []]), ["--lowercase"])
        XCTAssertEqual(RunLog.plainNumber(1e-05), "0.00001")
        XCTAssertEqual(RunLog.plainNumber(1.5e-07), "0.00000015")
        XCTAssertEqual(RunLog.plainNumber(2.5e+20), "250000000000000000000")
        XCTAssertEqual(RunLog.plainNumber(0.001), "0.001")
        XCTAssertEqual(RunLog.plainNumber(-32), "-32")
    }

    func testOldLogsStillRender() throws {
        // A log from before per-metric fields and stage names: valid_metric only, s only.
        let d = try tempDir()
        var lines = [#"{"event":"start","config":{"hiddenSize":32},"options":{"objective":"mixer"}}"#]
        for e in 1...4 {
            lines.append(#"{"event":"epoch","epoch":\#(e),"s":\#(e <= 2 ? 12 : 9),"metric":"bleu","train_loss":\#(5.0 / Double(e)),"valid_metric":\#(10.0 + Double(e))}"#)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: d.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        let run = try RunLog(directory: d)
        let html = RunReport(runs: [run]).html()
        XCTAssertTrue(html.contains("aria-label=\"Validation bleu\""))
        XCTAssertEqual(run.stageBoundaries.map(\.label), ["s=9"])
        XCTAssertTrue(html.contains("bleu 14 (4)"))
        XCTAssertEqual(Self.readabilityProblems(html, runs: [run.name]), [])
    }

    func testBadLogIsAClearError() throws {
        let d = try tempDir()
        XCTAssertThrowsError(try RunLog(directory: d)) { XCTAssertTrue("\($0)".contains("no log.jsonl")) }
        try "not json\n{\"event\":\"epoch\",\"epoch\":1}\n".write(to: d.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunLog(directory: d)) { XCTAssertTrue("\($0)".contains("log.jsonl:1")) }
    }

    func testTicksAndNumbers() {
        XCTAssertEqual(SVGLineChart.ticks(0, 1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0])
        XCTAssertEqual(SVGLineChart.ticks(3, 17), [5, 10, 15])
        // Epoch axes: integers only, however few or many epochs.
        XCTAssertEqual(SVGLineChart.integerTicks(1, 4), [1, 2, 3, 4])
        XCTAssertEqual(SVGLineChart.integerTicks(1, 2), [1, 2])
        XCTAssertEqual(SVGLineChart.integerTicks(0.5, 1.5), [1])
        XCTAssertEqual(SVGLineChart.integerTicks(1, 8), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(SVGLineChart.integerTicks(1, 40), [5, 10, 15, 20, 25, 30, 35, 40])
        XCTAssertEqual(SVGLineChart.integerTicks(1, 12), [2, 4, 6, 8, 10, 12])
        // Tick labels: the step's decimals, thousands separators, no exponent.
        XCTAssertEqual(SVGLineChart.tickLabel(0.6000000000000001, step: 0.2), "0.6")
        XCTAssertEqual(SVGLineChart.tickLabel(13000, step: 1000), "13,000")
        XCTAssertEqual(SVGLineChart.tickLabel(0.0001, step: 0.0001), "0.0001")
        XCTAssertEqual(SVGLineChart.tickLabel(-0.00000001, step: 0.5), "0.0")
        // Figures: three significant digits below 100, integers above.
        XCTAssertEqual(SVGLineChart.format(1234.4), "1,234")
        XCTAssertEqual(SVGLineChart.format(0.5), "0.5")
        XCTAssertEqual(SVGLineChart.format(12.34), "12.3")
        XCTAssertEqual(SVGLineChart.format(0.00001), "0.00001")
        XCTAssertEqual(SVGLineChart.format(-1234567), "-1,234,567")
        XCTAssertEqual(SVGLineChart.format(0), "0")
    }
}
