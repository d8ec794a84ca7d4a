import ArgumentParser
import Foundation
import Metrics
import MixerOptions
import Seq2Seq
import Yams

/// The arguments of this invocation after the subcommand's name, as parsed: the command line,
/// with `train --config FILE` replaced by the file's settings (see ``TrainConfigFile``). What
/// `train` saves with a run and compares on `--resume`.
nonisolated(unsafe) var invocationArguments: [String] = Array(CommandLine.arguments.dropFirst())

/// `train --config FILE`: a YAML mapping whose keys are `train`'s long option names without
/// `--` (`learning-rate: 0.001`, `objective: mixer`, `reward-recall: true`).
///
/// The file's settings become arguments placed before the command line's, so that the command
/// line overrides the file: a key whose option is also on the command line is skipped. A flag
/// takes `true` (given) or `false` (not given); every other key takes one scalar value, checked
/// by the same parser and validation as the flag. Unknown keys, a key given twice, a list or
/// mapping as a value, a flag that is not true/false, and a file that is not YAML are errors
/// naming the file, the line and the key. `config`, `help`, `version`, `output`, `resume` and
/// `overwrite` are not keys: where a run goes stays on the command line.
///
/// `RUN/config.yaml` (``render(_:options:argv:)``) is such a file: the run's effective
/// configuration, every key with its value, and the exact command line as a comment.
struct TrainConfigFile {
    /// The path given to --config.
    var path: String
    /// The file's settings as arguments (`--key=value`, `--flag`), in file order.
    var arguments: [String]
    /// Each option set by the file, by its long name (`--epochs`), with the file's line.
    var lines: [String: Int]

    /// Options that cannot be set in a config file.
    static let notKeys: Set<String> = ["--config", "--help", "--version", "--output", "--resume", "--overwrite"]

