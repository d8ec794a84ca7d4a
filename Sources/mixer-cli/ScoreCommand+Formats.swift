import ArgumentParser
import Foundation
import Metrics

/// One corpus metric as `score` prints it (BLEU, chrF, chrF++, TER).
struct CorpusEntry {
    /// The key in mixer's JSON (`bleu`, `chrf`, `chrf++`, `ter`).
    var key: String
    /// sacreBLEU's name (`BLEU`, `chrF2`, `chrF2++`, `TER`).
    var name: String
    var score: Double
    var signature: String
    /// mixer's text line (`chrF2 = 80.41`).
    var text: String
    /// sacreBLEU's `verbose_score` (BLEU's precisions and brevity penalty), when there is one.
    var verbose: String?
    var confidence: ConfidenceInterval?
    var paired: PairedBootstrapResult?
    /// mixer's JSON object.
    var json: String
}

/// chrF and TER in mixer's formats, sacreBLEU 2.x's `-f text` and `-f json` output, and the
/// table of several systems.
extension ScoreJob {
    /// BLEU, then each chrF, then TER: their corpus figures, bootstrap intervals and paired tests.
    func corpusEntries(_ r: CorpusScores, baseline: CorpusScores?, bleu: BLEU?, chrfs: [(key: String, config: CHRF)],
                       ter: TER?) -> [CorpusEntry] {
        // sacreBLEU's JSON always carries the long signature.
        let shortSignature = short && format != .sacrebleuJSON
        var entries: [CorpusEntry] = []
        if let bleu, let e = bleuEntry(r, baseline: baseline, bleu: bleu, signatureShort: shortSignature) { entries.append(e) }
        for (k, c) in chrfs.enumerated() {
            let s = r.chrf[k]
            let ci = confidence ? Bootstrap.chrf(r.segmentCHRF[k], config: c.config, samples: samples, seed: seed) : nil
            let p = baseline.map { Bootstrap.pairedCHRF(baseline: $0.segmentCHRF[k], system: r.segmentCHRF[k], config: c.config,
                                                        samples: samples, seed: seed) }
            let sig = c.config.signature(references: r.references, bootstrap: ci != nil ? (samples, seed) : nil, short: shortSignature)
            entries.append(CorpusEntry(key: c.key, name: s.name, score: s.score, signature: sig,
                                       text: s.formatted(width: width, confidence: ci), verbose: nil, confidence: ci, paired: p,
                                       json: chrfJSON(s, statistics: r.chrfStatistics[k], signature: sig, ci: ci, paired: p)))
        }
        if let ter, let s = r.ter {
            let ci = confidence ? Bootstrap.ter(r.segmentTER, config: ter, samples: samples, seed: seed) : nil
            let p = baseline.map { Bootstrap.pairedTER(baseline: $0.segmentTER, system: r.segmentTER, config: ter, samples: samples, seed: seed) }
            let sig = ter.signature(references: r.references, bootstrap: ci != nil ? (samples, seed) : nil, short: shortSignature)
            entries.append(CorpusEntry(key: "ter", name: s.name, score: s.score, signature: sig,
                                       text: s.formatted(width: width, confidence: ci), verbose: nil, confidence: ci, paired: p,
                                       json: terJSON(s, signature: sig, ci: ci, paired: p)))
        }
        return entries
    }

    /// mixer's JSON object for a chrF score.
    func chrfJSON(_ s: CHRFScore, statistics: CHRFStatistics, signature: String, ci: ConfidenceInterval?,
                  paired: PairedBootstrapResult?) -> String {
        var f = [
            "\"name\": \(jsonString(s.name))",
            "\"score\": \(formatJSONNumber(s.score))",
            "\"char_order\": \(s.charOrder)",
            "\"word_order\": \(s.wordOrder)",
            "\"beta\": \(s.beta)",
            "\"statistics\": [\(statistics.values.map(String.init).joined(separator: ", "))]",
            "\"signature\": \(jsonString(signature))",
            "\"text\": \(jsonString(s.formatted(width: width, confidence: ci)))",
        ]
        if let ci { f.append(ciJSON(ci)) }
        if let paired { f.append(pairedJSON(paired)) }
        return "{" + f.joined(separator: ", ") + "}"
    }

