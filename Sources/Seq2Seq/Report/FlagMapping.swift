import Foundation

/// How a run's saved settings read as the `mixer-cli train` flags a user would type.
///
/// The start record of a log holds the settings under their Swift names
/// (`options.minimumLearningRate`, `config.model.hiddenSize`), which name no flag. Newer logs
/// also hold `arguments`, the exact arguments after `train`; the report shows those when
/// present. For older logs, and to compare runs setting by setting, ``table`` maps each saved
/// name to its flag (kept in step with `TrainCommand`; `ReportCommandTests` checks that every
/// flag named here is one `mixer-cli train --help` lists).
///
/// Saved settings with no flag (the vocabulary sizes the data gave, `maxDivergentSteps`,
/// `convWindow`, …) are left out. Flags that only one objective reads are left out of the
/// runs of the other objectives (the MIXER schedule of an XENT run says nothing).
public enum FlagMapping {
    /// Which runs read a flag.
    enum Scope { case all, mixer, rewards, dad, scst, risk }

    /// How the saved value becomes the flag's value.
    enum Kind {
        /// `--flag VALUE`.
        case value
        /// `--flag` alone when the saved boolean is true.
        case whenTrue
        /// `--flag` alone when the saved boolean is false (`inputFeeding` → `--no-input-feeding`).
        case whenFalse
        /// `--dad-schedule`: the saved enum (`{"inverseSigmoid":{"k":500}}`) as `inverse-sigmoid:500`.
        case dadSchedule
    }

    /// Saved name → flag, in the order of `mixer-cli train --help`.
    static let table: [(key: String, flag: String, kind: Kind, scope: Scope)] = [
        ("config.tokenizer.lowercase", "--lowercase", .whenTrue, .all),
        ("config.tokenizer.normalization", "--normalization", .value, .all),
        ("config.tokenizer.locale", "--locale", .value, .all),
        ("config.maxSourceLength", "--max-source-length", .value, .all),
        ("config.maxTargetLength", "--max-target-length", .value, .all),
        ("config.model.embeddingSize", "--embedding-size", .value, .all),
        ("config.model.hiddenSize", "--hidden-size", .value, .all),
        ("config.model.encoderHiddenSize", "--encoder-hidden-size", .value, .all),
        ("config.model.encoder", "--encoder", .value, .all),
        ("config.model.attention", "--attention", .value, .all),
        ("config.model.inputFeeding", "--no-input-feeding", .whenFalse, .all),
        ("config.model.dropout", "--dropout", .value, .all),
        ("config.model.initialization", "--initialization", .value, .all),
        ("config.model.initScale", "--init-scale", .value, .all),
        ("options.objective", "--objective", .value, .all),
        ("options.epochs", "--epochs", .value, .all),
        ("options.batchSize", "--batch-size", .value, .all),
        ("options.optimizer", "--optimizer", .value, .all),
        ("options.learningRate", "--learning-rate", .value, .all),
        ("options.learningRateDecay", "--lr-decay", .value, .all),
        ("options.minimumLearningRate", "--min-lr", .value, .all),
        ("options.clipNorm", "--clip-norm", .value, .all),
        ("options.patience", "--patience", .value, .all),
        ("options.validationMetric", "--valid-metric", .value, .all),
        ("options.validationBatchSize", "--valid-batch-size", .value, .all),
        ("options.seed", "--seed", .value, .all),
        ("options.threads", "--threads", .value, .all),
        ("options.reportEvery", "--report-every", .value, .all),
        ("options.saveEvery", "--save-every", .value, .all),
        ("options.logSamples", "--log-samples", .value, .all),
        ("options.xentEpochs", "--xent-epochs", .value, .mixer),
        ("options.mixerDelta", "--mixer-delta", .value, .mixer),
        ("options.mixerEpochsPerStep", "--mixer-epochs-per-step", .value, .mixer),
        ("options.reward", "--reward", .value, .rewards),
        ("options.rewardSmoothing", "--reward-smoothing", .value, .rewards),
        ("options.rewardRecall", "--reward-recall", .whenTrue, .rewards),
        ("options.temperature", "--temperature", .value, .rewards),
        ("options.baselineLearningRateFactor", "--baseline-lr-factor", .value, .mixer),
        ("options.baselineInitialWeight", "--baseline-init-weight", .value, .mixer),
        ("options.baselineInitialBias", "--baseline-init-bias", .value, .mixer),
        ("options.lossWeighting", "--loss-weighting", .value, .mixer),
        ("options.dadSchedule", "--dad-schedule", .dadSchedule, .dad),
        ("options.dadFeed", "--dad-feed", .value, .dad),
        ("options.scstSamples", "--scst-samples", .value, .scst),
        ("options.scstBaseline", "--scst-baseline", .value, .scst),
        ("options.riskCandidates", "--risk-candidates", .value, .risk),
        ("options.riskAlpha", "--risk-alpha", .value, .risk),
        ("options.riskXentWeight", "--risk-xent-weight", .value, .risk),
        ("options.labelSmoothing", "--label-smoothing", .value, .all),
    ]

    /// Every flag ``table`` can produce and whether it takes a value (for the test against
    /// `mixer-cli train --help`).
    public static var knownFlags: [(flag: String, takesValue: Bool)] {
        table.map { entry in
            switch entry.kind {
            case .whenTrue, .whenFalse: return (entry.flag, false)
            case .value, .dadSchedule: return (entry.flag, true)
            }
        }
    }

