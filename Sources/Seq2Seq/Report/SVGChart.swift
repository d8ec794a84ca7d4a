import Foundation

/// A self-contained SVG line chart: axes with "nice" ticks, one polyline per series, optional
/// vertical markers (MIXER stage boundaries) and a legend. No scripts, no external resources.
///
/// - Complexity: O(total points).
public struct SVGLineChart {
    /// One line of the chart.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// A labelled vertical line at `x` (drawn dashed).
    public struct Marker {
        public var x: Double
        public var label: String
        public init(x: Double, label: String) {
            self.x = x
            self.label = label
        }
    }

    public var title: String
    public var xLabel: String
    public var series: [Series]
    public var markers: [Marker]
    public var width = 460.0
    public var height = 260.0

    public init(title: String, xLabel: String = "epoch", series: [Series], markers: [Marker] = []) {
        self.title = title
        self.xLabel = xLabel
        self.series = series
        self.markers = markers
    }

    /// A colour-blind-safe palette (Okabe & Ito), cycled over the series.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// "Nice" tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart).
    public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(max(count, 1))
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 10_000 || a < 0.001 { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.4g", v)
    }

    /// The chart as an `<svg>` element.
    public func render() -> String {
        let finite = series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite }
        let left = 56.0, right = 12.0, top = 28.0, bottom = 40.0
        let pw = width - left - right, ph = height - top - bottom
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escapeXML(title))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#fff\"/>"
        svg += "<text x=\"\(Int(width / 2))\" y=\"17\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escapeXML(title))</text>"
        guard !finite.isEmpty else {
            svg += "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#888\">no data</text></svg>"
            return svg
        }
        var xlo = finite.map(\.x).min()!, xhi = finite.map(\.x).max()!
        var ylo = finite.map(\.y).min()!, yhi = finite.map(\.y).max()!
        if xhi == xlo { xlo -= 0.5; xhi += 0.5 }
        if yhi == ylo { let d = ylo == 0 ? 1 : abs(ylo) * 0.05; ylo -= d; yhi += d }
        let pad = (yhi - ylo) * 0.05
        ylo -= pad; yhi += pad
        func px(_ x: Double) -> Double { left + (x - xlo) / (xhi - xlo) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - ylo) / (yhi - ylo)) * ph }
        let f = { (v: Double) in String(format: "%.1f", v) }
        // Grid and ticks.
        for t in Self.ticks(ylo, yhi) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(f(left - 4))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" font-size=\"10\">\(Self.format(t))</text>"
        }
        for t in Self.ticks(xlo, xhi, count: 6) {
            svg += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top + ph))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + ph + 4))\" stroke=\"#333\"/>"
            svg += "<text x=\"\(f(px(t)))\" y=\"\(f(top + ph + 15))\" text-anchor=\"middle\" font-size=\"10\">\(Self.format(t))</text>"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>"
        svg += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\" font-size=\"11\">\(escapeXML(xLabel))</text>"
        // Stage markers.
        for m in markers where m.x >= xlo && m.x <= xhi {
            svg += "<line class=\"marker\" x1=\"\(f(px(m.x)))\" y1=\"\(f(top))\" x2=\"\(f(px(m.x)))\" y2=\"\(f(top + ph))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"
            svg += "<text x=\"\(f(px(m.x) + 2))\" y=\"\(f(top + 10))\" font-size=\"9\" fill=\"#666\">\(escapeXML(m.label))</text>"
        }
        // Series.
        for (i, s) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            guard !pts.isEmpty else { continue }
            let path = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>"
            for p in pts where pts.count <= 60 {
                svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(color)\"/>"
            }
            if series.count > 1 {
                let ly = top + 12 + Double(i) * 13
                svg += "<rect x=\"\(f(left + pw - 120))\" y=\"\(f(ly - 8))\" width=\"10\" height=\"3\" fill=\"\(color)\"/>"
                svg += "<text x=\"\(f(left + pw - 106))\" y=\"\(f(ly - 4))\" font-size=\"10\">\(escapeXML(s.name))</text>"
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