    /// mixer's JSON object for a TER score.
    func terJSON(_ s: TERScore, signature: String, ci: ConfidenceInterval?, paired: PairedBootstrapResult?) -> String {
        var f = [
            "\"name\": \"TER\"",
            "\"score\": \(formatJSONNumber(s.score))",
            "\"num_edits\": \(s.edits)",
            "\"ref_length\": \(formatJSONNumber(s.referenceLength))",
            "\"signature\": \(jsonString(signature))",
            "\"text\": \(jsonString(s.formatted(width: width, confidence: ci)))",
        ]
        if let ci { f.append(ciJSON(ci)) }
        if let paired { f.append(pairedJSON(paired)) }
        return "{" + f.joined(separator: ", ") + "}"
    }

    // MARK: - sacreBLEU's formats

    /// sacreBLEU's `Score.format`: `NAME|SIGNATURE = SCORE [VERBOSE]`, or the score alone with
    /// --score-only; the score carries `(μ = mean ± half-width)` with --confidence.
    private func sacreBLEULine(name: String, score: Double, signature: String, verbose: String?,
                               confidence: ConfidenceInterval?) -> String {
        let sc = formatScore(score, width: width, confidence: confidence)
        if scoreOnly { return sc }
        var line = "\(name)|\(signature) = \(sc)"
        if let verbose { line += " \(verbose)" }
        return line
    }

    /// sacreBLEU 2.x's single-system output: `-f text` lines aligned on their `=`, or `-f json`
    /// objects (a list when there are several metrics).
    func sacreBLEUReport(_ entries: [CorpusEntry]) -> String {
        if format == .sacrebleuJSON {
            // With --score-only sacreBLEU prints the bare scores, as a JSON list when there are several.
            let objects = scoreOnly ? entries.map { formatScore($0.score, width: width, confidence: $0.confidence) }
                                    : entries.map(sacreBLEUJSON)
            return (objects.count == 1 ? objects[0] : "[\n" + objects.joined(separator: ",\n") + "\n]") + "\n"
        }
        let lines = entries.map {
            sacreBLEULine(name: $0.name, score: $0.score, signature: $0.signature, verbose: $0.verbose, confidence: $0.confidence)
        }
        if scoreOnly || lines.count == 1 { return lines.joined(separator: "\n") + "\n" }
        // Right-align what comes before each line's first " =" (sacreBLEU's print_single_results).
        let split = lines.map { line -> (String, String) in
            let scalars = Array(line.unicodeScalars)
            let cut = (scalars.firstIndex(of: "=") ?? 1) - 1
            return (String(String.UnicodeScalarView(scalars[..<cut])), String(String.UnicodeScalarView(scalars[cut...])))
        }
        let w = split.map(\.0.unicodeScalars.count).max() ?? 0
        return split.map { String(repeating: " ", count: w - $0.0.unicodeScalars.count) + $0.0 + $0.1 }.joined(separator: "\n") + "\n"
    }

    /// One metric as sacreBLEU's `json.dumps(d, indent=1, ensure_ascii=False)`: name, score
    /// rounded to --width, signature, the confidence fields, verbose_score, then each signature
    /// field as a string.
    private func sacreBLEUJSON(_ e: CorpusEntry) -> String {
        var f = ["\"name\": \(jsonString(e.name))",
                 "\"score\": \(formatJSONNumber(Double(formatFixed(e.score, width)) ?? e.score))",
                 "\"signature\": \(jsonString(e.signature))"]
        if let ci = e.confidence, ci.mean > 0 {
            let mean = formatFixed(ci.mean, width), half = formatFixed(ci.halfWidth, width)
            f.append("\"confidence_mean\": \(formatJSONNumber(Double(mean) ?? ci.mean))")
            f.append("\"confidence_var\": \(formatJSONNumber(Double(half) ?? ci.halfWidth))")
            f.append("\"confidence\": \(jsonString("μ = \(mean) ± \(half)"))")
        }
        if let v = e.verbose { f.append("\"verbose_score\": \(jsonString(v))") }
        for field in e.signature.split(separator: "|") {
            let kv = field.split(separator: ":", maxSplits: 1)
            f.append("\(jsonString(String(kv[0]))): \(jsonString(kv.count > 1 ? String(kv[1]) : ""))")
        }
        return "{\n " + f.joined(separator: ",\n ") + "\n}"
    }