    /// The `train` flags that take no value (as `TrainCommand.booleanFlags`), for reading typed
    /// arguments: any other flag takes the next argument as its value.
    public static let booleanFlags: Set<String> = ["--replace-invalid", "--no-input-feeding", "--reward-recall", "--lowercase", "--overwrite", "--help", "--subword-separate"]

    static func applies(_ scope: Scope, objective: String?) -> Bool {
        guard let objective else { return true }
        switch scope {
        case .all: return true
        case .mixer: return objective == "mixer"
        case .rewards: return objective == "mixer" || objective == "scst" || objective == "risk"
        case .dad: return objective == "dad"
        case .scst: return objective == "scst"
        case .risk: return objective == "risk"
        }
    }

    /// Whether `flag` is one that `run`'s objective does not read (the MIXER schedule of an
    /// XENT run).
    public static func isUnused(_ flag: String, by run: RunLog) -> Bool {
        guard let entry = table.first(where: { $0.flag == flag }) else { return false }
        return !applies(entry.scope, objective: run.objective)
    }

    /// The flags of the saved settings (value "" for a flag that takes none), in ``table``
    /// order; unset optional settings (`null`) and empty locales are left out.
    public static func savedFlags(_ configuration: [(key: String, value: String)]) -> [(flag: String, value: String)] {
        let saved = Dictionary(configuration.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let objective = saved["options.objective"]
        var out: [(flag: String, value: String)] = []
        for entry in table where applies(entry.scope, objective: objective) {
            guard let v = saved[entry.key], v != "null" else { continue }
            switch entry.kind {
            case .value: if !v.isEmpty { out.append((entry.flag, v)) }
            case .whenTrue: if v == "true" { out.append((entry.flag, "")) }
            case .whenFalse: if v == "false" { out.append((entry.flag, "")) }
            case .dadSchedule: out.append((entry.flag, dadSchedule(v)))
            }
        }
        return out
    }

    /// `{"inverseSigmoid":{"k":500}}` → `inverse-sigmoid:500`; `{"linear":{"decaySteps":S,
    /// "minimum":M}}` → `linear:S:M` (the syntax of `--dad-schedule`); anything else as saved.
    static func dadSchedule(_ saved: String) -> String {
        guard case .object(let o)? = try? JSONValue.parse(Array(saved.utf8)), o.count == 1,
              let (name, body) = o.first, case .object(let fields) = body else { return saved }
        func num(_ k: String) -> String? { fields[k].map { RunLog.text($0) } }
        switch name {
        case "inverseSigmoid": if let k = num("k") { return "inverse-sigmoid:\(k)" }
        case "linear": if let s = num("decaySteps"), let m = num("minimum") { return "linear:\(s):\(m)" }
        default: break
        }
        return saved
    }

    /// The typed arguments as words, each with the flag it belongs to (a flag and its value
    /// both name the flag; a word outside any flag has none). Values are shell-quoted.
    public static func tokens(_ arguments: [String]) -> [(text: String, flag: String?)] {
        var out: [(text: String, flag: String?)] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--") {
                if let eq = a.firstIndex(of: "=") {
                    out.append((shellQuoted(a), String(a[..<eq])))
                } else {
                    out.append((a, a))
                    if !booleanFlags.contains(a) && i + 1 < arguments.count {
                        out.append((shellQuoted(arguments[i + 1]), a))
                        i += 1
                    }
                }
            } else {
                out.append((shellQuoted(a), nil))
            }
            i += 1
        }
        return out
    }

    /// The typed arguments as (flag, value) pairs (value "" for a flag that takes none).
    static func typedFlags(_ arguments: [String]) -> [(flag: String, value: String)] {
        var out: [(flag: String, value: String)] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--") {
                if let eq = a.firstIndex(of: "=") {
                    out.append((String(a[..<eq]), String(a[a.index(after: eq)...])))
                } else if booleanFlags.contains(a) || i + 1 >= arguments.count {
                    out.append((a, ""))
                } else {
                    out.append((a, arguments[i + 1]))
                    i += 1
                }
            }
            i += 1
        }
        return out
    }

    /// Everything that decided a run, as flags: the saved settings, overridden and completed by
    /// the typed arguments when the log has them (the data paths are only there).
    public static func effectiveFlags(_ run: RunLog) -> [(flag: String, value: String)] {
        var out = savedFlags(run.configuration)
        for (flag, value) in typedFlags(run.arguments ?? []) {
            if let i = out.firstIndex(where: { $0.flag == flag }) { out[i].value = value } else { out.append((flag, value)) }
        }
        return out
    }

    /// The flags whose values are not the same in every run (a flag one run lacks differs),
    /// in first-seen order. Numbers compare by value (`1e-3` equals `0.001`).
    public static func differingFlags(_ sets: [[(flag: String, value: String)]]) -> [String] {
        var order: [String] = []
        var seen = Set<String>()
        for set in sets { for f in set where seen.insert(f.flag).inserted { order.append(f.flag) } }
        func normal(_ v: String) -> String { Double(v).map { RunLog.plainNumber($0) } ?? v }
        return order.filter { flag in
            let values = sets.map { set in set.first { $0.flag == flag }.map { normal($0.value) } }
            return Set(values.map { $0 ?? "\u{0}absent" }).count > 1
        }
    }

    /// `s` as a shell word: bare when it is safe, otherwise in single quotes.
    public static func shellQuoted(_ s: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%")
        if !s.isEmpty && s.unicodeScalars.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
