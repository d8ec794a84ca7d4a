import ArgumentParser
import Foundation
import Metrics
import Tokenize

/// `score`'s output formats.
enum ScoreFormat: String, ExpressibleByArgument, CaseIterable {
    /// mixer's text report.
    case text
    /// mixer's JSON object.
    case json
    /// sacreBLEU 2.x's `-f text`.
    case sacrebleuText = "sacrebleu-text"
    /// sacreBLEU 2.x's `-f json`.
    case sacrebleuJSON = "sacrebleu-json"
    /// rouge-score's CSV: per example with --sentence-level, else its bootstrap aggregate
    /// (`score_type,low,mid,high`).
    case csv

    /// One of sacreBLEU's formats.
    var isSacreBLEU: Bool { self == .sacrebleuText || self == .sacrebleuJSON }
}

/// `mixer-cli score`: BLEU, chrF, chrF++ and TER (sacreBLEU 2.6.0) and ROUGE (rouge-score 0.1.2)
/// of one or more hypothesis files.
///
/// Two command lines: mixer's (`score HYP... --reference REF`) and sacreBLEU's (`score REF... -i HYP...`,
/// with `-m`, `-b`, `-w`, `-lc`, `-tok`, `-f`). swift-argument-parser spells sacreBLEU's
/// multi-letter single-dash flags (`-lc`, `-tok`, `-sl`, `-ci`, `-cc`, …) as single-dash long
/// names; what it cannot express (`--metrics` taking several words, as `-m` does) is listed in
/// docs/scoring.md. The options' names across commands are in docs/cli.md.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score hypotheses with BLEU, chrF, chrF++, TER (as sacreBLEU 2.6.0) and ROUGE (as rouge-score 0.1.2).",
        discussion: """
        HYP and every --reference file are line-aligned UTF-8 text, one segment per line ("-" or no HYP \
        reads standard input). sacreBLEU's order works too: references first, then -i HYP...; \
        several hypothesis files give one table. BLEU is corpus BLEU (summed statistics, effective \
        order off); with --sentence-level each line gets sentence BLEU (effective order on, as \
        sacreBLEU's sentence_bleu). chrF, chrF++ and TER are sacreBLEU's corpus scores (summed \
        statistics). ROUGE figures are means over lines; each line is one summary, so rougeLsum \
        equals rougeL on line files unless --rouge-newline or --split-summaries splits it. Text \
        output prints every metric on 0-100 with --width decimals (ROUGE ×100); JSON keeps \
        rouge-score's 0-1 figures and sacreBLEU's 0-100 ones, unrounded. The signature names \
        mixer's version, not sacreBLEU's.

        rouge-score's command line: --target-filepattern and --prediction-filepattern (globs; \
        the matches pair up in sorted order and score as one corpus), -f csv (its bootstrap \
        aggregate, score_type,low,mid,high; with --sentence-level its per-example CSV; \
        --rouge-aggregate adds the aggregate to text and JSON), --split-summaries, --stem.

        --rouge-tokenizer unicode is NOT rouge-score compatible (it keeps accented and CJK text \
        that rouge-score drops); its output says so.

        Examples:
          mixer-cli score out.txt -r ref.txt
          mixer-cli score out.txt --reference ref1.txt --reference ref2.txt \\
            --metrics bleu,rouge2 --format json
          mixer-cli score out.txt -r ref.txt --confidence --samples 1000 \\
            --bootstrap-seed 12345
          mixer-cli score new.txt -r ref.txt --paired old.txt
          mixer-cli score out.txt -r ref.txt --metrics bleu,chrf++,ter \\
            --ter-normalized
          mixer-cli score ref.txt -i out.txt -m bleu chrf ter -f sacrebleu-json
          mixer-cli score ref.txt -i sys1.txt sys2.txt -m bleu chrf ter
          mixer-cli score --target-filepattern 'refs/*.txt' \\
            --prediction-filepattern 'out/*.txt' \\
            -m rouge1 rouge2 rougeLsum --split-summaries -f csv
        """
    )

    @Argument(help: ArgumentHelp("The hypothesis files (- or none: standard input); with -i, the reference files (sacreBLEU's order).",
                                 valueName: "file"))
    var files: [String] = []

    @Option(name: [.customShort("i"), .customLong("input")], parsing: .upToNextOption,
            help: ArgumentHelp("Hypothesis files, as sacreBLEU's -i: the positional files are then references.", valueName: "hyp"))
    var inputs: [String] = []

    @Option(name: [.customShort("r"), .customLong("reference")], help: "A reference file (repeat for several references).")
    var referenceOption: [String] = []

    /// `--ref`, the old name of --reference (hidden; scripts use it).
    @Option(name: .customLong("ref"), help: .hidden)
    var refAlias: [String] = []

    @Option(name: [.customLong("target-filepattern"), .customLong("target_filepattern")],
            help: ArgumentHelp("A glob of reference files, one reference per line (rouge-score's --target_filepattern); use with --prediction-filepattern instead of files.",
                               valueName: "glob"))
    var targetPattern: String?

    @Option(name: [.customLong("prediction-filepattern"), .customLong("prediction_filepattern")],
            help: ArgumentHelp("A glob of hypothesis files (rouge-score's --prediction_filepattern): its sorted matches pair with the targets' and are scored as one corpus.",
                               valueName: "glob"))
    var predictionPattern: String?

    @Option(name: [.customLong("num-refs"), .customLong("nr", withSingleDash: true)],
            help: ArgumentHelp("References per line of the one reference file, separated by tabs (sacreBLEU's --num-refs).", valueName: "n"))
    var numRefs: Int = 1

    @OptionGroup var metric: MetricArguments

    @Flag(name: [.customLong("sentence-level"), .customLong("sl", withSingleDash: true)],
          help: "Print the scores of every line instead of the corpus.")
    var sentenceLevel = false

    @Flag(name: [.long, .customLong("ci", withSingleDash: true)],
          help: "Add bootstrap confidence intervals (mean ± 95% half-width, as sacreBLEU).")
    var confidence = false

    @Option(name: [.long, .customLong("confidence-n"), .customLong("cin", withSingleDash: true),
                   .customLong("paired-bs-n"), .customLong("pbsn", withSingleDash: true)],
            help: "Bootstrap resamples for --confidence and --paired.")
    var samples: Int = 1000

    @Flag(name: .customLong("rouge-aggregate"),
          help: "Add rouge-score's bootstrap aggregate to ROUGE's text and JSON: low/mid/high (2.5th, 50th, 97.5th percentiles of --samples resampled means) of P, R and F.")
    var rougeAggregate = false

    @OptionGroup var bootstrap: BootstrapSeedArguments

    @Option(help: "A baseline hypothesis file: paired bootstrap test of HYP against it (as sacreBLEU --paired-bs).")
    var paired: String?

    @Flag(name: [.customLong("paired-bs"), .customLong("pbs", withSingleDash: true)],
          help: "With several hypothesis files: paired bootstrap test of each against the first (sacreBLEU's --paired-bs).")
    var pairedBS = false

    @Flag(name: [.customLong("paired-ar"), .customLong("par", withSingleDash: true)],
          help: "With several hypothesis files: paired approximate randomization test of each against the first (sacreBLEU's --paired-ar).")
    var pairedAR = false

    @Option(name: [.customLong("paired-ar-n"), .customLong("parn", withSingleDash: true)],
            help: "Trials of --paired-ar.")
    var pairedARTrials: Int = 10_000

    @Flag(name: .customLong("replace-invalid"), help: "Replace invalid UTF-8 with U+FFFD instead of failing.")
    var replaceInvalid = false

    @Option(name: [.long, .customShort("f")],
            help: "Output format: text or json (mixer's), sacrebleu-text or sacrebleu-json (sacreBLEU 2.x's -f text / -f json), csv (rouge-score's: its bootstrap aggregate, or per example with --sentence-level).")
    var format: ScoreFormat = .text

    @Option(name: [.customLong("width"), .customShort("w")],
            help: "Decimals of every score in text, all on 0-100 (ROUGE ×100); default 2, or 1 (sacreBLEU's) with the sacrebleu formats.")
    var widthOption: Int?

    /// --width, or its default: 2, or sacreBLEU's 1 with the sacrebleu formats.
    var width: Int { widthOption ?? (format.isSacreBLEU ? 1 : 2) }

    @Flag(name: [.customLong("score-only"), .customShort("b")], help: "Print only the scores, one per line (one system).")
    var scoreOnly = false

    @Flag(name: [.long, .customLong("sh", withSingleDash: true)], help: "Short signatures (sacreBLEU's --short).")
    var short = false

    /// --reference's files, then those of its old name --ref.
    var references: [String] { referenceOption + refAlias }
    /// rouge-score's file patterns were given (instead of files).
    var usesPatterns: Bool { targetPattern != nil || predictionPattern != nil }
    /// The hypothesis files: -i's, else the positional files (standard input when none); with
    /// the file patterns, the prediction pattern (expanded when the job runs).
    var hypotheses: [String] {
        if usesPatterns { return [predictionPattern ?? ""] }
        return inputs.isEmpty ? (files.isEmpty ? ["-"] : files) : inputs
    }
    /// The reference files: --reference's, and with -i the positional files before them.
    var referenceFiles: [String] { inputs.isEmpty ? references : files + references }

    /// What to score and how: the job that `evaluate` runs too.
    var job: ScoreJob {
        var job = ScoreJob(hypotheses: hypotheses, referenceFiles: referenceFiles, numRefs: numRefs, metric: metric, sentenceLevel: sentenceLevel,
                           confidence: confidence, samples: samples, seed: bootstrap.seed, paired: paired, pairedBS: pairedBS,
                           pairedAR: pairedAR, pairedARTrials: pairedARTrials, replaceInvalid: replaceInvalid, format: format, width: width, scoreOnly: scoreOnly, short: short)
        job.rougeAggregate = rougeAggregate
        if usesPatterns { job.patterns = (targetPattern ?? "", predictionPattern ?? "") }
        return job
    }

    func validate() throws {
        if usesPatterns {
            guard let t = targetPattern, let p = predictionPattern, !t.isEmpty, !p.isEmpty else {
                throw ValidationError("--target-filepattern and --prediction-filepattern go together, each with a non-empty glob.")
            }
            if !files.isEmpty || !inputs.isEmpty || !references.isEmpty {
                throw ValidationError("--target-filepattern and --prediction-filepattern name the files: drop the file arguments, -i and --reference.")
            }
            if numRefs != 1 || paired != nil || pairedBS || pairedAR {
                throw ValidationError("--target-filepattern scores one system with one reference per line: drop --num-refs, --paired, --paired-bs and --paired-ar.")
            }
        } else if referenceFiles.isEmpty {
            throw ValidationError("Give at least one reference file with --reference FILE (or sacreBLEU's way: score REF... -i HYP...).")
        }
        try bootstrap.validate()
        if numRefs < 1 || numRefs > 10_000 { throw ValidationError("--num-refs must be between 1 and 10000.") }
        if numRefs > 1 && referenceFiles.count != 1 {
            throw ValidationError("--num-refs \(numRefs) reads that many tab-separated references from each line of one reference file; \(referenceFiles.count) reference files were given.")
        }
        try job.validate()
        if pairedAR {
            if pairedBS { throw ValidationError("--paired-ar and --paired-bs are two tests: give one.") }
            if hypotheses.count < 2 { throw ValidationError("--paired-ar needs a baseline and at least one more hypothesis file (-i BASE SYS...).") }
            if paired != nil || confidence || sentenceLevel {
                throw ValidationError("--paired-ar compares the hypothesis files with the first; drop --paired, --confidence and --sentence-level.")
            }
            if format == .sacrebleuJSON { throw ValidationError("--paired-ar has no sacrebleu-json output; use --format json.") }
            if pairedARTrials < 1 || pairedARTrials > 1_000_000 { throw ValidationError("--paired-ar-n must be between 1 and 1000000.") }
        }
        if pairedBS {
            if hypotheses.count < 2 { throw ValidationError("--paired-bs needs a baseline and at least one more hypothesis file (-i BASE SYS...).") }
            if paired != nil || confidence || sentenceLevel {
                throw ValidationError("--paired-bs compares the hypothesis files with the first; drop --paired, --confidence and --sentence-level.")
            }
            if format == .sacrebleuJSON {
                throw ValidationError("--paired-bs has no sacrebleu-json output (sacreBLEU 2.6.0's own fails there); use --format json.")
            }
        }
        if hypotheses.count > 1 {
            if sentenceLevel { throw ValidationError("--sentence-level scores one hypothesis file, not \(hypotheses.count).") }
            if confidence || paired != nil {
                throw ValidationError("--confidence and --paired score one hypothesis file; several files give a table of corpus scores.")
            }
        }
        let stdinUses = hypotheses.filter { $0 == "-" }.count + referenceFiles.filter { $0 == "-" }.count + (paired == "-" ? 1 : 0)
        if stdinUses > 1 { throw ValidationError("Only one input can be standard input.") }
    }

    func run() throws { try job.run() }
}

