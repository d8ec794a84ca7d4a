import Foundation

/// A self-contained SVG line chart of per-epoch figures, laid out the way people read
/// TensorBoard or W&B panels: colour says which run, line style says which figure.
///
/// - Each series carries its own colour (the report gives one colour per run, the same in every
///   chart) and dash pattern (one per figure of the chart: solid, dashed, dotted, dash-dot).
/// - The run legend is not drawn here but once for the whole page (``RunReport``); a chart with
///   several figures gets a small line-style key in a row of its own between the title and the
///   plot, so that no legend ever covers a line.
/// - The x axis is the epoch and has integer ticks only; tick labels are plain numbers with
///   thousands separators (``tickLabel(_:step:)``), never exponent notation.
/// - Vertical markers (MIXER/REINFORCE stage boundaries) are dashed lines across the plot with
///   their labels in a band just above it.
///
/// The SVG marks its plot area `<rect class="plot">` and its key `<g class="key" data-box="x y w
/// h">`, so tests can check the geometry. No scripts, no external resources.
///
/// - Complexity: O(total points).
public struct SVGLineChart {
    /// One line of the chart.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// The stroke colour (`#rrggbb`).
        public var color: String
        /// The SVG `stroke-dasharray` (empty: solid).
        public var dash: String
        public init(name: String, points: [(x: Double, y: Double)], color: String = SVGLineChart.palette[0], dash: String = "") {
            self.name = name
            self.points = points
            self.color = color
            self.dash = dash
        }
    }

    /// A labelled vertical line at `x` (drawn dashed), e.g. a MIXER stage boundary.
    public struct Marker {
        public var x: Double
        public var label: String
        public var color: String
        public init(x: Double, label: String, color: String = "#777777") {
            self.x = x
            self.label = label
            self.color = color
        }
    }

    /// One entry of the chart's line-style key: which figure a dash pattern stands for.
    public struct KeyEntry {
        public var label: String
        public var dash: String
        public init(label: String, dash: String) {
            self.label = label
            self.dash = dash
        }
    }

    public var title: String
    public var xLabel: String
    public var series: [Series]
    public var markers: [Marker]
    /// The line-style key; drawn only when it has two entries or more.
    public var key: [KeyEntry]
    /// Integer ticks only on the x axis (epochs).
    public var integerX: Bool
    public var width = 460.0
    public var height = 280.0

    public init(title: String, xLabel: String = "epoch", series: [Series], markers: [Marker] = [],
                key: [KeyEntry] = [], integerX: Bool = true) {
        self.title = title
        self.xLabel = xLabel
        self.series = series
        self.markers = markers
        self.key = key
        self.integerX = integerX
    }

    /// A colour-blind-safe palette (Okabe & Ito), one colour per run, cycled past seven runs.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// Dash patterns, one per figure of a chart (solid, dashed, dotted, dash-dot).
    public static let dashes = ["", "7 4", "2 3", "8 3 2 3"]

    /// "Nice" tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart).
    public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let step = niceStep((hi - lo) / Double(max(count, 1)))
        return ticks(lo, hi, step: step)
    }

    /// Integer ticks covering [lo, hi], 1, 2, 5, 10, 20, … apart (epoch axes: no "1.5").
    public static func integerTicks(_ lo: Double, _ hi: Double, count: Int = 8) -> [Double] {
        guard lo.isFinite, hi.isFinite else { return [] }
        guard hi > lo else { return lo == lo.rounded() ? [lo] : [] }
        let step = max(1, niceStep((hi - lo) / Double(max(count, 1))))
        return ticks(lo, hi, step: step)
    }

    /// The smallest of 1, 2, 5 × 10^k that is at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let mag = pow(10, floor(log10(raw)))
        return [1.0, 2.0, 5.0, 10.0].map { $0 * mag }.first { $0 >= raw * (1 - 1e-12) } ?? 10 * mag
    }

    static func ticks(_ lo: Double, _ hi: Double, step: Double) -> [Double] {
        let first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9)
        guard last >= first, last - first < 1000 else { return [] }
        return stride(from: first, through: last, by: 1).map { k in
            let t = k * step
            return abs(t) < step * 1e-9 ? 0 : t
        }
    }

    /// A tick label: `v` with as many decimals as the tick step needs (0.2 → one), thousands
    /// separators, no exponent: 12,000 · 0.5 · 0.0001.
    public static func tickLabel(_ v: Double, step: Double) -> String {
        let decimals = step > 0 && step.isFinite ? max(0, Int(ceil(-log10(step) - 1e-9))) : 2
        return fixed(v, decimals: min(decimals, 12), trim: false)
    }

    /// A figure for tables and text: 1,234 · 123 · 12.3 · 1.23 · 0.123 · 0.00001 — three
    /// significant digits below 100, integers with thousands separators above; exponent
    /// notation only for magnitudes no training figure has (below 10⁻⁹ or above 10¹⁵).
    public static func format(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "∞" : "-∞") }
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e15 || a < 1e-9 { return String(format: "%.2e", v) }
        if a >= 100 { return fixed(v, decimals: 0, trim: false) }
        let decimals = max(0, 2 - Int(floor(log10(a))))
        return fixed(v, decimals: decimals, trim: true)
    }

    /// `v` with `decimals` decimals and thousands separators; `trim` drops trailing zeros.
    static func fixed(_ v: Double, decimals: Int, trim: Bool) -> String {
        var s = String(format: "%.\(decimals)f", abs(v))
        if trim && s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        let parts = s.split(separator: ".", maxSplits: 1)
        var intPart = String(parts[0])
        var grouped = ""
        while intPart.count > 3 {
            grouped = "," + intPart.suffix(3) + grouped
            intPart.removeLast(3)
        }
        grouped = intPart + grouped
        let body = parts.count > 1 ? grouped + "." + parts[1] : grouped
        let isZero = !body.contains { $0 != "0" && $0 != "." && $0 != "," }
        return (v < 0 && !isZero ? "-" : "") + body
    }

    // Layout (in SVG units).
    static let left = 58.0, right = 14.0, bottom = 36.0

    /// The plot area: x, y, width, height. Its top leaves room for the title, the key (when
    /// drawn) and the marker labels.
    public var plotRect: (x: Double, y: Double, w: Double, h: Double) {
        let top = key.count > 1 ? 56.0 : 38.0
        return (Self.left, top, width - Self.left - Self.right, height - top - Self.bottom)
    }

    /// The chart as an `<svg>` element.
    public func render() -> String {
        let finite = series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite }
        let (left, top, pw, ph) = plotRect
        let f = { (v: Double) in String(format: "%.1f", v) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escapeXML(title))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#fff\"/>"
        svg += "<text x=\"\(Int(width / 2))\" y=\"17\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escapeXML(title))</text>"
        if key.count > 1 {
            // The key: one row under the title, centred, each entry a line sample and a label.
            let widths = key.map { 30.0 + Double($0.label.count) * 6.0 + 12 }
            let total = widths.reduce(0, +)
            var x = max(4, (width - total) / 2)
            let y = 26.0, h = 14.0
            svg += "<g class=\"key\" data-box=\"\(f(x)) \(f(y)) \(f(total)) \(f(h))\">"
            for (e, w) in zip(key, widths) {
                svg += "<line x1=\"\(f(x))\" y1=\"\(f(y + 7))\" x2=\"\(f(x + 24))\" y2=\"\(f(y + 7))\" stroke=\"#444\" stroke-width=\"2\"\(e.dash.isEmpty ? "" : " stroke-dasharray=\"\(e.dash)\"")/>"
                svg += "<text x=\"\(f(x + 29))\" y=\"\(f(y + 11))\" font-size=\"11\" fill=\"#333\">\(escapeXML(e.label))</text>"
                x += w
            }
            svg += "</g>"
        }
        guard !finite.isEmpty else {
            svg += "<rect class=\"plot\" x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#ccc\"/>"
            svg += "<text x=\"\(Int(width / 2))\" y=\"\(Int(top + ph / 2))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#888\">no data</text></svg>"
            return svg
        }
        var xlo = finite.map(\.x).min()!, xhi = finite.map(\.x).max()!
        var ylo = finite.map(\.y).min()!, yhi = finite.map(\.y).max()!
        if xhi == xlo { xlo -= 0.5; xhi += 0.5 }
        if yhi == ylo { let d = ylo == 0 ? 1 : abs(ylo) * 0.05; ylo -= d; yhi += d }
        let pad = (yhi - ylo) * 0.06
        ylo -= pad; yhi += pad
        func px(_ x: Double) -> Double { left + (x - xlo) / (xhi - xlo) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - ylo) / (yhi - ylo)) * ph }
        // Grid and ticks.
        let yStep = Self.niceStep((yhi - ylo) / 5)
        for t in Self.ticks(ylo, yhi, step: yStep) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(t)))\" stroke=\"#e8e8e8\"/>"
            svg += "<text class=\"ytick\" x=\"\(f(left - 5))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" font-size=\"10\">\(Self.tickLabel(t, step: yStep))</text>"
        }
        let xTicks = integerX ? Self.integerTicks(xlo, xhi) : Self.ticks(xlo, xhi, count: 6)
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        for t in xTicks {
            svg += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top + ph))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + ph + 4))\" stroke=\"#333\"/>"
            svg += "<text class=\"xtick\" x=\"\(f(px(t)))\" y=\"\(f(top + ph + 15))\" text-anchor=\"middle\" font-size=\"10\">\(Self.tickLabel(t, step: xStep))</text>"
        }
        svg += "<rect class=\"plot\" x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>"
        svg += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 5))\" text-anchor=\"middle\" font-size=\"11\">\(escapeXML(xLabel))</text>"
        // Stage markers: the line across the plot, the label above it (skipped when it would
        // run into the previous label; the line stays).
        var lastLabelEnd = -Double.infinity
        for m in markers.sorted(by: { $0.x < $1.x }) where m.x >= xlo && m.x <= xhi {
            let x = px(m.x)
            svg += "<line class=\"marker\" x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + ph))\" stroke=\"\(m.color)\" stroke-dasharray=\"3 3\"/>"
            // Centred on the line, but kept inside the chart at its edges.
            let half = Double(m.label.count) * 2.7
            let lx = min(max(x, half + 2), width - half - 2)
            if lx - half > lastLabelEnd + 4 {
                svg += "<text class=\"marker-label\" x=\"\(f(lx))\" y=\"\(f(top - 4))\" text-anchor=\"middle\" font-size=\"9\" fill=\"\(m.color)\">\(escapeXML(m.label))</text>"
                lastLabelEnd = lx + half
            }
        }
        // Series.
        for s in series {
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            guard !pts.isEmpty else { continue }
            let path = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            let dash = s.dash.isEmpty ? "" : " stroke-dasharray=\"\(s.dash)\""
            svg += "<polyline class=\"series\" data-name=\"\(escapeXML(s.name))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(dash) points=\"\(path)\"><title>\(escapeXML(s.name))</title></polyline>"
            for p in pts where pts.count <= 60 {
                svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(s.color)\"/>"
            }
        }
        svg += "</svg>"
        return svg
    }
}

/// Escapes `&`, `<`, `>` and `"` for XML/HTML text and attributes.
public func escapeXML(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
