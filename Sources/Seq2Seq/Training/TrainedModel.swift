import Foundation
import Tokenize

/// Everything `config.json` holds: the network's shape, the tokenizer settings and the
/// length limits the model was trained with.
public struct RunConfig: Codable, Equatable, Sendable {
    public var model: ModelConfig
    public var tokenizer: TokenizerSettings
    /// Sources are truncated to this many tokens.
    public var maxSourceLength: Int
    /// T: targets are truncated to this many tokens (before `</s>` is appended), and decoding
    /// stops after T + 1 steps by default.
    public var maxTargetLength: Int
    /// mixer's version that wrote the checkpoint.
    public var mixerVersion: String
    /// Present when the vocabularies are SentencePiece pieces (the checkpoint then holds
    /// `source.model` and `target.model`); the length limits then count pieces.
    public var subword: SubwordSettings?

    public init(model: ModelConfig, tokenizer: TokenizerSettings, maxSourceLength: Int, maxTargetLength: Int,
                mixerVersion: String, subword: SubwordSettings? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxSourceLength = maxSourceLength
        self.maxTargetLength = maxTargetLength
        self.mixerVersion = mixerVersion
        self.subword = subword
    }
}

extension RunConfig {
    /// The largest length limit (source tokens, target tokens, decoding steps) accepted from
    /// options and checkpoints: decoding keeps per-step state, so a limit like 10^9 would run
    /// for hours and grow without bound on a model that never emits `</s>`.
    public static let lengthLimit = 100_000
}

/// A trained model ready to use: network, vocabularies and tokenizer settings, loaded from a
/// checkpoint directory (`RUN/best`, `RUN/last`, or a run directory, which means its `best/`).
public final class TrainedModel {
    public let directory: String
    public let config: RunConfig
    public let model: EncoderDecoder
    public let sourceVocabulary: Vocabulary
    public let targetVocabulary: Vocabulary
    /// The checkpoint as opened (trainer state, file paths).
    public let checkpoint: Checkpoint
    /// The SentencePiece models of a subword model (nil for a word model).
    public let subword: SubwordModels?

    /// Opens and validates a checkpoint: checksums, `config.json`, both vocabularies (their
    /// sizes must equal the model's), and every weight's name and shape. A run directory
    /// means its `best` checkpoint, or its `last` when it has no best yet. Nothing is written.
    /// - Throws: ``StorageError`` or `InputError` naming the file and what is wrong.
    public init(directory path: String) throws {
        var dir = path
        if !FileIO.exists(dir + "/" + Checkpoint.stateFile) {
            let run = RunDirectory(path)
            if FileIO.exists(run.best + "/" + Checkpoint.stateFile) { dir = run.best }
            else if FileIO.exists(run.last + "/" + Checkpoint.stateFile) { dir = run.last }
            else if FileIO.isSymbolicLink(run.last) {
                throw StorageError(path, "is a run directory without a checkpoint yet (its trainer has not finished an epoch or a --save-every interval)")
            } else if FileIO.isSymbolicLink(path) && !FileIO.exists(path) {
                throw StorageError(path, "no checkpoint here yet (the run has not saved one)")
            } else {
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                throw StorageError(path, !exists ? "no such checkpoint or run directory"
                    : !isDirectory.boolValue ? "is a file, not a checkpoint directory"
                    : "is not a checkpoint (no \(Checkpoint.stateFile)) nor a run directory (no best/ or last/ checkpoint)")
            }
        }
        // A trainer may switch a run's link and remove the old checkpoint while this reads
        // (it keeps the previous generation one save longer): then read the new one.
        var attempt = 0
        var loaded: Loaded
        while true {
            let before = FileIO.resolve(dir)
            do {
                loaded = try Self.load(dir)
                break
            } catch where attempt < 5 && FileIO.resolve(dir) != before {
                attempt += 1
            }
        }
        directory = dir
        checkpoint = loaded.checkpoint
        config = loaded.config
        sourceVocabulary = loaded.sourceVocabulary
        targetVocabulary = loaded.targetVocabulary
        model = loaded.model
        subword = loaded.subword
    }

    private struct Loaded {
        var checkpoint: Checkpoint
        var config: RunConfig
        var sourceVocabulary: Vocabulary
        var targetVocabulary: Vocabulary
        var model: EncoderDecoder
        var subword: SubwordModels?
    }