/// `--bootstrap-seed`, and its old name `--seed` in `score` (hidden): the seed of the bootstrap
/// resampling of --confidence and --paired (`--seed` is the sampling or training seed elsewhere).
struct BootstrapSeedArguments: ParsableArguments {
    @Option(name: .customLong("bootstrap-seed"), help: "Seed of the bootstrap resampling (default: 12345).")
    var bootstrapSeed: UInt64?

    @Option(name: .customLong("seed"), help: .hidden)
    var seedAlias: UInt64?

    /// The seed given, or 12345 (sacreBLEU's).
    var seed: UInt64 { bootstrapSeed ?? seedAlias ?? 12345 }

    func validate() throws {
        if bootstrapSeed != nil && seedAlias != nil {
            throw ValidationError("--bootstrap-seed given twice (--seed is its old name in score).")
        }
    }
}

/// One scoring run: the hypothesis files against the references with the metric options,
/// printed in `format`. `score` and `evaluate` both run it.
struct ScoreJob {
    var hypotheses: [String]
    var referenceFiles: [String]
    /// References per line of each reference file, tab-separated (sacreBLEU's --num-refs).
    var numRefs = 1
    var metric: MetricArguments
    var sentenceLevel = false
    var confidence = false
    var samples = 1000
    var seed: UInt64 = 12345
    var paired: String? = nil
    var pairedBS = false
    var pairedAR = false
    var pairedARTrials = 10_000
    var replaceInvalid = false
    var format: ScoreFormat = .text
    var width = 2
    var scoreOnly = false
    var short = false
    /// Add rouge-score's bootstrap aggregate to ROUGE's text and JSON (`-f csv` prints it alone).
    var rougeAggregate = false
    /// rouge-score's `--target_filepattern` and `--prediction_filepattern`: when set, the
    /// files are their sorted matches, paired in order (``filePairs()``).
    var patterns: (targets: String, predictions: String)? = nil