    // MARK: - Several systems

    /// Corpus scores of several hypothesis files: a table (text), a list of objects (json), or
    /// sacreBLEU's list of `{"system": …, NAME: "SCORE"}` (sacrebleu-json).
    func systemsTable(_ results: [CorpusScores], bleu: BLEU?, rouge: ROUGE?, chrfs: [(key: String, config: CHRF)], ter: TER?) -> String {
        let entries = results.map { corpusEntries($0, baseline: nil, bleu: bleu, chrfs: chrfs, ter: ter) }
        let names = hypotheses.map { $0 == "-" ? "<stdin>" : $0 }
        let rougeTypes = rouge?.types ?? []
        if format == .json {
            let objects = zip(names, zip(entries, results)).map { name, er -> String in
                var parts = ["\"system\": \(jsonString(name))"] + er.0.map { "\(jsonString($0.key)): \($0.json)" }
                for t in rougeTypes {
                    let s = er.1.rouge[t] ?? .zero
                    parts.append("\(jsonString(t.rawValue)): {\"precision\": \(formatJSONNumber(s.precision)), \"recall\": \(formatJSONNumber(s.recall)), \"f\": \(formatJSONNumber(s.f))}")
                }
                return "{" + parts.joined(separator: ", ") + "}"
            }
            return "[" + objects.joined(separator: ", ") + "]\n"
        }
        if format == .sacrebleuJSON {
            let objects = zip(names, entries).map { name, es -> String in
                let fields = ["\"system\": \(jsonString(name))"] + es.map { "\(jsonString($0.name)): \(jsonString(formatFixed($0.score, width)))" }
                return "    {\n        " + fields.joined(separator: ",\n        ") + "\n    }"
            }
            return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
        }
        let header = ["System"] + (entries.first ?? []).map(\.name) + rougeTypes.map(\.rawValue)
        let rows = zip(names, zip(entries, results)).map { name, er in
            [name] + er.0.map { formatFixed($0.score, width) } + rougeTypes.map { rougeText((er.1.rouge[$0] ?? .zero).f) }
        }
        if scoreOnly { return rows.map { $0.dropFirst().joined(separator: "\t") }.joined(separator: "\n") + "\n" }
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, v in
                c == 0 ? v + String(repeating: " ", count: widths[c] - v.count) : String(repeating: " ", count: widths[c] - v.count) + v
            }.joined(separator: "  ")
        }
        var out = [line(header)]
        out += rows.map(line)
        out.append("")
        out.append("Metric signatures")
        let nameWidth = (entries.first ?? []).map(\.name.count).max() ?? 0
        for e in entries.first ?? [] { out.append(" - \(e.name)\(String(repeating: " ", count: nameWidth - e.name.count))  \(e.signature)") }
        if let rouge { out.append(" - rouge: \(rouge.tokenizer.label), stemming \(rouge.useStemmer ? "on" : "off"), \(rouge.sentenceNote)mean F over lines, ×100") }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: - Paired test of several systems

    /// One metric's column of the paired test: the baseline's bootstrap estimate and each
    /// other system's paired result (all on the same resamples).
    private struct PairedColumn {
        var key: String
        var name: String
        /// Text shows the figures ×scale: 100 for ROUGE (0-1 in JSON), 1 for the others.
        var scale: Double = 1
        var signature: String?
        var baselineScore: Double
        var baseline: ConfidenceInterval
        var systems: [PairedBootstrapResult]
    }

    private func pairedColumns(_ r: [CorpusScores], bleu: BLEU?, rouge: ROUGE?, chrfs: [(key: String, config: CHRF)],
                               ter: TER?) -> [PairedColumn] {
        let base = r[0], others = r.dropFirst()
        let bs = (samples, seed)
        var columns: [PairedColumn] = []
        if let bleu, let s = base.bleu {
            columns.append(PairedColumn(
                key: "bleu", name: "BLEU", signature: bleu.signature(references: base.references, bootstrap: bs, short: short),
                baselineScore: s.score, baseline: Bootstrap.bleu(base.segmentBLEU, config: bleu, samples: samples, seed: seed),
                systems: others.map { Bootstrap.pairedBLEU(baseline: base.segmentBLEU, system: $0.segmentBLEU, config: bleu, samples: samples, seed: seed) }))
        }
        for (k, c) in chrfs.enumerated() {
            columns.append(PairedColumn(
                key: c.key, name: base.chrf[k].name, signature: c.config.signature(references: base.references, bootstrap: bs, short: short),
                baselineScore: base.chrf[k].score, baseline: Bootstrap.chrf(base.segmentCHRF[k], config: c.config, samples: samples, seed: seed),
                systems: others.map { Bootstrap.pairedCHRF(baseline: base.segmentCHRF[k], system: $0.segmentCHRF[k], config: c.config,
                                                           samples: samples, seed: seed) }))
        }
        if let ter, let s = base.ter {
            columns.append(PairedColumn(
                key: "ter", name: "TER", signature: ter.signature(references: base.references, bootstrap: bs, short: short),
                baselineScore: s.score, baseline: Bootstrap.ter(base.segmentTER, config: ter, samples: samples, seed: seed),
                systems: others.map { Bootstrap.pairedTER(baseline: base.segmentTER, system: $0.segmentTER, config: ter, samples: samples, seed: seed) }))
        }
        for t in rouge?.types ?? [] {
            let b = base.segmentROUGE[t] ?? []
            columns.append(PairedColumn(
                key: t.rawValue, name: t.rawValue, scale: 100, signature: nil, baselineScore: (base.rouge[t] ?? .zero).f,
                baseline: Bootstrap.mean(b, samples: samples, seed: seed),
                systems: others.map { Bootstrap.pairedMean(baseline: b, system: $0.segmentROUGE[t] ?? [], samples: samples, seed: seed) }))
        }
        return columns
    }

    /// sacreBLEU's `--paired-bs` over several hypothesis files: each system against the first,
    /// every metric on the same resamples; a table (text) or a list of objects (json).
    func pairedTable(_ results: [CorpusScores], bleu: BLEU?, rouge: ROUGE?, chrfs: [(key: String, config: CHRF)], ter: TER?) -> String {
        let columns = pairedColumns(results, bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter)
        let names = hypotheses.map { $0 == "-" ? "<stdin>" : $0 }
        if format == .json {
            let objects = names.indices.map { i -> String in
                var parts = ["\"system\": \(jsonString(names[i]))", "\"baseline\": \(i == 0)"]
                for c in columns {
                    let score = i == 0 ? c.baselineScore : c.systems[i - 1].systemScore
                    let ci = i == 0 ? c.baseline : c.systems[i - 1].system
                    var f = ["\"score\": \(formatJSONNumber(score))", "\"mean\": \(formatJSONNumber(ci.mean))",
                             "\"half_width\": \(formatJSONNumber(ci.halfWidth))"]
                    if i > 0 { f.append("\"p_value\": \(formatJSONNumber(c.systems[i - 1].pValue))") }
                    if let sig = c.signature { f.append("\"signature\": \(jsonString(sig))") }
                    parts.append("\(jsonString(c.key)): {" + f.joined(separator: ", ") + "}")
                }
                return "{" + parts.joined(separator: ", ") + "}"
            }
            return "[" + objects.joined(separator: ", ") + "]\n"
        }
        var rows: [[String]] = [["System"] + columns.map { "\($0.name) (μ ± 95% CI)" }]
        for i in names.indices {
            rows.append([i == 0 ? "Baseline: \(names[0])" : names[i]] + columns.map { c in
                let score = i == 0 ? c.baselineScore : c.systems[i - 1].systemScore
                let ci = i == 0 ? c.baseline : c.systems[i - 1].system
                return "\(formatFixed(c.scale * score, width)) (\(formatFixed(c.scale * ci.mean, width)) ± \(formatFixed(c.scale * ci.halfWidth, width)))"
            })
            if i > 0 {
                rows.append([""] + columns.map { c in
                    let p = c.systems[i - 1].pValue
                    return "(p = \(formatFixed(p, 4)))" + (p < 0.05 ? "*" : "")
                })
            }
        }
        var out = alignedRows(rows)
        out.append("")
        out.append("Paired bootstrap resampling test, \(samples) resamples (seed \(seed)): each system against Baseline: \(names[0]);")
        out.append("score (bootstrap mean ± 95% half-width); p < 0.05 is marked *.")
        out.append("")
        out += signatureLines(columns.map { ($0.name, $0.signature) }, rouge: rouge)
        return out.joined(separator: "\n") + "\n"
    }

    /// The rows of a table of systems as text: the first column right-aligned, the others
    /// left-aligned, two spaces between, no trailing blanks.
    private func alignedRows(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { cells in
            cells.enumerated().map { c, v in
                let pad = String(repeating: " ", count: widths[c] - v.count)
                return c == 0 ? pad + v : v + pad
            }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }
    }

    /// "Metric signatures" and one line per signed metric (names aligned), then ROUGE's settings.
    private func signatureLines(_ metrics: [(name: String, signature: String?)], rouge: ROUGE?) -> [String] {
        var out = ["Metric signatures"]
        let signed = metrics.compactMap { m in m.signature.map { (m.name, $0) } }
        let nameWidth = signed.map(\.0.count).max() ?? 0
        for (name, sig) in signed { out.append(" - \(name)\(String(repeating: " ", count: nameWidth - name.count))  \(sig)") }
        if let rouge { out.append(" - rouge: \(rouge.tokenizer.label), stemming \(rouge.useStemmer ? "on" : "off"), \(rouge.sentenceNote)mean F over lines, ×100") }
        return out
    }

    // MARK: - Paired approximate randomization over several systems

    /// sacreBLEU's `--paired-ar` over several hypothesis files: each system against the first,
    /// every metric on the same coin flips (``ApproximateRandomization``); a table (text) or a
    /// list of objects (json).
    func randomizationTable(_ r: [CorpusScores], bleu: BLEU?, rouge: ROUGE?, chrfs: [(key: String, config: CHRF)], ter: TER?) -> String {
        let base = r[0], others = Array(r.dropFirst())
        let n = pairedARTrials
        // scale: text shows the figures ×scale (100 for ROUGE, which JSON keeps on 0-1).
        var columns: [(key: String, name: String, scale: Double, signature: String?, baseline: Double, systems: [PairedRandomizationResult])] = []
        if let bleu, let s = base.bleu {
            columns.append(("bleu", "BLEU", 1, bleu.signature(references: base.references, bootstrap: nil, short: short), s.score,
                            others.map { ApproximateRandomization.pairedBLEU(baseline: base.segmentBLEU, system: $0.segmentBLEU, config: bleu, trials: n, seed: seed) }))
        }
        for (k, c) in chrfs.enumerated() {
            columns.append((c.key, base.chrf[k].name, 1, c.config.signature(references: base.references, bootstrap: nil, short: short), base.chrf[k].score,
                            others.map { ApproximateRandomization.pairedCHRF(baseline: base.segmentCHRF[k], system: $0.segmentCHRF[k], config: c.config, trials: n, seed: seed) }))
        }
        if let ter, let s = base.ter {
            columns.append(("ter", "TER", 1, ter.signature(references: base.references, bootstrap: nil, short: short), s.score,
                            others.map { ApproximateRandomization.pairedTER(baseline: base.segmentTER, system: $0.segmentTER, config: ter, trials: n, seed: seed) }))
        }
        for t in rouge?.types ?? [] {
            let b = base.segmentROUGE[t] ?? []
            columns.append((t.rawValue, t.rawValue, 100, nil, (base.rouge[t] ?? .zero).f,
                            others.map { ApproximateRandomization.pairedMean(baseline: b, system: $0.segmentROUGE[t] ?? [], trials: n, seed: seed) }))
        }
        let names = hypotheses.map { $0 == "-" ? "<stdin>" : $0 }
        if format == .json {
            let objects = names.indices.map { i -> String in
                var parts = ["\"system\": \(jsonString(names[i]))", "\"baseline\": \(i == 0)"]
                for c in columns {
                    var f = ["\"score\": \(formatJSONNumber(i == 0 ? c.baseline : c.systems[i - 1].systemScore))"]
                    if i > 0 { f.append("\"p_value\": \(formatJSONNumber(c.systems[i - 1].pValue))") }
                    if let sig = c.signature { f.append("\"signature\": \(jsonString(sig))") }
                    parts.append("\(jsonString(c.key)): {" + f.joined(separator: ", ") + "}")
                }
                return "{" + parts.joined(separator: ", ") + "}"
            }
            return "[" + objects.joined(separator: ", ") + "]\n"
        }
        var rows: [[String]] = [["System"] + columns.map(\.name)]
        for i in names.indices {
            rows.append([i == 0 ? "Baseline: \(names[0])" : names[i]] + columns.map { c in
                formatFixed(c.scale * (i == 0 ? c.baseline : c.systems[i - 1].systemScore), width)
            })
            if i > 0 {
                rows.append([""] + columns.map { c in
                    let p = c.systems[i - 1].pValue
                    return "(p = \(formatFixed(p, 4)))" + (p < 0.05 ? "*" : "")
                })
            }
        }
        var out = alignedRows(rows)
        out.append("")
        out.append("Paired approximate randomization test, \(n) trials (seed \(seed)): each system against Baseline: \(names[0]);")
        out.append("p counts trials whose difference exceeds the real one; p < 0.05 is marked *.")
        out.append("")
        out += signatureLines(columns.map { ($0.name, $0.signature) }, rouge: rouge)
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: - rouge-score's per-example CSV

    /// The ROUGE types in rouge-score's column order (Python's sorted names).
    private func csvROUGETypes(_ rouge: ROUGE?) -> [ROUGEType] {
        (rouge?.types ?? []).sorted { Array($0.rawValue.utf8).lexicographicallyPrecedes(Array($1.rawValue.utf8)) }
    }

    /// rouge-score's per-example header, `id,rouge1-P,rouge1-R,rouge1-F,…`, then one column per
    /// other metric (`bleu`, `chrf`, `chrf++`, `ter`: the sentence score).
    func csvHeader(bleu: BLEU?, rouge: ROUGE?, chrfs: [(key: String, config: CHRF)], ter: TER?) -> String {
        var cols = ["id"]
        for t in csvROUGETypes(rouge) { cols += ["\(t.rawValue)-P", "\(t.rawValue)-R", "\(t.rawValue)-F"] }
        if bleu != nil { cols.append("bleu") }
        cols += chrfs.map(\.key)
        if ter != nil { cols.append("ter") }
        return cols.joined(separator: ",") + "\n"
    }
}

