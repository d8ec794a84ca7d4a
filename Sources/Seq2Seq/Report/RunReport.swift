import Foundation

/// A training run read back from its directory, for `mixer-cli report`.
///
/// A run directory holds `log.jsonl` (one JSON object a line, written by the trainer) and the
/// checkpoints `last/` and `best/`. The report reads these kinds of record, told apart by their
/// `"event"` key:
/// - `"start"`: the run's configuration (`"config"`, `"options"`: objects of scalars);
/// - `"epoch"`: the per-epoch figures: `train_loss`, `valid_loss`, `valid_ppl`, `valid_metric`
///   (named by `metric`), `lr`, `tokens_per_s`, MIXER's `s`, `mean_reward`, `baseline_mse`,
///   `advantage_mean`, `advantage_std`, and the degeneration figures `repeated_bigrams`,
///   `distinct1`, `distinct2`, `length_ratio`, `no_eos`;
/// - `"samples"`: sample outputs at an epoch: `items` of `source`, `reference`, `greedy`, `beam`.
/// Unknown keys and records are ignored, so older logs still render.
public struct RunLog {
    /// The name shown in legends: the directory's last path component.
    public var name: String
    /// The per-epoch records, in file order; only numeric fields are kept.
    public var epochs: [[String: Double]]
    /// String fields of epoch records (`stage`, `metric`).
    public var epochLabels: [[String: String]]
    /// Sample sets: (epoch, items).
    public var samples: [(epoch: Int, items: [[String: String]])]
    /// Flattened configuration (`config.*` and `options.*`) from the start record.
    public var configuration: [(key: String, value: String)]

    /// Reads `directory/log.jsonl`.
    /// - Throws: `InputErrorLike` (a `RunReportError`) naming the file and line of a bad record.
    public init(directory: URL) throws {
        name = directory.standardizedFileURL.lastPathComponent
        epochs = []
        epochLabels = []
        samples = []
        configuration = []
        let logURL = directory.appendingPathComponent("log.jsonl")
        guard FileManager.default.fileExists(atPath: logURL.path) else {
            throw RunReportError("\(directory.path): not a run directory (no log.jsonl)")
        }
        let data = try Data(contentsOf: logURL)
        var lineNumber = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] else {
                // A run killed mid-write can leave a torn last line: ignore it, reject others.
                if lineNumber >= data.split(separator: UInt8(ascii: "\n")).count { continue }
                throw RunReportError("\(logURL.path):\(lineNumber): not a JSON object")
            }
            switch obj["event"] as? String {
            case "start":
                for section in ["config", "options"] {
                    if let d = obj[section] as? [String: Any] {
                        for k in d.keys.sorted() { configuration.append(("\(section).\(k)", Self.text(d[k]!))) }
                    }
                }
            case "epoch":
                var nums: [String: Double] = [:], labels: [String: String] = [:]
                for (k, v) in obj {
                    if let n = v as? NSNumber { nums[k] = n.doubleValue }  // (JSON booleans read as 0/1)
                    else if let s = v as? String { labels[k] = s }
                }
                epochs.append(nums)
                epochLabels.append(labels)
            case "samples":
                let epoch = (obj["epoch"] as? NSNumber)?.intValue ?? 0
                let items = (obj["items"] as? [[String: Any]] ?? []).map { item in
                    item.compactMapValues { $0 as? String }
                }
                samples.append((epoch, items))
            default:
                continue
            }
        }
        if epochs.isEmpty && configuration.isEmpty && samples.isEmpty {
            throw RunReportError("\(logURL.path): has no training records (empty log)")
        }
    }

    static func text(_ v: Any) -> String {
        if let s = v as? String { return s }
        if let n = v as? NSNumber { return n.stringValue }
        if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: d, as: UTF8.self)
        }
        return "\(v)"
    }

    /// The series (epoch, value) of a numeric field, skipping epochs that lack it.
    public func series(_ key: String) -> [(x: Double, y: Double)] {
        epochs.compactMap { e in
            guard let y = e[key], let x = e["epoch"] else { return nil }
            return (x, y)
        }
    }

    /// Epochs at which MIXER's `s` changed (the first epoch of each new stage), with labels.
    public var stageBoundaries: [SVGLineChart.Marker] {
        var out: [SVGLineChart.Marker] = []
        var last: Double? = nil
        for (i, e) in epochs.enumerated() {
            let stage = epochLabels[i]["stage"] ?? ""
            guard let s = e["s"], let x = e["epoch"] else { continue }
            if let l = last, l != s { out.append(.init(x: x - 0.5, label: stage == "reinforce" ? "s=\(Int(s))" : "s=\(Int(s))")) }
            last = s
        }
        return out
    }

    /// The validation metric's name (`metric` in the epoch records), or "metric".
    public var metricName: String { epochLabels.last?["metric"] ?? "metric" }
}

