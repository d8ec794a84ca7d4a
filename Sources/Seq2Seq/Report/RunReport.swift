import Foundation

/// A training run read back from its directory, for `mixer-cli report`.
///
/// A run directory holds `log.jsonl` (one JSON object a line, written by the trainer) and the
/// checkpoints `last/` and `best/`. The log is read with ``TrainingLog/read(_:)``, the same
/// types the trainer writes (``RunRecord``), so a renamed key cannot empty a chart unnoticed.
/// The report uses these kinds of record:
/// - ``RunStartRecord``: the run's configuration: `arguments` (the command-line arguments after
///   `train`), `config` and `options` (the saved settings, nested objects of scalars) and
///   `data` (pair and vocabulary counts);
/// - ``EpochRecord``: the per-epoch figures (losses, scores, throughput, stage, MIXER's `s`,
///   REINFORCE's reward and baseline error, degeneration figures);
/// - ``SamplesRecord``: sample outputs at an epoch.
/// Other kinds are skipped, and missing fields leave gaps, so logs of 0.2.0 still render.
public struct RunLog {
    /// The name shown in the legend: the directory's last path component.
    public var name: String
    /// The epoch records, in file order.
    public var epochs: [EpochRecord]
    /// Sample sets, in file order.
    public var samples: [SamplesRecord]
    /// The saved settings of the start record, flattened to dotted keys
    /// (`options.learningRate`, `config.model.hiddenSize`), values as text.
    public var configuration: [(key: String, value: String)]
    /// The exact command-line arguments after `train` (without `--output`), when the log
    /// records them.
    public var arguments: [String]?
    /// The start record's data counts.
    public var dataCounts: DataCounts

    /// Reads `directory/log.jsonl`.
    /// - Throws: ``RunReportError`` naming the file and line of a bad record.
    public init(directory: URL) throws {
        name = directory.standardizedFileURL.lastPathComponent
        epochs = []
        samples = []
        configuration = []
        dataCounts = DataCounts()
        let logURL = directory.appendingPathComponent("log.jsonl")
        guard FileManager.default.fileExists(atPath: logURL.path) else {
            throw RunReportError("\(directory.path): not a run directory (no log.jsonl)")
        }
        let records: [RunRecord]
        do { records = try TrainingLog.read(logURL.path) } catch let e as StorageError {
            throw RunReportError(e.description)
        }
        for record in records {
            switch record {
            case .start(let start):
                configuration = []
                for (section, tree) in [("config", start.config), ("options", start.options)] {
                    if case .object(let d)? = tree { Self.flatten(d, prefix: section, into: &configuration) }
                }
                if let a = start.arguments {
                    arguments = a.isEmpty ? nil : a  // (a trainer run from code records none)
                }
                if let d = start.data { dataCounts = d }
            case .epoch(let e):
                epochs.append(e)
            case .samples(let s):
                samples.append(s)
            default:
                continue
            }
        }
        if epochs.isEmpty && configuration.isEmpty && samples.isEmpty {
            throw RunReportError("\(logURL.path): has no training records (empty log)")
        }
    }

    /// Flattens nested objects to dotted keys, sorted, so `config.model` is not one JSON blob.
    /// An object with one key that is itself an object (an enum case with values, such as
    /// `{"inverseSigmoid":{"k":500}}`) stays one entry, rendered by ``FlagMapping``.
    static func flatten(_ d: [String: JSONValue], prefix: String, into out: inout [(key: String, value: String)]) {
        for k in d.keys.sorted() {
            let v = d[k]!
            if case .object(let sub) = v, !(sub.count == 1 && { if case .object = sub.values.first! { return true } else { return false } }()) {
                flatten(sub, prefix: "\(prefix).\(k)", into: &out)
            } else {
                out.append(("\(prefix).\(k)", text(v)))
            }
        }
    }