    var sacreBLEUFormat: Bool { format.isSacreBLEU }
    /// The references per segment.
    var referenceCount: Int { referenceFiles.count * numRefs }
    private var hypothesis: String { hypotheses[0] }

    /// The checks that do not depend on how the files were named (shared by `score` and `evaluate`).
    func validate() throws {
        try metric.validateMetrics()
        if sacreBLEUFormat && metric.rouge != nil {
            throw ValidationError("--format \(format.rawValue) covers bleu, chrf and ter (sacreBLEU's metrics); use text or json with ROUGE.")
        }
        if format == .csv && !sentenceLevel {
            if metric.rouge == nil || metric.bleu(sentenceLevel: false) != nil || !metric.chrf.isEmpty || metric.ter != nil {
                throw ValidationError("--format csv without --sentence-level is rouge-score's bootstrap aggregate (score_type,low,mid,high) of ROUGE metrics only: give only rouge1, rouge2, rougeL or rougeLsum, or add --sentence-level for one row per line.")
            }
            if hypotheses.count > 1 || paired != nil || confidence || scoreOnly {
                throw ValidationError("--format csv aggregates one hypothesis file (its bootstrap is always on): drop --paired, --confidence, --score-only and further files.")
            }
        }
        if rougeAggregate {
            if metric.rouge == nil { throw ValidationError("--rouge-aggregate needs a ROUGE metric (rouge1, rouge2, rougeL or rougeLsum).") }
            if sentenceLevel || hypotheses.count > 1 {
                throw ValidationError("--rouge-aggregate applies to one hypothesis file's corpus ROUGE: drop --sentence-level and further files.")
            }
        }
        if samples < 1 || samples > 1_000_000 { throw ValidationError("--samples must be between 1 and 1000000.") }
        if width < 0 || width > 17 { throw ValidationError("--width must be between 0 and 17.") }
        if sentenceLevel && (confidence || paired != nil) {
            throw ValidationError("--confidence and --paired apply to corpus scores, not with --sentence-level.")
        }
    }

