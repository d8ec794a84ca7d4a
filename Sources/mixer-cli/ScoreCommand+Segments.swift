import Metrics
import Tokenize

/// `score --sentence-level`'s per-line output (text, json, sacrebleu-text, csv), written into
/// one reused byte buffer.
///
/// Everything that is the same on every line — the metrics' names, option fields and
/// signatures, already escaped for JSON — is turned into bytes once; a line then costs its
/// numbers (``TextBytes``: no `String` per number or per part) and one copy into the output.
/// The bytes are those of the `String`-building code that came before (`segmentJSON`,
/// `segmentText`, `sacreBLEUSegmentText`, `csvRow`), which tests pin.
struct SegmentPrinter {
    let format: ScoreFormat
    let width: Int
    let scoreOnly: Bool
    let bleu: BLEU?
    let bleuSignature: String?
    let rouge: ROUGE?
    let chrfs: [(key: String, config: CHRF)]
    let ter: TER?
    /// Each metric's constant parts.
    private let chrfParts: [ChrfParts]
    private let terParts: TerParts?
    private let rougeParts: [(type: ROUGEType, head: [UInt8], tail: [UInt8])]
    private let csvTypes: [ROUGEType]
    /// The reused buffer.
    private var buffer = TextBytes()

    /// The constant bytes around a chrF configuration's numbers.
    private struct ChrfParts {
        /// json: `"chrf": {"name": "chrF2", "score": `
        var jsonHead: [UInt8]
        /// json: `, "char_order": 6, "word_order": 0, "beta": 2, "statistics": [`
        var jsonMiddle: [UInt8]
        /// json: `], "signature": "…", "text": "chrF2 = `
        var jsonTail: [UInt8]
        /// text: `chrF2 = `; sacrebleu-text: `chrF2|SIGNATURE = `
        var text: [UInt8]
        var sacreBLEU: [UInt8]
    }

    private struct TerParts {
        /// json: `"ter": {"name": "TER", "score": `
        var jsonHead: [UInt8]
        /// json: `, "signature": "…", "text": "TER = `
        var jsonTail: [UInt8]
        var sacreBLEU: [UInt8]
    }

    init(format: ScoreFormat, width: Int, scoreOnly: Bool, short: Bool, references: ReferenceCount,
         bleu: BLEU?, rouge: ROUGE?, chrfs: [(key: String, config: CHRF)], ter: TER?) {
        self.format = format; self.width = width; self.scoreOnly = scoreOnly
        self.bleu = bleu; self.rouge = rouge; self.chrfs = chrfs; self.ter = ter
        bleuSignature = bleu.map { $0.signature(references: references, short: short) }
        chrfParts = chrfs.map { c in
            let name = c.config.score(CHRFStatistics(orders: c.config.order)).name
            let sig = c.config.signature(references: references, short: short)
            let text = jsonString(name + " = ")
            return ChrfParts(
                jsonHead: Array("\(jsonString(c.key)): {\"name\": \(jsonString(name)), \"score\": ".utf8),
                jsonMiddle: Array(", \"char_order\": \(c.config.charOrder), \"word_order\": \(c.config.wordOrder), \"beta\": \(c.config.beta), \"statistics\": [".utf8),
                jsonTail: Array("], \"signature\": \(jsonString(sig)), \"text\": \(text.dropLast())".utf8),
                text: Array("\(name) = ".utf8),
                sacreBLEU: Array("\(name)|\(sig) = ".utf8))
        }
        terParts = ter.map { t in
            let sig = t.signature(references: references, short: short)
            return TerParts(jsonHead: Array("\"ter\": {\"name\": \"TER\", \"score\": ".utf8),
                            jsonTail: Array(", \"signature\": \(jsonString(sig)), \"text\": \"TER = ".utf8),
                            sacreBLEU: Array("TER|\(sig) = ".utf8))
        }
        rougeParts = (rouge?.types ?? []).map { t in
            (t, Array("\(jsonString(t.rawValue)): {\"precision\": ".utf8),
             Array(", \"tokenizer\": \(jsonString(rouge!.tokenizer.rawValue)), \"stem\": \(rouge!.useStemmer), \"compatible\": \(rouge!.tokenizer == .compatible)}".utf8))
        }
        csvTypes = (rouge?.types ?? []).sorted { Array($0.rawValue.utf8).lexicographicallyPrecedes(Array($1.rawValue.utf8)) }
    }

    /// Writes line `index`'s (1-based) output to `out`.
    mutating func write(_ index: Int, _ seg: SegmentScores, to out: LineWriter,
                        bleuJSON: (BLEUScore, String) -> String) throws {
        buffer.removeAll()
        switch format {
        case .json: json(index, seg, bleuJSON: bleuJSON)
        case .csv: csv(index - 1, seg)
        case .sacrebleuText, .sacrebleuJSON: sacreBLEU(seg)
        case .text: text(index, seg)
        }
        try buffer.bytes.withUnsafeBufferPointer { try out.write($0) }
    }

    private static let comma: [UInt8] = Array(", ".utf8)