    /// A saved value as text: strings bare, numbers without exponent, other values as JSON.
    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return plainNumber(d)
        default: return v.serialized()
        }
    }

    /// `d` exactly (shortest round-trip digits) but without exponent notation, as a user would
    /// type it: 1e-05 → 0.00001, 100000.0 → 100000.
    static func plainNumber(_ d: Double) -> String {
        guard d.isFinite else { return "\(d)" }
        if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
        let s = "\(d)"
        guard let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }), let exp = Int(s[s.index(after: e)...]) else { return s }
        var mantissa = String(s[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        let parts = mantissa.split(separator: ".", maxSplits: 1)
        let intDigits = String(parts[0]), fracDigits = parts.count > 1 ? String(parts[1]) : ""
        var digits = intDigits + (fracDigits == "0" ? "" : fracDigits)
        var point = intDigits.count + exp
        if point <= 0 { digits = String(repeating: "0", count: -point + 1) + digits; point = 1 }
        if point >= digits.count { digits += String(repeating: "0", count: point - digits.count) }
        let i = digits.index(digits.startIndex, offsetBy: point)
        var out = String(digits[..<i])
        let frac = String(digits[i...])
        if !frac.isEmpty { out += "." + frac }
        return (negative ? "-" : "") + out
    }

    /// The series (epoch, value × scale) of a numeric field, skipping epochs that lack it.
    public func series(_ key: KeyPath<EpochRecord, Double?>, scale: Double = 1) -> [(x: Double, y: Double)] {
        epochs.compactMap { e in
            guard let y = e[keyPath: key] else { return nil }
            return (Double(e.epoch), y * scale)
        }
    }

    /// The run's stages in order: the first epoch of each, its stage name and MIXER's `s`
    /// (a new stage starts where either changes).
    public var stages: [(epoch: Double, stage: String, s: Int?)] {
        var out: [(epoch: Double, stage: String, s: Int?)] = []
        for e in epochs {
            let x = Double(e.epoch)
            let stage = e.stage ?? ""
            let s = e.s
            if let last = out.last, last.stage == stage && last.s == s { continue }
            out.append((x, stage, s))
        }
        return out
    }

    /// The stage boundaries: a marker half an epoch before the first epoch of each stage but
    /// the first, labelled with what starts there ("MIXER s=9", "s=6", "REINFORCE"; "s=9" in
    /// logs without stage names).
    public var stageBoundaries: [SVGLineChart.Marker] {
        let st = stages
        guard st.count > 1 else { return [] }
        return (1..<st.count).map { i in
            let (x, stage, s) = st[i]
            let label: String
            if stage.isEmpty || stage == "mixer", let s {
                label = st[i - 1].stage == stage ? "s=\(s)" : "\(Self.stageName(stage)) s=\(s)"
            } else { label = Self.stageName(stage) }
            return SVGLineChart.Marker(x: x - 0.5, label: label)
        }
    }

    /// The stage as people write it: XENT, MIXER, REINFORCE, DAD, SCST ("" when not logged).
    static func stageName(_ stage: String) -> String { stage.uppercased() }

    /// One line saying which epochs ran which stage: "XENT epochs 1–2 · MIXER s=9 epochs 3–4 ·
    /// REINFORCE epoch 5". Three MIXER stages or more in a row read as one, "MIXER s=9→3
    /// epochs 3–7", so that the legend, which stays in view, stays short (the charts label
    /// each boundary).
    public var stageSummary: String {
        let st = stages
        guard !st.isEmpty else { return "" }
        let lastEpoch = epochs.map { Double($0.epoch) }.max() ?? st.last!.epoch
        func span(_ from: Double, _ to: Double) -> String {
            to > from ? "epochs \(Int(from))–\(Int(to))" : "epoch \(Int(from))"
        }
        var parts: [String] = []
        var i = 0
        while i < st.count {
            var j = i
            while st[i].stage == "mixer" && j + 1 < st.count && st[j + 1].stage == "mixer" { j += 1 }
            let end = j + 1 < st.count ? st[j + 1].epoch - 1 : lastEpoch
            if j - i >= 2, let first = st[i].s, let last = st[j].s {
                parts.append("MIXER s=\(first)→\(last) \(span(st[i].epoch, end))")
                i = j + 1
                continue
            }
            let endOne = i + 1 < st.count ? st[i + 1].epoch - 1 : lastEpoch
            let s = st[i].stage.isEmpty || st[i].stage == "mixer" ? st[i].s.map { "s=\($0)" } : nil
            parts.append([Self.stageName(st[i].stage), s, span(st[i].epoch, endOne)].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "))
            i += 1
        }
        return parts.joined(separator: " · ")
    }

    /// The training objective of the saved settings (`xent`, `mixer`, `dad`, `scst`).
    public var objective: String? { configuration.first { $0.key == "options.objective" }?.value }

    /// The validation metric's name (`metric` in the epoch records), or "metric".
    public var metricName: String { epochs.last?.metric ?? "metric" }

    /// How `valid_metric` is shown: ROUGE ×100 (like BLEU), BLEU and perplexity as they are.
    public var metricScale: Double { metricName.hasPrefix("rouge") ? 100 : 1 }
}

/// An error reading a run directory.
public struct RunReportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Renders one or several runs as a self-contained HTML page and a terminal summary.
///
/// The page reads like a TensorBoard/W&B dashboard (see `docs/report.md`):
/// - one colour per run, the same in every chart, named once in a legend above the charts
///   (it stays in view while scrolling); inside a chart, line style tells the figures apart;
/// - one figure family per chart, at most four figures each (``charts``); scores ×100 (ROUGE
///   on 0–100 like BLEU);
/// - integer epoch ticks, plain numbers, MIXER/REINFORCE stage boundaries dashed and labelled;
/// - the configuration as the `mixer-cli train` flags, with the settings that differ between
///   runs highlighted;
/// - nothing wider than the page: charts shrink to the column, long text wraps, wide tables
///   scroll inside a box of the page's width.
/// The page has no scripts and loads nothing: every chart is inline SVG (``SVGLineChart``).
public struct RunReport {
    public var runs: [RunLog]

    public init(runs: [RunLog]) { self.runs = runs }

    /// One chart: its title, its figures (epoch-record field and the label of its line style)
    /// and the factor the values are shown multiplied by.
    public struct Chart {
        public var title: String
        public var figures: [(key: KeyPath<EpochRecord, Double?>, label: String)]
        public var scale: Double
        /// Drawn only when some run's values change (a constant learning rate says nothing).
        public var onlyIfChanging: Bool
        init(_ title: String, _ figures: [(KeyPath<EpochRecord, Double?>, String)], scale: Double = 1, onlyIfChanging: Bool = false) {
            self.title = title
            self.figures = figures.map { (key: $0.0, label: $0.1) }
            self.scale = scale
            self.onlyIfChanging = onlyIfChanging
        }
    }

    /// The charts drawn, in order; each is drawn when at least one run has its figures.
    public static let charts: [Chart] = [
        Chart("Loss (nats per target token)", [(\.trainLoss, "train"), (\.validLoss, "validation")]),
        Chart("Validation perplexity", [(\.validPerplexity, "perplexity")]),
        Chart("Validation BLEU (0–100)", [(\.validBLEU, "BLEU")]),
        Chart("Validation ROUGE F (×100)", [(\.validROUGE1, "ROUGE-1"), (\.validROUGE2, "ROUGE-2"), (\.validROUGEL, "ROUGE-L")], scale: 100),
        Chart("REINFORCE mean reward", [(\.meanReward, "mean reward")]),
        Chart("REINFORCE baseline MSE", [(\.baselineMSE, "baseline MSE")]),
        Chart("Throughput (target tokens per second)", [(\.tokensPerSecond, "tokens/s")]),
        Chart("Learning rate", [(\.learningRate, "learning rate")], onlyIfChanging: true),
        Chart("Repeated bigrams and outputs without </s> (%)", [(\.repeatedBigrams, "repeated bigrams"), (\.noEOS, "no </s>")], scale: 100),
        Chart("Distinct unigrams and bigrams (%)", [(\.distinct1, "distinct-1"), (\.distinct2, "distinct-2")], scale: 100),
    ]

    /// The colour of run `i`: the same in every chart and in the legend.
    public static func color(ofRun i: Int) -> String { SVGLineChart.palette[i % SVGLineChart.palette.count] }

    /// The charts' SVG, in ``charts`` order, each with every run that has its figures (run
    /// `r` in ``color(ofRun:)``, figure `f` in dash pattern `f`). Logs from before per-metric
    /// validation fields get a chart of `valid_metric` instead of BLEU and ROUGE.
    public func svgCharts() -> [String] {
        var specs = Self.charts
        let hasScores = runs.contains { r in
            r.epochs.contains { e in [e.validBLEU, e.validROUGE1, e.validROUGE2, e.validROUGEL, e.validROUGELsum].contains { $0 != nil } }
        }
        if !hasScores {
            let names = Set(runs.map(\.metricName)).sorted().joined(separator: ", ")
            let scaled = runs.contains { $0.metricScale != 1 }
            specs.insert(Chart("Validation \(names)\(scaled ? " (×100)" : "")", [(\.validMetric, names)]), at: 2)
        }
        var out: [String] = []
        for spec in specs {
            var series: [SVGLineChart.Series] = []
            var changing = false
            for (f, figure) in spec.figures.enumerated() {
                for (r, run) in runs.enumerated() {
                    let scale = figure.key == \EpochRecord.validMetric ? run.metricScale : spec.scale
                    let pts = run.series(figure.key, scale: scale)
                    guard !pts.isEmpty else { continue }
                    if Set(pts.map(\.y)).count > 1 { changing = true }
                    series.append(.init(name: "\(run.name): \(figure.label)", points: pts, color: Self.color(ofRun: r),
                                        dash: SVGLineChart.dashes[f % SVGLineChart.dashes.count]))
                }
            }
            guard !series.isEmpty, changing || !spec.onlyIfChanging else { continue }
            let key = spec.figures.enumerated().map { SVGLineChart.KeyEntry(label: $1.label, dash: SVGLineChart.dashes[$0 % SVGLineChart.dashes.count]) }
            out.append(SVGLineChart(title: spec.title, series: series, markers: markers(), key: key).render())
        }
        return out
    }

    /// Every run's stage boundaries; one shared by several runs is drawn once, in grey, one of
    /// a single run in that run's colour (with two runs or more).
    func markers() -> [SVGLineChart.Marker] {
        var byPlace: [String: (marker: SVGLineChart.Marker, runs: [Int])] = [:]
        var order: [String] = []
        for (r, run) in runs.enumerated() {
            for m in run.stageBoundaries {
                let k = "\(m.x) \(m.label)"
                if byPlace[k] == nil { byPlace[k] = (m, []); order.append(k) }
                byPlace[k]!.runs.append(r)
            }
        }
        return order.map { k in
            var (m, rs) = byPlace[k]!
            if runs.count > 1 && rs.count == 1 { m.color = Self.color(ofRun: rs[0]) }
            return m
        }
    }

    /// The whole page.
    public func html(title: String = "mixer run report") -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escapeXML(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;padding:0 20px 24px;color:#222;max-width:1480px;overflow-wrap:anywhere}
        h1{font-size:22px;margin:18px 0 6px}h2{font-size:17px;margin-top:28px}h3{font-size:13px;color:#555;margin:14px 0 4px}
        .legend{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid #ddd;padding:8px 0;display:flex;flex-wrap:wrap;gap:6px 22px;font-size:14px}
        .legend .run{display:inline-flex;align-items:baseline;gap:6px}
        .swatch{display:inline-block;width:22px;height:4px;border-radius:2px;vertical-align:middle;position:relative;top:-2px}
        .legend .stages{color:#666;font-size:12px}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
        svg.chart{width:100%;height:auto;border:1px solid #ddd;border-radius:4px;box-sizing:border-box}
        .box{max-width:100%;overflow-x:auto}
        table{border-collapse:collapse;font-size:13px;margin:8px 0;overflow-wrap:normal}
        td.name{white-space:nowrap}
        td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        table.samples{table-layout:fixed;width:100%;overflow-wrap:anywhere}
        code.cmd{display:block;white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;border:1px solid #e2e2e2;border-radius:4px;padding:6px 8px;font-size:12.5px;margin:4px 0 12px}
        code.cmd .arg{display:inline-block;max-width:100%}
        mark,td.diff{background:#ffe58a}
        .small{color:#666;font-size:12px}
        </style></head><body>
        <h1>\(escapeXML(title))</h1>

        """
        h += legendHTML()
        h += "<h2>Learning curves</h2>\n<div class=\"charts\">\n"
        h += svgCharts().joined(separator: "\n")
        h += "\n</div>\n"
        h += summaryTableHTML()
        h += configurationHTML()
        for (r, run) in runs.enumerated() { h += samplesHTML(run, index: r) }
        h += "</body></html>\n"
        return h
    }

    /// The one legend of the page: each run's colour and name, and which epochs ran which stage.
    func legendHTML() -> String {
        var h = "<div class=\"legend\" role=\"list\">"
        for (r, run) in runs.enumerated() {
            h += "<span class=\"run\" role=\"listitem\"><span class=\"swatch\" style=\"background:\(Self.color(ofRun: r))\"></span>"
            h += "<b>\(escapeXML(run.name))</b>"
            if !run.stageSummary.isEmpty { h += " <span class=\"stages\">\(escapeXML(run.stageSummary))</span>" }
            h += "</span>"
        }
        h += "</div>\n<p class=\"small\">Colour: run (the same in every chart). Line style: figure (the key under each chart's title). Dashed verticals: stage boundaries (MIXER's number of teacher-forced steps s changes, or REINFORCE starts). ROUGE and the degeneration shares are ×100, on 0–100 like BLEU.</p>\n"
        return h
    }

    /// Last-epoch figures per run: (column title, value of a run).
    func summaryColumns() -> [(String, (RunLog) -> Double?)] {
        func last(_ k: KeyPath<EpochRecord, Double?>, _ scale: Double = 1) -> (RunLog) -> Double? {
            { run in run.epochs.last(where: { $0[keyPath: k] != nil })?[keyPath: k].map { $0 * scale } }
        }
        return [
            ("epochs", { run in run.epochs.map { Double($0.epoch) }.max() }),
            ("train loss", last(\.trainLoss)), ("valid perplexity", last(\.validPerplexity)),
            ("BLEU", last(\.validBLEU)), ("ROUGE-1", last(\.validROUGE1, 100)), ("ROUGE-2", last(\.validROUGE2, 100)),
            ("ROUGE-L", last(\.validROUGEL, 100)), ("mean reward", last(\.meanReward)),
            ("repeated bigrams %", last(\.repeatedBigrams, 100)), ("distinct-2 %", last(\.distinct2, 100)),
            ("length ratio", last(\.lengthRatio)), ("no </s> %", last(\.noEOS, 100)),
        ]
    }

    func summaryTableHTML() -> String {
        let cols = summaryColumns().filter { col in runs.contains { col.1($0) != nil } }
        var h = "<h2>Last epoch</h2><div class=\"box\"><table><tr><th>run</th>"
        h += cols.map { "<th>\(escapeXML($0.0))</th>" }.joined() + "<th>best validation (epoch)</th></tr>"
        for (r, run) in runs.enumerated() {
            h += "<tr><td class=\"name\"><span class=\"swatch\" style=\"background:\(Self.color(ofRun: r))\"></span> \(escapeXML(run.name))</td>"
            for col in cols { h += "<td class=\"num\">\(col.1(run).map { SVGLineChart.format($0) } ?? "–")</td>" }
            if let best = run.bestValid {
                h += "<td class=\"num\">\(escapeXML(run.metricName)) \(SVGLineChart.format(best.value * run.metricScale)) (\(Int(best.epoch)))</td>"
            } else { h += "<td>–</td>" }
            h += "</tr>"
        }
        return h + "</table></div>\n"
    }

    /// The command line of each run, with the flags whose values differ between runs marked,
    /// then (with several runs) a table of just those differences.
    func configurationHTML() -> String {
        let flagSets = runs.map { FlagMapping.effectiveFlags($0) }
        guard flagSets.contains(where: { !$0.isEmpty }) else { return "" }
        let differing = runs.count > 1 ? FlagMapping.differingFlags(flagSets) : []
        var h = "<h2>Configuration</h2><p class=\"small\">Each run's <code>mixer-cli train</code> command: as typed where the log records it, otherwise rebuilt from the saved settings (every setting spelled out)."
        if runs.count > 1 { h += " Settings that differ between the runs are highlighted." }
        h += "</p>\n"
        for (r, run) in runs.enumerated() {
            let words: [(text: String, flag: String?)]
            if let args = run.arguments { words = FlagMapping.tokens(args) }
            else { words = flagSets[r].flatMap { f -> [(text: String, flag: String?)] in
                [(f.flag, f.flag)] + (f.value.isEmpty ? [] : [(FlagMapping.shellQuoted(f.value), f.flag)]) } }
            h += "<h3><span class=\"swatch\" style=\"background:\(Self.color(ofRun: r))\"></span> \(escapeXML(run.name))"
            if run.arguments == nil { h += " <span class=\"small\">(rebuilt from the saved settings)</span>" }
            // Each flag with its value is one unit (an inline block), so a line breaks between
            // flags, not inside "--encoder-hidden-size"; a differing one is marked.
            h += "</h3><code class=\"cmd\">mixer-cli train"
            var groups: [(text: String, flag: String?)] = []
            for w in words {
                if let last = groups.last, let flag = w.flag, last.flag == flag, !w.text.hasPrefix("--") {
                    groups[groups.count - 1].text += " " + w.text
                } else { groups.append(w) }
            }
            for g in groups {
                let tag = g.flag.map { differing.contains($0) } == true ? "mark" : "span"
                h += " <\(tag) class=\"arg\">\(escapeXML(g.text))</\(tag)>"
            }
            h += "</code>\n"
            if let p = run.dataCounts.trainPairs, let v = run.dataCounts.validPairs {
                var facts = "\(SVGLineChart.format(Double(p))) training pairs, \(SVGLineChart.format(Double(v))) validation pairs"
                if let s = run.dataCounts.sourceVocabulary, let t = run.dataCounts.targetVocabulary {
                    // A subword run's vocabularies are SentencePiece pieces (config.subword).
                    let subword = run.configuration.first { $0.key.hasPrefix("config.subword.") } != nil
                    facts += "; vocabularies of \(SVGLineChart.format(Double(s))) source and \(SVGLineChart.format(Double(t))) target \(subword ? "pieces" : "words")"
                }
                h += "<p class=\"small\">\(facts).</p>\n"
            }
        }
        if runs.count > 1 {
            if differing.isEmpty {
                h += "<p>The runs have the same settings.</p>\n"
            } else {
                h += "<h3>Settings that differ</h3><div class=\"box\"><table><tr><th>flag</th>"
                for (r, run) in runs.enumerated() {
                    h += "<th><span class=\"swatch\" style=\"background:\(Self.color(ofRun: r))\"></span> \(escapeXML(run.name))</th>"
                }
                h += "</tr>"
                for flag in differing {
                    h += "<tr><td><code>\(escapeXML(flag))</code></td>"
                    for (r, set) in flagSets.enumerated() {
                        let v = set.first { $0.flag == flag }
                        let unused = FlagMapping.isUnused(flag, by: runs[r])
                        let shown = v.map { $0.value.isEmpty ? "set" : $0.value }
                            ?? (unused ? "(not used by \(runs[r].objective ?? "this objective"))" : "(not recorded)")
                        h += "<td class=\"diff\">\(escapeXML(shown))</td>"
                    }
                    h += "</tr>"
                }
                h += "</table></div>\n"
            }
        }
        return h
    }

    func samplesHTML(_ run: RunLog, index: Int) -> String {
        guard !run.samples.isEmpty else { return "" }
        var h = "<h2><span class=\"swatch\" style=\"background:\(Self.color(ofRun: index))\"></span> Sample outputs: \(escapeXML(run.name))</h2>"
        // At most four checkpoints: first, two in the middle, last.
        let n = run.samples.count
        let picks = n <= 4 ? Array(0..<n) : [0, n / 3, 2 * n / 3, n - 1]
        for i in picks {
            let set = run.samples[i]
            h += "<h3>epoch \(set.epoch)</h3><table class=\"samples\"><tr><th>source</th><th>reference</th><th>greedy</th><th>beam</th></tr>"
            for item in set.items {
                let src = item.source
                let shortSrc = src.count > 160 ? String(src.prefix(160)) + "…" : src
                h += "<tr><td>\(escapeXML(shortSrc))</td><td>\(escapeXML(item.reference))</td>"
                h += "<td>\(escapeXML(item.greedy))</td><td>\(escapeXML(item.beam ?? "–"))</td></tr>"
            }
            h += "</table>"
        }
        return h + "\n"
    }

    /// A few lines for the terminal.
    public func summary() -> String {
        var lines: [String] = []
        for run in runs {
            let last = run.epochs.last ?? EpochRecord(epoch: 0)
            var l = "\(run.name): \(run.epochs.count) epochs"
            if let b = run.bestValid {
                l += ", best valid \(run.metricName) \(SVGLineChart.format(b.value * run.metricScale)) at epoch \(Int(b.epoch))"
            }
            if let r = last.meanReward { l += ", last mean reward \(SVGLineChart.format(r))" }
            if let d = last.distinct2 { l += ", distinct-2 \(SVGLineChart.format(d * 100))%" }
            if let r = last.repeatedBigrams { l += ", repeated bigrams \(SVGLineChart.format(r * 100))%" }
            if let e = last.noEOS { l += ", no </s> \(SVGLineChart.format(e * 100))%" }
            lines.append(l)
        }
        return lines.joined(separator: "\n")
    }
}

extension RunLog {
    /// The best `valid_metric` and its epoch: lowest for perplexity, highest otherwise.
    public var bestValid: (value: Double, epoch: Double)? {
        let lowerIsBetter = metricName == "perplexity"
        var best: (Double, Double)? = nil
        for e in epochs {
            guard let v = e.validMetric, v.isFinite else { continue }
            let x = Double(e.epoch)
            if best == nil || (lowerIsBetter ? v < best!.0 : v > best!.0) { best = (v, x) }
        }
        return best
    }
}