    /// Removes `--config FILE` (or `--config=FILE`) from `arguments` and reads FILE; nil when
    /// there is no --config.
    static func extract(from arguments: inout [String], specs: [OptionSpec]) throws -> TrainConfigFile? {
        var path: String? = nil
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { break }
            if a == "--config" {
                guard i + 1 < arguments.count else { throw ValidationError("--config needs a YAML file.") }
                path = arguments[i + 1]
                arguments.removeSubrange(i...(i + 1))
                continue
            }
            if a.hasPrefix("--config=") {
                path = String(a.dropFirst("--config=".count))
                arguments.remove(at: i)
                continue
            }
            i += 1
        }
        guard let path else { return nil }
        if path.isEmpty { throw ValidationError("--config needs a YAML file.") }
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let s = String(data: data, encoding: .utf8) else { throw ValidationError("\(path): not UTF-8 text") }
            text = s
        } catch let e as ValidationError {
            throw e
        } catch {
            throw ValidationError("--config \(describe(error))")
        }
        return try parse(text, path: path, specs: specs, commandLine: arguments)
    }

    /// The settings of a config file's `text`; options already in `commandLine` are skipped.
    static func parse(_ text: String, path: String, specs: [OptionSpec], commandLine: [String]) throws -> TrainConfigFile {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ValidationError("\(path): not valid YAML: \("\(error)".split(whereSeparator: \.isNewline).joined(separator: " "))")
        }
        var file = TrainConfigFile(path: path, arguments: [], lines: [:])
        guard let root else { return file }  // an empty file sets nothing
        guard case .mapping(let mapping) = root else {
            throw ValidationError("\(path):\(line(root)): a config file is a mapping of option names to values (key: value lines)")
        }
        var seen: Set<String> = []
        for (k, v) in mapping {
            let at = "\(path):\(line(k))"
            guard let key = k.scalar?.string else { throw ValidationError("\(at): a key must be an option name") }
            if !seen.insert(key).inserted { throw ValidationError("\(at): '\(key)' is given twice") }
            let name = "--" + key
            guard !notKeys.contains(name), let spec = specs.first(where: { $0.names.contains(name) }) else {
                let why = notKeys.contains(name) ? "it is given on the command line only" : "not an option of train; keys are the long option names without --, such as learning-rate"
                throw ValidationError("\(at): unknown key '\(key)' (\(why))")
            }
            if OptionSurface.isGiven(spec, in: commandLine) { continue }  // the command line wins
            switch v {
            case .scalar(let s) where !spec.takesValue:
                switch s.string {
                case "true": file.arguments.append(spec.canonical)
                case "false": break
                default: throw ValidationError("\(at): '\(key)' is a flag: its value must be true or false, got '\(s.string)'")
                }
            case .scalar(let s):
                // `--key=value` keeps a value that starts with "-" a value; "--key=" would be no value.
                file.arguments += s.string.isEmpty ? [spec.canonical, ""] : ["\(spec.canonical)=\(s.string)"]
            case .sequence(let items) where spec.repeatable:
                for item in items {
                    guard let s = item.scalar else { throw ValidationError("\(path):\(line(item)): '\(key)' takes a list of values") }
                    file.arguments += s.string.isEmpty ? [spec.canonical, ""] : ["\(spec.canonical)=\(s.string)"]
                }
            default:
                throw ValidationError("\(at): '\(key)' takes one value, not a \(v.sequence != nil ? "list" : "mapping")")
            }
            file.lines[spec.canonical] = line(k)
        }
        return file
    }

    /// The 1-based line of a node (0 when Yams gives none).
    private static func line(_ node: Node) -> Int { node.mark.map { $0.line } ?? 0 }

    /// A parse or validation message about an option this file set, prefixed with the file,
    /// line and key (`run.yaml:3: epochs: …`); nil when the message names none of them.
    func locate(_ message: String) -> String? {
        var best: (index: String.Index, option: String)? = nil
        for option in lines.keys {
            var search = message.startIndex..<message.endIndex
            while let r = message.range(of: option, range: search) {
                let next = r.upperBound < message.endIndex ? message[r.upperBound] : " "
                if !(next.isLetter || next.isNumber || next == "-") {
                    if best == nil || r.lowerBound < best!.index { best = (r.lowerBound, option) }
                    break
                }
                search = r.upperBound..<message.endIndex
            }
        }
        guard let best else { return nil }
        return "\(path):\(lines[best.option]!): \(best.option.dropFirst(2)): \(message)"
    }

    // MARK: - RUN/config.yaml

    /// A YAML scalar: plain when it reads back as the same string, else single-quoted.
    static func yamlScalar(_ s: String) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+")
        if !s.isEmpty && s.allSatisfy({ plain.contains($0) }) && !s.hasPrefix("-") || Double(s) != nil { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The effective configuration of a new run as a config file: every key of `train` with the
    /// value the run uses (defaults included), the unset defaults that depend on others
    /// (learning-rate, lr-decay) as comments, and `argv` (the exact command line) as a comment.
    static func render(_ c: TrainCommand, options o: TrainerOptions, argv: [String]) -> String {
        func f(_ x: Double) -> String { "\(x)" }
        func ff(_ x: Float) -> String { "\(x)" }
        var entries: [(String, String)] = [
            ("train-source", c.trainSource ?? "data/train.src"), ("train-target", c.trainTarget ?? "data/train.tgt"),
            ("valid-source", c.validSource ?? "data/valid.src"), ("valid-target", c.validTarget ?? "data/valid.tgt"),
            ("replace-invalid", "\(c.replaceInvalid)"),
        ]
        if let i = c.initFrom { entries.append(("init-from", i)) }
        entries += [
            ("lowercase", "\(c.tokenizer.lowercase)"), ("normalization", c.tokenizer.normalization.rawValue),
            ("locale", c.tokenizer.locale),
            ("source-vocab-size", "\(c.sourceVocabSize)"), ("target-vocab-size", "\(c.targetVocabSize)"),
            ("min-count", "\(c.minCount)"), ("max-source-length", "\(c.maxSourceLength)"),
            ("max-target-length", "\(c.maxTargetLength)"),
        ]
        entries += [("subword", c.subword?.rawValue ?? "bpe"), ("subword-vocab-size", "\(c.subwordVocabSize)"),
                    ("subword-separate", "\(c.subwordSeparate)"), ("subword-model", c.subwordModel ?? "FILE.model")]
        entries += [
            ("embedding-size", "\(c.shape.embeddingSize)"), ("hidden-size", "\(c.shape.hiddenSize)"),
            ("encoder-hidden-size", "\(c.shape.encoderHiddenSize)"), ("encoder", c.encoder.rawValue),
            ("attention", c.attention.rawValue), ("no-input-feeding", "\(c.noInputFeeding)"),
            ("copy", "\(c.copy)"), ("coverage", "\(c.coverage)"),
            ("dropout", ff(c.shape.dropout)), ("initialization", c.initialization.rawValue), ("init-scale", ff(c.initScale)),
            ("objective", o.objective.rawValue), ("epochs", "\(o.epochs)"), ("batch-size", "\(o.batchSize)"),
            ("optimizer", o.optimizer.rawValue),
        ]
        var commented: Set<String> = []
        // Not given: word vocabularies (shown as comments, as an example of the value).
        if c.subword == nil { commented.insert("subword") }
        if c.subwordModel == nil { commented.insert("subword-model") }
        entries.append(("learning-rate", f(o.learningRate ?? o.effectiveLearningRate)))
        if o.learningRate == nil { commented.insert("learning-rate") }
        entries.append(("lr-decay", f(o.learningRateDecay ?? o.effectiveDecay)))
        if o.learningRateDecay == nil { commented.insert("lr-decay") }
        entries += [
            ("min-lr", f(o.minimumLearningRate)), ("clip-norm", f(o.clipNorm)), ("patience", "\(o.patience)"),
            ("valid-metric", o.validationMetric.rawValue), ("valid-batch-size", "\(o.validationBatchSize)"),
            ("seed", "\(o.seed)"), ("threads", "\(o.threads)"), ("report-every", "\(o.reportEvery)"),
            ("save-every", "\(o.saveEvery)"), ("log-samples", "\(o.logSamples)"),
            ("xent-epochs", "\(o.xentEpochs)"), ("mixer-delta", "\(o.mixerDelta)"),
            ("mixer-epochs-per-step", "\(o.mixerEpochsPerStep)"), ("reward", o.reward.rawValue),
            ("reward-smoothing", o.rewardSmoothing), ("reward-recall", "\(o.rewardRecall)"),
            ("temperature", f(o.temperature)), ("baseline-lr-factor", f(o.baselineLearningRateFactor)),
            ("baseline-init-weight", ff(o.baselineInitialWeight)), ("baseline-init-bias", ff(o.baselineInitialBias)),
            ("loss-weighting", o.lossWeighting.rawValue), ("reward-eos", o.rewardEOS.rawValue), ("dad-schedule", c.dadSchedule), ("dad-feed", o.dadFeed.rawValue),
            ("scst-samples", "\(o.scstSamples)"), ("scst-baseline", o.scstBaseline.rawValue),
            ("risk-candidates", "\(o.riskCandidates)"), ("risk-alpha", f(o.riskAlpha)),
            ("risk-xent-weight", f(o.riskXentWeight)), ("risk-candidates-from", o.riskCandidatesFrom.rawValue),
            ("risk-include-reference", "\(o.riskIncludeReference)"), ("risk-duplicates", o.riskDuplicates.rawValue),
            ("label-smoothing", f(o.labelSmoothing)),
        ]
        entries.append(("coverage-loss-weight", f(o.effectiveCoverageLossWeight)))
        // Without coverage the key would be refused (it weights nothing): shown as a comment.
        if !c.coverage && o.coverageLossWeight == nil { commented.insert("coverage-loss-weight") }
        var text = """
            # mixer-cli train: the effective configuration of this run, every option with its value.
            # A run like it: mixer-cli train --config THIS-FILE --output NEW-DIR (flags given there override the file).
            # command: \(OptionSurface.shellQuoted(argv).split(whereSeparator: \.isNewline).joined(separator: " "))

            """
        for (key, value) in entries {
            if commented.contains(key) {
                let note = key.hasPrefix("subword") ? "not given: word vocabularies"
                    : key == "coverage-loss-weight" ? "not given: a model without --coverage"
                    : "not given: the default of --optimizer \(o.optimizer.rawValue)"
                text += "# \(key): \(yamlScalar(value))  (\(note))\n"
            } else {
                text += "\(key): \(yamlScalar(value))\n"
            }
        }
        return text
    }
}
