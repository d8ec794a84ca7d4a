import ArgumentParser
import Foundation
import Metrics
import Tokenize

/// `mixer-cli score`: BLEU (sacreBLEU 2.6.0) and ROUGE (rouge-score 0.1.2) of a hypothesis file.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score hypotheses with BLEU (as sacreBLEU 2.6.0) and ROUGE (as rouge-score 0.1.2).",
        discussion: """
        HYP and every --ref file are line-aligned UTF-8 text, one segment per line ("-" or no HYP \
        reads standard input). BLEU is corpus BLEU (summed statistics, effective order off); with \
        --sentence-level each line gets sentence BLEU (effective order on, as sacreBLEU's \
        sentence_bleu). ROUGE figures are means over lines; each line is one summary, so rougeLsum \
        equals rougeL on line files. The signature names mixer's version, not sacreBLEU's.

        --rouge-tokenizer unicode is NOT rouge-score compatible (it keeps accented and CJK text \
        that rouge-score drops); its output says so.

        Examples:
          mixer-cli score out.txt --ref ref.txt
          mixer-cli score out.txt --ref ref1.txt --ref ref2.txt --metrics bleu,rouge2 --format json
          mixer-cli score out.txt --ref ref.txt --confidence --samples 1000 --seed 12345
          mixer-cli score new.txt --ref ref.txt --paired old.txt
        """
    )

    @Argument(help: "The hypothesis file, or - for standard input.")
    var hypothesis: String = "-"

    @Option(name: .customLong("ref"), help: "A reference file (repeat for several references).")
    var references: [String] = []

    @OptionGroup var metric: MetricArguments

    @Flag(name: .customLong("sentence-level"), help: "Print the scores of every line instead of the corpus.")
    var sentenceLevel = false

    @Flag(help: "Add bootstrap confidence intervals (mean ± 95% half-width, as sacreBLEU).")
    var confidence = false

    @Option(help: "Bootstrap resamples for --confidence and --paired.")
    var samples: Int = 1000

    @Option(help: "Seed of the bootstrap resampling.")
    var seed: UInt64 = 12345

    @Option(help: "A baseline hypothesis file: paired bootstrap test of HYP against it (as sacreBLEU --paired-bs).")
    var paired: String?

    @Flag(name: .customLong("replace-invalid"), help: "Replace invalid UTF-8 with U+FFFD instead of failing.")
    var replaceInvalid = false

    @Option(help: "Output format: text or json.")
    var format: String = "text"

    @Option(help: "Decimals of BLEU in text (ROUGE, on 0-1, gets two more).")
    var width: Int = 2

    private var metricList: [String] { metric.metrics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    private static let known = ["bleu", "rouge1", "rouge2", "rougeL", "rougeLsum"]

    func validate() throws {
        if references.isEmpty { throw ValidationError("Give at least one reference file with --ref FILE.") }
        let list = metricList
        if list.isEmpty { throw ValidationError("--metrics needs at least one of: \(Self.known.joined(separator: ", ")).") }
        for m in list where !Self.known.contains(m) {
            throw ValidationError("Unknown metric '\(m)'; choose from \(Self.known.joined(separator: ", ")).")
        }
        if BLEUTokenizer(rawValue: metric.tokenize) == nil {
            throw ValidationError("Unknown tokenizer '\(metric.tokenize)'; choose from 13a, intl, zh, char, none.")
        }
        guard let sm = BLEUSmoothing(rawValue: metric.smooth) else {
            throw ValidationError("Unknown smoothing '\(metric.smooth)'; choose from exp, floor, add-k, none.")
        }
        if metric.smoothValue != nil && sm.defaultValue == nil {
            throw ValidationError("--smooth-value applies only to --smooth floor or add-k.")
        }
        if let v = metric.smoothValue, !(v.isFinite && v >= 0) { throw ValidationError("--smooth-value must be a non-negative number.") }
        if ROUGETokenizer(rawValue: metric.rougeTokenizer) == nil {
            throw ValidationError("Unknown ROUGE tokenizer '\(metric.rougeTokenizer)'; choose compatible or unicode.")
        }
        if format != "text" && format != "json" { throw ValidationError("--format must be text or json.") }
        if samples < 1 || samples > 1_000_000 { throw ValidationError("--samples must be between 1 and 1000000.") }
        if width < 0 || width > 17 { throw ValidationError("--width must be between 0 and 17.") }
        if sentenceLevel && (confidence || paired != nil) {
            throw ValidationError("--confidence and --paired apply to corpus scores, not with --sentence-level.")
        }
        if hypothesis == "-" && paired == "-" { throw ValidationError("Only one input can be standard input.") }
    }

    func run() throws {
        let list = metricList
        let bleu: BLEU? = list.contains("bleu")
            ? BLEU(tokenizer: BLEUTokenizer(rawValue: metric.tokenize)!, lowercase: metric.lowercase,
                   smoothing: BLEUSmoothing(rawValue: metric.smooth)!, smoothValue: metric.smoothValue, effectiveOrder: sentenceLevel)
            : nil
        let rougeTypes = ROUGEType.allCases.filter { list.contains($0.rawValue) }
        let rouge: ROUGE? = rougeTypes.isEmpty ? nil
            : ROUGE(types: rougeTypes, useStemmer: metric.stem, tokenizer: ROUGETokenizer(rawValue: metric.rougeTokenizer)!)
        let options = FileScoringOptions(bleu: bleu, rouge: rouge, keepSegments: confidence || paired != nil,
                                         replaceInvalid: replaceInvalid)
        do {
            // Standard output is checked (not closed, not one of the inputs) before reading.
            let out = try LineWriter(path: nil, inputs: [hypothesis] + references + (paired.map { [$0] } ?? []))
            // Lines already scored reach standard output before an input error is reported.
            defer { try? out.flush() }
            let nothing = ScoreError("\(hypothesis == "-" ? "<stdin>" : hypothesis): is empty, and so is every reference: nothing to score")
            if sentenceLevel {
                let result = try FileScorer.score(hypotheses: hypothesis, references: references, options: options) { _, seg in
                    try out.write(format == "json" ? segmentJSON(seg, bleu: bleu, rouge: rouge) : segmentText(seg, rouge: rouge))
                }
                try out.close()
                if result.segments == 0 { throw nothing }
                return
            }
            let result = try FileScorer.score(hypotheses: hypothesis, references: references, options: options)
            if result.segments == 0 { throw nothing }
            var baseline: CorpusScores? = nil
            if let paired {
                baseline = try FileScorer.score(hypotheses: paired, references: references, options: options)
                if baseline!.segments != result.segments {
                    throw ScoreError("\(paired) has \(baseline!.segments) lines but \(hypothesis == "-" ? "<stdin>" : hypothesis) has \(result.segments)")
                }
            }
            try out.write(corpusReport(result, baseline: baseline, bleu: bleu, rouge: rouge))
            try out.close()
        } catch let e as InputError {
            printError(e.description)
            throw ExitCode(1)
        } catch let e as ScoreError {
            printError(e.description)
            throw ExitCode(1)
        }
    }

    // MARK: - Printing

    private func rougeWidth() -> Int { width + 2 }

    private func segmentJSON(_ seg: SegmentScores, bleu: BLEU?, rouge: ROUGE?) -> String {
        var parts: [String] = []
        if let s = seg.bleu, let bleu {
            parts.append("\"bleu\": " + bleuJSON(s, signature: bleu.signature(references: .fixed(references.count)), ci: nil, paired: nil))
        }
        if let rouge {
            for t in rouge.types { parts.append("\(jsonString(t.rawValue)): " + rougeJSON(seg.rouge[t] ?? .zero, ci: nil, paired: nil, rouge: rouge)) }
        }
        return "{" + parts.joined(separator: ", ") + "}\n"
    }

    private func segmentText(_ seg: SegmentScores, rouge: ROUGE?) -> String {
        var parts: [String] = []
        if let s = seg.bleu { parts.append(s.formatted(width: width)) }
        if let rouge {
            for t in rouge.types { parts.append("\(t.rawValue) F = \(formatFixed((seg.rouge[t] ?? .zero).f, rougeWidth()))") }
        }
        return parts.joined(separator: "\t") + "\n"
    }

    private func bleuJSON(_ s: BLEUScore, signature: String, ci: ConfidenceInterval?, paired: PairedBootstrapResult?) -> String {
        var f = [
            "\"score\": \(formatJSONNumber(s.score))",
            "\"counts\": [\(s.counts.map(formatJSONCount).joined(separator: ", "))]",
            "\"totals\": [\(s.totals.map(formatJSONCount).joined(separator: ", "))]",
            "\"precisions\": [\(s.precisions.map(formatJSONNumber).joined(separator: ", "))]",
            "\"bp\": \(formatJSONNumber(s.bp))",
            "\"sys_len\": \(s.sysLen)",
            "\"ref_len\": \(s.refLen)",
            "\"signature\": \(jsonString(signature))",
            "\"text\": \(jsonString(s.formatted(width: width, confidence: ci)))",
        ]
        if let ci { f.append(ciJSON(ci)) }
        if let paired { f.append(pairedJSON(paired)) }
        return "{" + f.joined(separator: ", ") + "}"
    }

    private func rougeJSON(_ s: ROUGEScore, ci: ConfidenceInterval?, paired: PairedBootstrapResult?, rouge: ROUGE) -> String {
        var f = ["\"precision\": \(formatJSONNumber(s.precision))", "\"recall\": \(formatJSONNumber(s.recall))",
                 "\"f\": \(formatJSONNumber(s.f))", "\"tokenizer\": \(jsonString(rouge.tokenizer.rawValue))",
                 "\"stem\": \(rouge.useStemmer)", "\"compatible\": \(rouge.tokenizer == .compatible)"]
        if let ci { f.append(ciJSON(ci)) }
        if let paired { f.append(pairedJSON(paired)) }
        return "{" + f.joined(separator: ", ") + "}"
    }

    private func ciJSON(_ ci: ConfidenceInterval) -> String {
        "\"confidence\": {\"mean\": \(formatJSONNumber(ci.mean)), \"half_width\": \(formatJSONNumber(ci.halfWidth)), \"samples\": \(ci.samples), \"seed\": \(ci.seed), \"level\": 0.95}"
    }

    private func pairedJSON(_ p: PairedBootstrapResult) -> String {
        "\"paired\": {\"baseline\": \(jsonString(paired ?? "")), \"baseline_score\": \(formatJSONNumber(p.baselineScore)), \"p_value\": \(formatJSONNumber(p.pValue)), \"samples\": \(samples), \"seed\": \(seed)}"
    }

    private func corpusReport(_ r: CorpusScores, baseline: CorpusScores?, bleu: BLEU?, rouge: ROUGE?) -> String {
        var json: [String] = []
        var text: [String] = []
        if let bleu, let s = r.bleu {
            let ci = confidence ? Bootstrap.bleu(r.segmentBLEU, config: bleu, samples: samples, seed: seed) : nil
            let p = baseline.map { Bootstrap.pairedBLEU(baseline: $0.segmentBLEU, system: r.segmentBLEU, config: bleu, samples: samples, seed: seed) }
            let sig = bleu.signature(references: r.references, bootstrap: ci != nil ? (samples, seed) : nil)
            json.append("\"bleu\": " + bleuJSON(s, signature: sig, ci: ci, paired: p))
            text.append(s.formatted(width: width, confidence: ci))
            text.append("  signature: \(sig)")
            if let p { text.append("  paired bootstrap vs \(paired!): baseline BLEU = \(formatFixed(p.baselineScore, width)), p = \(formatFixed(p.pValue, 4)) (\(samples) resamples, seed \(seed))") }
        }
        if let rouge {
            for t in rouge.types {
                let s = r.rouge[t] ?? .zero
                let ci = confidence ? Bootstrap.mean(r.segmentROUGE[t] ?? [], samples: samples, seed: seed) : nil
                let p = baseline.map { Bootstrap.pairedMean(baseline: $0.segmentROUGE[t] ?? [], system: r.segmentROUGE[t] ?? [], samples: samples, seed: seed) }
                json.append("\(jsonString(t.rawValue)): " + rougeJSON(s, ci: ci, paired: p, rouge: rouge))
                let w = rougeWidth()
                var line = "\(t.rawValue): F = \(formatFixed(s.f, w))"
                if let ci { line += " (μ = \(formatFixed(ci.mean, w)) ± \(formatFixed(ci.halfWidth, w)))" }
                line += " P = \(formatFixed(s.precision, w)) R = \(formatFixed(s.recall, w))"
                if let p { line += "  paired vs \(paired!): baseline F = \(formatFixed(p.baselineScore, w)), p = \(formatFixed(p.pValue, 4))" }
                text.append(line)
            }
            text.append("  rouge: \(rouge.tokenizer.label), stemming \(rouge.useStemmer ? "on" : "off"), mean over \(r.segments) lines")
        }
        if format == "json" { return "{" + json.joined(separator: ", ") + "}\n" }
        return text.joined(separator: "\n") + "\n"
    }
}