    /// Opens the checkpoint at `dir` and loads everything from it.
    private static func load(_ dir: String) throws -> Loaded {
        let checkpoint = try Checkpoint.open(dir)
        let config = try checkpoint.config(RunConfig.self)
        let configPath = dir + "/" + Checkpoint.configFile
        do { try config.model.validate() } catch {
            throw StorageError(configPath, "\(error)")
        }
        try Self.checkLimits(config, configPath: configPath, storedValues: checkpoint.modelTensors.reduce(0) { $0 + $1.elementCount })
        let sourceVocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: checkpoint.sourceVocabularyPath))
        let targetVocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: checkpoint.targetVocabularyPath))
        guard sourceVocabulary.count == config.model.sourceVocabSize else {
            throw StorageError(checkpoint.sourceVocabularyPath,
                                  "has \(sourceVocabulary.count) entries but the model expects \(config.model.sourceVocabSize)")
        }
        guard targetVocabulary.count == config.model.targetVocabSize else {
            throw StorageError(checkpoint.targetVocabularyPath,
                                  "has \(targetVocabulary.count) entries but the model expects \(config.model.targetVocabSize)")
        }
        let subword = try subwordModels(checkpoint, config: config, sourceVocabulary: sourceVocabulary,
                                        targetVocabulary: targetVocabulary)
        let model = EncoderDecoder(config: config.model, seed: 0)
        try checkpoint.loadParameters(into: model.params)
        return Loaded(checkpoint: checkpoint, config: config, sourceVocabulary: sourceVocabulary,
                      targetVocabulary: targetVocabulary, model: model, subword: subword)
    }

    /// The SentencePiece models of a subword checkpoint (nil when `config` describes a word
    /// model), checked against its vocabularies: each vocabulary file must list its model's
    /// pieces in order.
    /// - Throws: ``StorageError`` naming the file: a `.model` missing or not a SentencePiece
    ///   model, or a vocabulary that does not match its model.
    public static func subwordModels(_ checkpoint: Checkpoint, config: RunConfig, sourceVocabulary: Vocabulary,
                                     targetVocabulary: Vocabulary) throws -> SubwordModels? {
        guard config.subword != nil else { return nil }
        let dir = checkpoint.directory
        guard let bytes = checkpoint.subwordModelBytes else {
            throw StorageError(dir + "/" + Checkpoint.sourceSubwordFile,
                               "missing: config.json describes a subword model, whose SentencePiece models the checkpoint must hold")
        }
        func load(_ b: [UInt8], _ name: String) throws -> SubwordModel {
            do { return try SubwordModel(serialized: b) } catch let e as SubwordError {
                throw StorageError(dir + "/" + name, e.description)
            }
        }
        let source = try load(bytes.source, Checkpoint.sourceSubwordFile)
        let target = bytes.target == bytes.source ? source : try load(bytes.target, Checkpoint.targetSubwordFile)
        for (vocabulary, model, path, name) in [(sourceVocabulary, source, checkpoint.sourceVocabularyPath, Checkpoint.sourceSubwordFile),
                                                (targetVocabulary, target, checkpoint.targetVocabularyPath, Checkpoint.targetSubwordFile)]
        where vocabulary.tokens != model.vocabulary.tokens {
            let first = (0..<min(vocabulary.count, model.vocabulary.count)).first { vocabulary.tokens[$0] != model.vocabulary.tokens[$0] } ?? min(vocabulary.count, model.vocabulary.count)
            throw StorageError(path, "does not match \(name): \(vocabulary.count) entries for \(model.vocabulary.count) pieces, the first difference at id \(first) (a subword model's vocabulary lists its SentencePiece model's pieces in order)")
        }
        return SubwordModels(source: source, target: target)
    }

    /// Which checkpoint this is, for a user: the path given, the checkpoint it resolved to, the
    /// epoch (and step, mid-epoch), and the run's best validation figure, e.g.
    /// `runs/x/best → checkpoints/snap-000012 (end of epoch 12; best valid rouge2 11.13 at epoch 12)`.
    public var checkpointDescription: String {
        let st = checkpoint.state
        var s = directory
        if FileIO.isSymbolicLink(directory) || checkpoint.resolvedDirectory != FileIO.resolve(directory) ?? directory {
            s += " → " + FileIO.lastComponent(FileIO.parentDirectory(checkpoint.resolvedDirectory)) + "/" + FileIO.lastComponent(checkpoint.resolvedDirectory)
        }
        var notes: [String] = []
        if st.globalStep > 0 || st.epoch > 0 {
            notes.append(st.step == 0 ? "end of epoch \(st.epoch)" : "epoch \(st.epoch + 1), step \(st.step)")
        }
        if let best = st.validation.best, let epoch = st.validation.bestEpoch, let options = try? Trainer.savedOptions(checkpoint) {
            let metric = options.validationMetric
            let shown = metric == .bleu || metric == .perplexity ? best : 100 * best
            notes.append(String(format: "best valid %@ %.2f at epoch %d", metric.rawValue, shown, epoch))
        }
        return notes.isEmpty ? s : s + " (" + notes.joined(separator: "; ") + ")"
    }

    /// Checks what `ModelConfig.validate` does not: the length limits and locale, and that the
    /// network `config` describes could fit in the `storedValues` floats of `model.safetensors`
    /// (a dimension edited to a huge value must be an error, not an allocation failure).
    /// The bound counts only tensors every model has: the source and target embeddings
    /// (V·E each), the output layer (V_t·H) and the decoder's recurrent weights (4H·H).
    static func checkLimits(_ config: RunConfig, configPath: String, storedValues: Int) throws {
        let limit = RunConfig.lengthLimit
        if !(1...limit).contains(config.maxSourceLength) || !(1...limit).contains(config.maxTargetLength) {
            throw StorageError(configPath, "maxSourceLength and maxTargetLength must be between 1 and \(limit), got \(config.maxSourceLength) and \(config.maxTargetLength)")
        }
        if !WordTokenizer.isWellFormedLocale(config.tokenizer.locale) {
            throw StorageError(configPath, "tokenizer.locale \"\(config.tokenizer.locale)\" is not a locale identifier")
        }
        let m = config.model
        var total = 0, overflow = false
        for (a, b) in [(m.sourceVocabSize, m.embeddingSize), (m.targetVocabSize, m.embeddingSize),
                       (m.targetVocabSize, m.hiddenSize), (4 * min(m.hiddenSize, Int.max / 4), m.hiddenSize)] {
            let (p, o1) = a.multipliedReportingOverflow(by: b)
            let (s, o2) = total.addingReportingOverflow(p)
            overflow = overflow || o1 || o2
            total = s
        }
        if overflow || total > storedValues {
            throw StorageError(configPath, "describes a model of at least \(overflow ? "Int.max" : String(total)) parameters but \(Checkpoint.modelFile) holds \(storedValues) values: the configuration does not match the weights")
        }
    }

    /// Tokenizes and encodes source lines as the model was trained: truncated to
    /// `maxSourceLength` tokens (pieces, for a subword model), unknown tokens mapped to `<unk>`.
    /// - Returns: ids and the token strings (for `--replace-unk`; a subword model's pieces).
    public func encodeSources(_ lines: [String]) throws -> [(ids: [Int32], tokens: [String])] {
        let tok = try config.tokenizer.makeTokenizer()
        let limit = config.maxSourceLength
        // Only the first `limit` words are kept as strings: a huge line costs its own size once
        // (normalized and segmented), not a String per token. A word has at least one piece, so
        // for a subword model the first `limit` words hold the first `limit` pieces.
        func firstWords(_ line: String) -> [String] {
            var words: [String] = []
            var l = line
            l.withUTF8 { bytes in
                tok.forEachToken(utf8: bytes) { token, _ in
                    if words.count < limit { words.append(String(decoding: token, as: UTF8.self)) }
                }
            }
            return words
        }
        if let subword {
            return lines.map { line in
                let ids = Array(subword.source.ids(words: firstWords(line)).prefix(limit))
                return (ids, sourceVocabulary.decode(ids))
            }
        }
        return lines.map { line in
            let words = firstWords(line)
            return (sourceVocabulary.encode(words), words)
        }
    }
}