    func run() throws {
        let bleu = metric.bleu(sentenceLevel: sentenceLevel)
        let rouge = metric.rouge
        let chrfs = metric.chrf
        let ter = metric.ter
        let references = referenceFiles
        var options = FileScoringOptions(bleu: bleu, rouge: rouge, chrf: chrfs.map(\.config), ter: ter,
                                         keepSegments: confidence || paired != nil || pairedBS || pairedAR, replaceInvalid: replaceInvalid,
                                         rougeNewline: metric.rougeNewline)
        options.referencesPerLine = numRefs
        options.keepROUGEScores = !sentenceLevel && (rougeAggregate || format == .csv)
        do {
            let pairs = try filePairs()
            // Standard output is checked (not closed, not one of the inputs) before reading.
            let out = try LineWriter(path: nil, inputs: hypotheses + references + (paired.map { [$0] } ?? [])
                                                  + pairs.flatMap { [$0.hypotheses] + $0.references })
            // Lines already scored reach standard output before an input error is reported.
            defer { try? out.flush() }
            let nothing = ScoreError("\(hypothesis == "-" ? "<stdin>" : hypothesis): is empty, and so is every reference: nothing to score")
            if sentenceLevel {
                // Names, options and signatures are the same on every line: made once, as bytes.
                var printer = SegmentPrinter(format: format, width: width, scoreOnly: scoreOnly, short: short,
                                             references: .fixed(referenceCount), bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter)
                if format == .csv { try out.write(csvHeader(bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter)) }
                // Made once: a closure literal per line would copy this job each time.
                let bleuLine: (BLEUScore, String) -> String = { [self] in bleuJSON($0, signature: $1, ci: nil, paired: nil) }
                let result = try FileScorer.score(files: pairs, options: options) { index, seg in
                    try printer.write(index, seg, to: out, bleuJSON: bleuLine)
                }
                try out.close()
                if result.segments == 0 { throw nothing }
                return
            }
            if hypotheses.count > 1 {
                var results: [CorpusScores] = []
                for h in hypotheses {
                    let r = try FileScorer.score(hypotheses: h, references: references, options: options)
                    if r.segments == 0 { throw ScoreError("\(h == "-" ? "<stdin>" : h): is empty, and so is every reference: nothing to score") }
                    results.append(r)
                }
                try out.write(pairedBS ? pairedTable(results, bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter)
                              : pairedAR ? randomizationTable(results, bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter)
                              : systemsTable(results, bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter))
                try out.close()
                return
            }
            let result = try FileScorer.score(files: pairs, options: options)
            if result.segments == 0 { throw nothing }
            if format == .csv, let rouge {
                try out.write(aggregateCSV(result, rouge: rouge))
                try out.close()
                return
            }
            var baseline: CorpusScores? = nil
            if let paired {
                baseline = try FileScorer.score(hypotheses: paired, references: references, options: options)
                if baseline!.segments != result.segments {
                    throw ScoreError("\(paired) has \(baseline!.segments) lines but \(hypothesis == "-" ? "<stdin>" : hypothesis) has \(result.segments)")
                }
            }
            try out.write(corpusReport(result, baseline: baseline, bleu: bleu, rouge: rouge, chrfs: chrfs, ter: ter))
            try out.close()
        } catch let e as InputError {
            printError(e.description)
            throw ExitCode(1)
        } catch let e as ScoreError {
            printError(e.description)
            throw ExitCode(1)
        }
    }