/// An error reading a run directory.
public struct RunReportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Renders one or several runs as a self-contained HTML page and a terminal summary.
///
/// The page has no scripts and loads nothing: every chart is inline SVG (``SVGLineChart``).
/// With several runs, each chart overlays them (for example XENT against MIXER).
public struct RunReport {
    public var runs: [RunLog]

    public init(runs: [RunLog]) { self.runs = runs }

    /// The charts drawn, as (title, [epoch-record keys]).
    public static let charts: [(String, [String])] = [
        ("Training and validation loss", ["train_loss", "valid_loss"]),
        ("Validation metric", ["valid_metric"]),
        ("Mean reward", ["mean_reward"]),
        ("Baseline MSE", ["baseline_mse"]),
        ("Learning rate", ["lr"]),
        ("Target tokens per second", ["tokens_per_s"]),
        ("Repeated bigrams and no-EOS share", ["repeated_bigrams", "no_eos"]),
        ("Distinct-1 / distinct-2 / length ratio", ["distinct1", "distinct2", "length_ratio"]),
    ]

    /// Builds the charts: one per entry of ``charts`` that has data in at least one run.
    public func svgCharts() -> [String] {
        var out: [String] = []
        for (title, keys) in Self.charts {
            var series: [SVGLineChart.Series] = []
            for run in runs {
                for k in keys {
                    let pts = run.series(k)
                    guard !pts.isEmpty else { continue }
                    var label = runs.count > 1 ? "\(run.name): \(k)" : k
                    if k == "valid_metric" { label = runs.count > 1 ? "\(run.name): \(run.metricName)" : run.metricName }
                    series.append(.init(name: label, points: pts))
                }
            }
            guard !series.isEmpty else { continue }
            var markers: [SVGLineChart.Marker] = []
            for run in runs {
                markers += run.stageBoundaries.map {
                    .init(x: $0.x, label: runs.count > 1 ? "\(run.name) \($0.label)" : $0.label)
                }
            }
            out.append(SVGLineChart(title: title, series: series, markers: markers).render())
        }
        return out
    }