    /// `{"line": N, "bleu": {…}, "chrf": {…}, "ter": {…}, "rouge1": {…}}`
    private mutating func json(_ line: Int, _ seg: SegmentScores, bleuJSON: (BLEUScore, String) -> String) {
        buffer.write("{\"line\": ")
        buffer.appendInt(line)
        if let s = seg.bleu, let sig = bleuSignature {
            buffer.write(", \"bleu\": ")
            buffer.write(bleuJSON(s, sig))
        }
        for (k, c) in chrfs.enumerated() {
            let st = seg.chrfStatistics[k]
            let score = c.config.score(st).score
            buffer.append(Self.comma)
            buffer.append(chrfParts[k].jsonHead)
            buffer.appendJSONNumber(score)
            buffer.append(chrfParts[k].jsonMiddle)
            for (i, v) in st.values.enumerated() {
                if i > 0 { buffer.append(Self.comma) }
                buffer.appendInt(v)
            }
            buffer.append(chrfParts[k].jsonTail)
            buffer.appendFixed(score, width)
            buffer.write("\"}")
        }
        if let ter, let st = seg.terStatistics, let p = terParts {
            let s = ter.score(st)
            buffer.append(Self.comma)
            buffer.append(p.jsonHead)
            buffer.appendJSONNumber(s.score)
            buffer.write(", \"num_edits\": ")
            buffer.appendInt(s.edits)
            buffer.write(", \"ref_length\": ")
            buffer.appendJSONNumber(s.referenceLength)
            buffer.append(p.jsonTail)
            buffer.appendFixed(s.score, width)
            buffer.write("\"}")
        }
        for (t, head, tail) in rougeParts {
            let s = seg.rouge[t] ?? .zero
            buffer.append(Self.comma)
            buffer.append(head)
            buffer.appendJSONNumber(s.precision)
            buffer.write(", \"recall\": ")
            buffer.appendJSONNumber(s.recall)
            buffer.write(", \"f\": ")
            buffer.appendJSONNumber(s.f)
            buffer.append(tail)
        }
        buffer.write("}\n")
    }

    /// The line number (1-based), then the scores, separated by tabs: `3\tchrF2 = 74.93\trouge1 F = 40.00`
    /// (ROUGE ×100, as in the corpus text); the figures alone with --score-only.
    private mutating func text(_ line: Int, _ seg: SegmentScores) {
        var first = true
        func separate() { if !first { buffer.append(0x09) }; first = false }
        if !scoreOnly {
            buffer.appendInt(line)
            first = false
        }
        if let s = seg.bleu {
            separate()
            if scoreOnly { buffer.appendFixed(s.score, width) } else { buffer.write(s.formatted(width: width)) }
        }
        for (k, c) in chrfs.enumerated() {
            separate()
            if !scoreOnly { buffer.append(chrfParts[k].text) }
            buffer.appendFixed(c.config.score(seg.chrfStatistics[k]).score, width)
        }
        if let ter, let st = seg.terStatistics {
            separate()
            if !scoreOnly { buffer.write("TER = ") }
            buffer.appendFixed(ter.score(st).score, width)
        }
        if let rouge {
            for t in rouge.types {
                separate()
                buffer.write(t.rawValue)
                buffer.write(" F = ")
                buffer.appendFixed(100 * (seg.rouge[t] ?? .zero).f, width)
            }
        }
        buffer.append(0x0A)
    }

    /// sacreBLEU's sentence-level lines, `NAME|SIGNATURE = SCORE`, one per metric.
    private mutating func sacreBLEU(_ seg: SegmentScores) {
        if let s = seg.bleu, let sig = bleuSignature {
            if scoreOnly {
                buffer.appendFixed(s.score, width)
            } else {
                let verbose = String(s.formatted(width: width).split(separator: " ", maxSplits: 3)[3])
                buffer.write("BLEU|\(sig) = ")
                buffer.appendFixed(s.score, width)
                buffer.write(" " + verbose)
            }
            buffer.append(0x0A)
        }
        for (k, c) in chrfs.enumerated() {
            if !scoreOnly { buffer.append(chrfParts[k].sacreBLEU) }
            buffer.appendFixed(c.config.score(seg.chrfStatistics[k]).score, width)
            buffer.append(0x0A)
        }
        if let ter, let st = seg.terStatistics, let p = terParts {
            if !scoreOnly { buffer.append(p.sacreBLEU) }
            buffer.appendFixed(ter.score(st).score, width)
            buffer.append(0x0A)
        }
    }

    /// rouge-score's per-example row: the 0-based line number, then `%f` figures.
    private mutating func csv(_ id: Int, _ seg: SegmentScores) {
        buffer.appendInt(id)
        func cell(_ x: Double) { buffer.append(0x2C); buffer.appendFixed(x, 6) }
        for t in csvTypes {
            let s = seg.rouge[t] ?? .zero
            cell(s.precision); cell(s.recall); cell(s.f)
        }
        if let s = seg.bleu { cell(s.score) }
        for (k, c) in chrfs.enumerated() { cell(c.config.score(seg.chrfStatistics[k]).score) }
        if let ter, let st = seg.terStatistics { cell(ter.score(st).score) }
        buffer.append(0x0A)
    }
}