extension TrainedModel {
    /// Writes a checkpoint directory for `model` (atomically; see ``Checkpoint/save(to:parameters:optimizer:config:sourceVocabulary:targetVocabulary:state:)``).
    /// Without an optimizer or trainer state it writes an inference-only checkpoint (an empty
    /// optimizer file and a fresh state), which is what tests and exports need.
    public static func save(to directory: String, model: EncoderDecoder, config: RunConfig,
                            sourceVocabulary: Vocabulary, targetVocabulary: Vocabulary,
                            optimizer: Optimizer? = nil, state: TrainerState? = nil,
                            auxiliary: [(prefix: String, store: ParameterStore)] = [],
                            auxiliaryMetadata: [String: String] = [:], subword: SubwordModels? = nil) throws {
        precondition(config.model == model.config, "The run configuration must describe the model")
        try Checkpoint.save(
            to: directory, parameters: model.params, optimizer: optimizer, config: config,
            sourceVocabulary: Array(sourceVocabulary.fileContents.utf8),
            targetVocabulary: Array(targetVocabulary.fileContents.utf8),
            state: state ?? TrainerState(learningRate: 0, validation: ValidationTracker(higherIsBetter: true)),
            auxiliary: auxiliary, auxiliaryMetadata: auxiliaryMetadata,
            subwordModels: subword.map { ($0.source.serialized, $0.target.serialized) })
    }
}