    /// The whole page.
    public func html(title: String = "mixer run report") -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escapeXML(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
        h1{font-size:22px}h2{font-size:17px;margin-top:28px}
        .charts{display:flex;flex-wrap:wrap;gap:12px}
        .chart{border:1px solid #ddd;border-radius:4px}
        table{border-collapse:collapse;font-size:13px;margin:8px 0}
        td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
        .small{color:#666;font-size:12px}
        </style></head><body>
        <h1>\(escapeXML(title))</h1>
        <p class="small">Runs: \(runs.map { escapeXML($0.name) }.joined(separator: ", ")). Dashed lines mark MIXER stage boundaries (the epoch where the number of teacher-forced steps s changes).</p>
        <h2>Learning curves</h2>
        <div class="charts">
        """
        h += svgCharts().joined(separator: "\n")
        h += "</div>\n"
        h += summaryTableHTML()
        for run in runs {
            h += samplesHTML(run)
            if !run.configuration.isEmpty {
                h += "<h2>Configuration: \(escapeXML(run.name))</h2><table><tr><th>key</th><th>value</th></tr>"
                for (k, v) in run.configuration { h += "<tr><td>\(escapeXML(k))</td><td>\(escapeXML(v))</td></tr>" }
                h += "</table>\n"
            }
        }
        h += "</body></html>\n"
        return h
    }

    static let summaryKeys = ["epoch", "train_loss", "valid_ppl", "valid_metric", "mean_reward", "baseline_mse",
                              "repeated_bigrams", "distinct1", "distinct2", "length_ratio", "no_eos"]

    func summaryTableHTML() -> String {
        var h = "<h2>Last epoch and degeneration figures</h2><table><tr><th>run</th>"
        h += Self.summaryKeys.map { "<th>\($0)</th>" }.joined() + "<th>best valid (epoch)</th></tr>"
        for run in runs {
            h += "<tr><td>\(escapeXML(run.name))</td>"
            let last = run.epochs.last ?? [:]
            for k in Self.summaryKeys {
                h += "<td class=\"num\">\(last[k].map { SVGLineChart.format($0) } ?? "–")</td>"
            }
            if let best = run.bestValid { h += "<td class=\"num\">\(SVGLineChart.format(best.value)) (\(Int(best.epoch)))</td>" }
            else { h += "<td>–</td>" }
            h += "</tr>"
        }
        return h + "</table>\n"
    }

    func samplesHTML(_ run: RunLog) -> String {
        guard !run.samples.isEmpty else { return "" }
        var h = "<h2>Sample outputs: \(escapeXML(run.name))</h2>"
        // At most four checkpoints: first, two in the middle, last.
        let n = run.samples.count
        let picks = n <= 4 ? Array(0..<n) : [0, n / 3, 2 * n / 3, n - 1]
        for i in picks {
            let set = run.samples[i]
            h += "<h3 class=\"small\">epoch \(set.epoch)</h3><table><tr><th>source</th><th>reference</th><th>greedy</th><th>beam</th></tr>"
            for item in set.items {
                let src = item["source"] ?? ""
                let shortSrc = src.count > 160 ? String(src.prefix(160)) + "…" : src
                h += "<tr><td>\(escapeXML(shortSrc))</td><td>\(escapeXML(item["reference"] ?? ""))</td>"
                h += "<td>\(escapeXML(item["greedy"] ?? ""))</td><td>\(escapeXML(item["beam"] ?? "–"))</td></tr>"
            }
            h += "</table>"
        }
        return h + "\n"
    }

    /// A few lines for the terminal.
    public func summary() -> String {
        var lines: [String] = []
        for run in runs {
            let last = run.epochs.last ?? [:]
            var l = "\(run.name): \(run.epochs.count) epochs"
            if let b = run.bestValid { l += ", best valid \(run.metricName) \(SVGLineChart.format(b.value)) at epoch \(Int(b.epoch))" }
            if let r = last["mean_reward"] { l += ", last mean reward \(SVGLineChart.format(r))" }
            if let d = last["distinct2"] { l += ", distinct-2 \(SVGLineChart.format(d))" }
            if let r = last["repeated_bigrams"] { l += ", repeated bigrams \(SVGLineChart.format(r))" }
            if let e = last["no_eos"] { l += ", no </s> \(SVGLineChart.format(e))" }
            lines.append(l)
        }
        return lines.joined(separator: "\n")
    }
}

extension RunLog {
    /// The best `valid_metric` (higher is better) and its epoch.
    public var bestValid: (value: Double, epoch: Double)? {
        var best: (Double, Double)? = nil
        for e in epochs {
            guard let v = e["valid_metric"], let x = e["epoch"] else { continue }
            if best == nil || v > best!.0 { best = (v, x) }
        }
        return best
    }
}