extension ScoreJob {
    /// rouge-score's aggregate CSV (its `_write_aggregates_to_csv`): `score_type,low,mid,high`,
    /// then for each ROUGE type in Python's sorted order the rows `TYPE-R`, `TYPE-P`, `TYPE-F`
    /// with `%f` figures on 0-1, from ``Bootstrap/rougeAggregate(_:samples:seed:level:)``
    /// (--samples resamples, default 1000 as rouge-score's; seeded by --bootstrap-seed).
    func aggregateCSV(_ r: CorpusScores, rouge: ROUGE) -> String {
        var out = "score_type,low,mid,high\n"
        let types = rouge.types.sorted { Array($0.rawValue.utf8).lexicographicallyPrecedes(Array($1.rawValue.utf8)) }
        for t in types {
            let a = Bootstrap.rougeAggregate(r.segmentROUGEScores[t] ?? [], samples: samples, seed: seed)
            for (name, key) in [("R", \ROUGEScore.recall), ("P", \ROUGEScore.precision), ("F", \ROUGEScore.f)] {
                out += "\(t.rawValue)-\(name),\(formatFixed(a.low[keyPath: key], 6)),\(formatFixed(a.mid[keyPath: key], 6)),\(formatFixed(a.high[keyPath: key], 6))\n"
            }
        }
        return out
    }
}