    /// The (hypothesis, references) files of the one system scored: the hypothesis file and
    /// the reference files, or rouge-score's file patterns expanded (``globSorted(_:)``) and
    /// paired in sorted order.
    /// - Throws: ``ScoreError`` when a pattern matches nothing or the counts differ (as
    ///   rouge-score's "Must have equal and positive number of target and prediction files").
    func filePairs() throws -> [(hypotheses: String, references: [String])] {
        guard let (t, p) = patterns else { return [(hypothesis, referenceFiles)] }
        let targets = try globSorted(t), predictions = try globSorted(p)
        if targets.isEmpty || targets.count != predictions.count {
            throw ScoreError("need as many target files as prediction files, at least one: --target-filepattern '\(t)' matches \(targets.count), --prediction-filepattern '\(p)' matches \(predictions.count)")
        }
        return zip(predictions, targets).map { ($0, [$1]) }
    }

    // MARK: - Printing

    /// A ROUGE figure (0-1, rouge-score's scale) as text: ×100 with --width decimals, the
    /// scale and decimals of BLEU, chrF and TER.
    func rougeText(_ x: Double) -> String { formatFixed(100 * x, width) }

    func bleuJSON(_ s: BLEUScore, signature: String, ci: ConfidenceInterval?, paired: PairedBootstrapResult?) -> String {
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

    /// mixer's JSON object for a ROUGE type: exact figures on 0-1 (rouge-score's scale).
    private func rougeJSON(_ s: ROUGEScore, ci: ConfidenceInterval?, aggregate: ROUGEAggregate?, paired: PairedBootstrapResult?,
                           rouge: ROUGE) -> String {
        var f = ["\"precision\": \(formatJSONNumber(s.precision))", "\"recall\": \(formatJSONNumber(s.recall))",
                 "\"f\": \(formatJSONNumber(s.f))", "\"tokenizer\": \(jsonString(rouge.tokenizer.rawValue))",
                 "\"stem\": \(rouge.useStemmer)", "\"compatible\": \(rouge.tokenizer == .compatible)"]
        if rouge.splitSentences { f.append("\"split_sentences\": true") }
        if let ci { f.append(ciJSON(ci)) }
        if let a = aggregate {
            func obj(_ s: ROUGEScore) -> String {
                "{\"precision\": \(formatJSONNumber(s.precision)), \"recall\": \(formatJSONNumber(s.recall)), \"f\": \(formatJSONNumber(s.f))}"
            }
            f.append("\"aggregate\": {\"low\": \(obj(a.low)), \"mid\": \(obj(a.mid)), \"high\": \(obj(a.high)), \"samples\": \(samples), \"seed\": \(seed), \"level\": 0.95}")
        }
        if let paired { f.append(pairedJSON(paired)) }
        return "{" + f.joined(separator: ", ") + "}"
    }

    func ciJSON(_ ci: ConfidenceInterval) -> String {
        "\"confidence\": {\"mean\": \(formatJSONNumber(ci.mean)), \"half_width\": \(formatJSONNumber(ci.halfWidth)), \"samples\": \(ci.samples), \"seed\": \(ci.seed), \"level\": 0.95}"
    }

    func pairedJSON(_ p: PairedBootstrapResult) -> String {
        "\"paired\": {\"baseline\": \(jsonString(paired ?? "")), \"baseline_score\": \(formatJSONNumber(p.baselineScore)), \"p_value\": \(formatJSONNumber(p.pValue)), \"samples\": \(samples), \"seed\": \(seed)}"
    }

    /// BLEU's figures for the corpus report and sacreBLEU's formats.
    func bleuEntry(_ r: CorpusScores, baseline: CorpusScores?, bleu: BLEU, signatureShort: Bool) -> CorpusEntry? {
        guard let s = r.bleu else { return nil }
        let ci = confidence ? Bootstrap.bleu(r.segmentBLEU, config: bleu, samples: samples, seed: seed) : nil
        let p = baseline.map { Bootstrap.pairedBLEU(baseline: $0.segmentBLEU, system: r.segmentBLEU, config: bleu, samples: samples, seed: seed) }
        let sig = bleu.signature(references: r.references, bootstrap: ci != nil ? (samples, seed) : nil, short: signatureShort)
        let verbose = String(s.formatted(width: width).split(separator: " ", maxSplits: 3)[3])
        return CorpusEntry(key: "bleu", name: "BLEU", score: s.score, signature: sig, text: s.formatted(width: width, confidence: ci),
                           verbose: verbose, confidence: ci, paired: p,
                           json: bleuJSON(s, signature: sig, ci: ci, paired: p))
    }

    private func corpusReport(_ r: CorpusScores, baseline: CorpusScores?, bleu: BLEU?, rouge: ROUGE?,
                              chrfs: [(key: String, config: CHRF)], ter: TER?) -> String {
        var json: [String] = []
        var text: [String] = []
        let entries = corpusEntries(r, baseline: baseline, bleu: bleu, chrfs: chrfs, ter: ter)
        if sacreBLEUFormat { return sacreBLEUReport(entries) }
        for e in entries {
            json.append("\(jsonString(e.key)): " + e.json)
            text.append(scoreOnly ? formatScore(e.score, width: width, confidence: e.confidence) : e.text)
            if scoreOnly { continue }
            text.append("  signature: \(e.signature)")
            if let p = e.paired { text.append("  paired bootstrap vs \(paired!): baseline \(e.name) = \(formatFixed(p.baselineScore, width)), p = \(formatFixed(p.pValue, 4)) (\(samples) resamples, seed \(seed))") }
        }
        if let rouge {
            for t in rouge.types {
                let s = r.rouge[t] ?? .zero
                let ci = confidence ? Bootstrap.mean(r.segmentROUGE[t] ?? [], samples: samples, seed: seed) : nil
                let p = baseline.map { Bootstrap.pairedMean(baseline: $0.segmentROUGE[t] ?? [], system: r.segmentROUGE[t] ?? [], samples: samples, seed: seed) }
                let aggregate = rougeAggregate ? Bootstrap.rougeAggregate(r.segmentROUGEScores[t] ?? [], samples: samples, seed: seed) : nil
                json.append("\(jsonString(t.rawValue)): " + rougeJSON(s, ci: ci, aggregate: aggregate, paired: p, rouge: rouge))
                if scoreOnly {
                    text.append(rougeText(s.f))
                    continue
                }
                var line = "\(t.rawValue): F = \(rougeText(s.f))"
                if let ci { line += " (μ = \(rougeText(ci.mean)) ± \(rougeText(ci.halfWidth)))" }
                line += " P = \(rougeText(s.precision)) R = \(rougeText(s.recall))"
                if let p { line += "  paired vs \(paired!): baseline F = \(rougeText(p.baselineScore)), p = \(formatFixed(p.pValue, 4))" }
                text.append(line)
                if let a = aggregate {
                    for (name, key) in [("F", \ROUGEScore.f), ("P", \ROUGEScore.precision), ("R", \ROUGEScore.recall)] {
                        text.append("  \(name) low/mid/high = \(rougeText(a.low[keyPath: key])) / \(rougeText(a.mid[keyPath: key])) / \(rougeText(a.high[keyPath: key]))")
                    }
                }
            }
            if !scoreOnly {
                text.append("  rouge: \(rouge.tokenizer.label), stemming \(rouge.useStemmer ? "on" : "off"), \(rouge.sentenceNote)mean over \(r.segments) lines, ×100")
                if rougeAggregate { text.append("  rouge low/mid/high: 2.5th, 50th, 97.5th percentiles of \(samples) resampled means (rouge-score's BootstrapAggregator, seed \(seed))") }
            }
        }
        if format == .json { return "{" + json.joined(separator: ", ") + "}\n" }
        return text.joined(separator: "\n") + "\n"
    }
}
