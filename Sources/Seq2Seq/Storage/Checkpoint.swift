import Foundation

/// Where a training run stands: everything besides weights, optimizer tensors, config and
/// vocabularies that a resumed run needs to continue exactly. Saved as `trainer-state.json`,
/// whose own SHA-256 is in `trainer-state.sha256` (`sha256sum -c` format).
///
/// Every field is range-checked when a checkpoint is opened (``validate(file:)``), so an
/// edited or corrupted state is an error naming the field, never a crash.
public struct TrainerState: Codable, Equatable, Sendable {
    /// Format version of this file: 2 (1: no `trainer-state.sha256`, no log offsets).
    public var formatVersion = TrainerState.currentFormat
    public static let currentFormat = 2
    /// The epoch in progress (0-based) — or, at an epoch boundary, the next epoch.
    public var epoch = 0
    /// The index, within `epoch`'s batch order, of the next batch to train on.
    public var step = 0
    /// Updates applied since the run began (skipped updates not counted).
    public var globalStep = 0
    /// The current learning rate.
    public var learningRate: Double
    /// Best validation metric and the early-stopping counter.
    public var validation: ValidationTracker
    /// Skipped updates and the recent range of losses and gradient norms.
    public var divergence: DivergenceGuard
    /// Every random stream's state by purpose ("dropout", "sampling", ...).
    public var randomStates: [String: UInt64]
    /// The run's ``TrainerOptions`` as saved, a JSON tree decoded only by a resume
    /// (`Trainer.savedOptions`): a checkpoint whose options this build cannot read (an option
    /// added since) still decodes and evaluates.
    public var options: JSONValue?
    /// The partial epoch's sums, so that a resumed epoch's record covers the whole epoch.
    var epochAccumulator: EpochAccumulator?
    /// The data files the run read and their SHA-256, for `--resume` (`train_source`,
    /// `train_source_sha256`, `train_source_not_regular`, ..., `replace_invalid`).
    public var dataFingerprint: [String: String]?
    /// The command-line arguments after `train`, which `--resume` compares its flags with.
    public var arguments: [String]?
    /// SHA-256 (hex) of each other file in the checkpoint, by file name; filled by `save`.
    public var checksums: [String: String] = [:]
    /// The length of `log.jsonl` covered by this checkpoint: a resumed run cuts the log back
    /// to it, so that records of work redone after the checkpoint are not written twice.
    public var logBytes: Int? = nil
    /// Log records that belong to this checkpoint but are appended only after it is in place
    /// (an epoch's record, so that the log never reports a best epoch that `best/` does not
    /// hold yet); a resume appends them again when the log stops short of them.
    public var pendingLog: [String] = []
    /// Why the run ended, once it has (epochs done, patience, learning-rate floor); nil while
    /// it can go on.
    public var finished: String? = nil

    public init(learningRate: Double, validation: ValidationTracker, divergence: DivergenceGuard = .init(),
                randomStates: [String: UInt64] = [:]) {
        self.learningRate = learningRate
        self.validation = validation
        self.divergence = divergence
        self.randomStates = randomStates
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion, epoch, step, globalStep, learningRate, validation, divergence, randomStates, extra
        case checksums, logBytes, pendingLog, finished
    }

    /// The keys of the `extra` object, where the run's options, partial-epoch sums, data
    /// fingerprint and arguments are stored (the layout of format 2, as 0.2.0 wrote it; other
    /// keys there are ignored).
    enum ExtraKeys: String, CodingKey {
        case options, epochAccumulator = "epoch_accumulator", dataFingerprint = "data", arguments
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        epoch = try c.decode(Int.self, forKey: .epoch)
        step = try c.decode(Int.self, forKey: .step)
        globalStep = try c.decode(Int.self, forKey: .globalStep)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        validation = try c.decode(ValidationTracker.self, forKey: .validation)
        divergence = try c.decode(DivergenceGuard.self, forKey: .divergence)
        randomStates = try c.decode([String: UInt64].self, forKey: .randomStates)
        let extra = try c.nestedContainer(keyedBy: ExtraKeys.self, forKey: .extra)
        options = try extra.decodeIfPresent(JSONValue.self, forKey: .options)
        epochAccumulator = try extra.decodeIfPresent(EpochAccumulator.self, forKey: .epochAccumulator)
        dataFingerprint = try extra.decodeIfPresent([String: String].self, forKey: .dataFingerprint)
        arguments = try extra.decodeIfPresent([String].self, forKey: .arguments)
        checksums = try c.decodeIfPresent([String: String].self, forKey: .checksums) ?? [:]
        logBytes = try c.decodeIfPresent(Int.self, forKey: .logBytes)
        pendingLog = try c.decodeIfPresent([String].self, forKey: .pendingLog) ?? []
        finished = try c.decodeIfPresent(String.self, forKey: .finished)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(step, forKey: .step)
        try c.encode(globalStep, forKey: .globalStep)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(validation, forKey: .validation)
        try c.encode(divergence, forKey: .divergence)
        try c.encode(randomStates, forKey: .randomStates)
        var extra = c.nestedContainer(keyedBy: ExtraKeys.self, forKey: .extra)
        try extra.encodeIfPresent(options, forKey: .options)
        try extra.encodeIfPresent(epochAccumulator, forKey: .epochAccumulator)
        try extra.encodeIfPresent(dataFingerprint, forKey: .dataFingerprint)
        try extra.encodeIfPresent(arguments, forKey: .arguments)
        try c.encode(checksums, forKey: .checksums)
        try c.encodeIfPresent(logBytes, forKey: .logBytes)
        try c.encode(pendingLog, forKey: .pendingLog)
        try c.encodeIfPresent(finished, forKey: .finished)
    }

    /// The largest epoch count a run may have (an epoch of 2^63 − 1 must be an error, not an
    /// overflow trap).
    public static let epochLimit = 1_000_000

    /// Checks every field's range.
    /// - Throws: ``StorageError`` naming `file` and the field.
    public func validate(file: String) throws {
        func fail(_ s: String) -> StorageError { StorageError(file, s) }
        guard (1...Self.currentFormat).contains(formatVersion) else {
            throw fail("formatVersion \(formatVersion) is not one this mixer reads (1 to \(Self.currentFormat))")
        }
        guard (0...Self.epochLimit).contains(epoch) else { throw fail("epoch \(epoch) is out of range (0 to \(Self.epochLimit))") }
        guard step >= 0 else { throw fail("step \(step) is negative") }
        guard globalStep >= 0 else { throw fail("globalStep \(globalStep) is negative") }
        guard learningRate.isFinite && learningRate >= 0 else { throw fail("learningRate \(learningRate) must be finite and not negative") }
        if let b = validation.best, !b.isFinite { throw fail("validation.best \(b) is not finite") }
        if let e = validation.bestEpoch, !(1...max(1, epoch)).contains(e) {
            throw fail("validation.bestEpoch \(e) is outside the epochs done (1 to \(epoch))")
        }
        guard (validation.best == nil) == (validation.bestEpoch == nil) else {
            throw fail("validation.best and validation.bestEpoch must be given together")
        }
        guard (0...max(0, epoch)).contains(validation.epochsWithoutImprovement) else {
            throw fail("validation.epochsWithoutImprovement \(validation.epochsWithoutImprovement) is out of range (0 to \(epoch))")
        }
        try divergence.validate(file: file)
        if let logBytes, logBytes < 0 { throw fail("logBytes \(logBytes) is negative") }
    }
}

/// A checkpoint directory, validated on open.
///
/// Files: `model.safetensors` (every parameter by name), `optimizer.safetensors`
/// (`m.NAME`/`v.NAME` for Adam; only metadata for SGD), `config.json` (the model's Codable
/// configuration), `source.vocab`, `target.vocab`, `trainer-state.json`, which carries the
/// SHA-256 of each other file, and `trainer-state.sha256`, the SHA-256 of the state itself
/// (`sha256sum -c trainer-state.sha256` checks it).
///
/// In a run directory, checkpoints are written once and never changed (``RunStore``);
/// `last` and `best` are symbolic links that switch to a new checkpoint in one rename. A
/// standalone directory written by ``save(to:parameters:optimizer:config:sourceVocabulary:targetVocabulary:state:auxiliary:auxiliaryMetadata:)``
/// is replaced by renames (`DIR` → `DIR.old`, `DIR.tmp-PID` → `DIR`, delete `DIR.old`).
///
/// Opening never writes: ``open(_:)`` reads the files of the checkpoint the path resolves to
/// at that moment, checks every checksum, so a truncated or altered file is an error naming
/// it, and range-checks the trainer state; `loadParameters`/`loadOptimizer` check names,
/// shapes and finiteness.
public struct Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
    public static let configFile = "config.json"
    public static let sourceVocabularyFile = "source.vocab"
    public static let targetVocabularyFile = "target.vocab"
    public static let stateFile = "trainer-state.json"
    /// The files covered by the checksums in `trainer-state.json`.
    public static let checksummedFiles = [modelFile, optimizerFile, configFile, sourceVocabularyFile, targetVocabularyFile]
    /// Optional: tensors that are not the model's (MIXER's baseline regressors and their
    /// optimizer state). Checksummed like the others when present.
    public static let auxiliaryFile = "auxiliary.safetensors"
    /// Optional: the SentencePiece models of a subword model (``RunConfig/subword``), as
    /// ordinary `.model` files (the same bytes in both for a joint model). Checksummed like the
    /// others when present; both or neither.
    public static let sourceSubwordFile = "source.model"
    public static let targetSubwordFile = "target.model"

    /// The checkpoint directory that was opened, as given (e.g. `RUN/last`).
    public let directory: String
    /// The directory it resolved to when opened (in a run: `RUN/checkpoints/snap-N`).
    public let resolvedDirectory: String
    /// The trainer state it holds.
    public let state: TrainerState
    private let model: SafeTensorsFile
    private let optimizerState: SafeTensorsFile
    private let configBytes: [UInt8]

    /// The path of the source vocabulary file (in the directory the checkpoint resolved to).
    public var sourceVocabularyPath: String { resolvedDirectory + "/" + Self.sourceVocabularyFile }
    /// The path of the target vocabulary file (in the directory the checkpoint resolved to).
    public var targetVocabularyPath: String { resolvedDirectory + "/" + Self.targetVocabularyFile }

    // MARK: - Saving

    /// The file holding the SHA-256 of `trainer-state.json`.
    public static let stateChecksumFile = "trainer-state.sha256"

    /// Writes a checkpoint at `directory` atomically, replacing one that is there.
    ///
    /// - Parameters:
    ///   - parameters: the model's weights, saved by name in `model.safetensors`.
    ///   - optimizer: its tensors and metadata go to `optimizer.safetensors`; nil writes a file
    ///     with no tensors (a weights-only checkpoint, which cannot be resumed).
    ///   - config: the model configuration, saved as `config.json`.
    ///   - sourceVocabulary, targetVocabulary: the vocabulary files' bytes.
    ///   - state: the trainer state; its `checksums` are filled in here.
    /// - Throws: ``StorageError`` when a weight or moment is non-finite (naming the tensor
    ///   and element; nothing is written) or the file system fails.
    /// - Complexity: O(parameters) time and one serialised copy of the weights in memory.
    public static func save<Config: Encodable>(
        to directory: String, parameters: ParameterStore, optimizer: Optimizer?, config: Config,
        sourceVocabulary: [UInt8], targetVocabulary: [UInt8], state: TrainerState,
        auxiliary: [(prefix: String, store: ParameterStore)] = [], auxiliaryMetadata: [String: String] = [:],
        subwordModels: (source: [UInt8], target: [UInt8])? = nil
    ) throws {
        try save(to: directory, parameters: parameters, optimizer: optimizer, config: config,
                 sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary, state: state,
                 auxiliary: auxiliary, auxiliaryMetadata: auxiliaryMetadata, subwordModels: subwordModels,
                 interruptAfterStage: nil)
    }

    /// The bytes of every file of a checkpoint, by name (see the type's documentation).
    /// - Throws: ``StorageError`` naming `directory` when a weight or moment is non-finite.
    static func files<Config: Encodable>(
        for directory: String, parameters: ParameterStore, optimizer: Optimizer?, config: Config,
        sourceVocabulary: [UInt8], targetVocabulary: [UInt8], state: TrainerState,
        auxiliary: [(prefix: String, store: ParameterStore)], auxiliaryMetadata: [String: String],
        subwordModels: (source: [UInt8], target: [UInt8])? = nil
    ) throws -> [(name: String, bytes: [UInt8])] {
        for (prefix, store) in auxiliary {
            if let bad = GradientClipping.firstNonFinite(store) {
                throw StorageError(directory, "refusing to save: \"\(prefix)\(bad.name)\" has a non-finite value at element \(bad.index)")
            }
        }
        if let bad = GradientClipping.firstNonFinite(parameters) {
            throw StorageError(directory, "refusing to save: parameter \"\(bad.name)\" has a non-finite value at element \(bad.index)")
        }
        for (prefix, store) in optimizer?.stateStores ?? [] {
            if let bad = GradientClipping.firstNonFinite(store) {
                throw StorageError(directory, "refusing to save: optimizer state \"\(prefix)\(bad.name)\" has a non-finite value at element \(bad.index)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configBytes: [UInt8]
        do { configBytes = Array(try encoder.encode(config)) } catch {
            throw StorageError(directory + "/" + configFile, "cannot encode the configuration: \(error)")
        }
        var files: [(name: String, bytes: [UInt8])] = [
            (modelFile, SafeTensorsFile.encode(stores: [("", parameters)], metadata: ["format": "mixer"])),
            (optimizerFile, SafeTensorsFile.encode(stores: optimizer?.stateStores ?? [],
                                                   metadata: optimizer?.stateMetadata ?? ["optimizer": "none"])),
            (configFile, configBytes),
            (sourceVocabularyFile, sourceVocabulary),
            (targetVocabularyFile, targetVocabulary),
        ]
        if !auxiliary.isEmpty {
            files.append((auxiliaryFile, SafeTensorsFile.encode(stores: auxiliary, metadata: auxiliaryMetadata)))
        }
        if let subwordModels {
            files.append((sourceSubwordFile, subwordModels.source))
            files.append((targetSubwordFile, subwordModels.target))
        }
        var state = state
        state.formatVersion = TrainerState.currentFormat
        state.checksums = [:]
        for (name, bytes) in files { state.checksums[name] = SHA256.hex(bytes) }
        let stateBytes: [UInt8]
        do { stateBytes = Array(try encoder.encode(state)) } catch {
            throw StorageError(directory + "/" + stateFile, "cannot encode the trainer state: \(error)")
        }
        files.append((stateFile, stateBytes))
        files.append((stateChecksumFile, Array("\(SHA256.hex(stateBytes))  \(stateFile)\n".utf8)))
        return files
    }

    /// Creates `directory` (which must not exist) holding `files`, each written and fsynced,
    /// and fsyncs the directory.
    static func writeDirectory(_ directory: String, _ files: [(name: String, bytes: [UInt8])],
                               afterEachFile: () throws -> Void = {}) throws {
        try FileIO.makeDirectory(directory)
        for (name, bytes) in files {
            try FileIO.writeDurably(directory + "/" + name, bytes)
            try afterEachFile()
        }
        FileIO.syncDirectory(directory)
    }

    /// `save`, stopping abruptly after stage k (1-8: each file written to the temporary
    /// directory; 9: old checkpoint moved aside; 10: new one renamed in) when
    /// `interruptAfterStage` is k, leaving the disk as a crash at that moment would.
    static func save<Config: Encodable>(
        to directory: String, parameters: ParameterStore, optimizer: Optimizer?, config: Config,
        sourceVocabulary: [UInt8], targetVocabulary: [UInt8], state: TrainerState,
        auxiliary: [(prefix: String, store: ParameterStore)] = [], auxiliaryMetadata: [String: String] = [:],
        subwordModels: (source: [UInt8], target: [UInt8])? = nil, interruptAfterStage: Int?
    ) throws {
        let files = try files(for: directory, parameters: parameters, optimizer: optimizer, config: config,
                              sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary, state: state,
                              auxiliary: auxiliary, auxiliaryMetadata: auxiliaryMetadata, subwordModels: subwordModels)
        let parent = FileIO.parentDirectory(directory)
        try FileIO.makeDirectories(parent)
        try recover(directory)
        removeStaleTemporaries(directory)
        let temporary = directory + ".tmp-\(getpid())"
        try FileIO.removeTree(temporary)
        var stage = 0
        func reached() throws {
            stage += 1
            if stage == interruptAfterStage { throw SimulatedCrash() }
        }
        try writeDirectory(temporary, files, afterEachFile: reached)
        let old = directory + ".old"
        if FileIO.entryExists(directory) {
            try FileIO.moveItem(directory, old)
            FileIO.syncDirectory(parent)
            try reached()
        }
        try FileIO.moveItem(temporary, directory)
        FileIO.syncDirectory(parent)
        try reached()
        try FileIO.removeTree(old)
    }

    /// Thrown by `save` at the stage named by `interruptAfterStage` (tests: a crash there).
    struct SimulatedCrash: Error {}

    /// Restores a standalone checkpoint after a crash during `save` (run by the next `save`,
    /// never by a reader): if `directory` is missing but `directory.old` exists, the old
    /// checkpoint is renamed back; if both exist, the new one was complete and `.old` is
    /// deleted.
    /// - Throws: ``StorageError`` when a rename or removal fails.
    static func recover(_ directory: String) throws {
        let old = directory + ".old"
        guard FileIO.entryExists(old) else { return }
        if FileIO.entryExists(directory) {
            try FileIO.removeTree(old)
        } else {
            try FileIO.moveItem(old, directory)
            FileIO.syncDirectory(FileIO.parentDirectory(directory))
        }
    }

    /// Removes `directory.tmp-PID` siblings left by processes that no longer run.
    static func removeStaleTemporaries(_ directory: String) {
        let parent = FileIO.parentDirectory(directory)
        let prefix = FileIO.lastComponent(directory) + ".tmp-"
        for name in FileIO.list(parent) where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                try? FileIO.removeTree(parent + "/" + name)
            }
        }
    }

    // MARK: - Loading

    /// Opens the checkpoint at `directory` without writing anything: resolves it (a run's
    /// `last`/`best` are symbolic links to immutable checkpoints), reads `trainer-state.json`
    /// and checks it against `trainer-state.sha256` and its ranges, checks that every other
    /// file is present with its recorded SHA-256, and validates both safetensors files'
    /// structure. When a trainer switches the link while this reads and removes the old
    /// checkpoint, the read starts over on the new one (up to 5 times).
    /// - Throws: ``StorageError`` naming the directory or the file and what is wrong
    ///   (missing, bad JSON, checksum mismatch, a value out of range, malformed safetensors).
    /// - Complexity: O(total size of the files).
    public static func open(_ directory: String) throws -> Checkpoint {
        var attempt = 0
        while true {
            guard let resolved = FileIO.resolve(directory) else {
                if FileIO.isSymbolicLink(directory) {
                    throw StorageError(directory, "no checkpoint here yet (the run has not saved one)")
                }
                let old = directory + ".old"
                if FileIO.isDirectory(old) {
                    throw StorageError(directory, "missing: a save was interrupted; the previous checkpoint is in \(old) (the next save restores it)")
                }
                throw StorageError(directory, "no checkpoint here (directory missing)")
            }
            do {
                return try open(resolved: resolved, name: directory)
            } catch let e as StorageError where attempt < 5 && FileIO.resolve(directory) != resolved {
                _ = e  // the link moved on while this read: read the new checkpoint
                attempt += 1
            }
        }
    }

    private static func open(resolved: String, name directory: String) throws -> Checkpoint {
        guard FileIO.isDirectory(resolved) else {
            throw StorageError(directory, "is not a checkpoint directory")
        }
        let statePath = directory + "/" + stateFile
        let stateBytes = try FileIO.readAll(resolved + "/" + stateFile)
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: Data(stateBytes)) } catch {
            throw StorageError(statePath, "not a valid trainer state: \(describe(error))")
        }
        if state.formatVersion >= 2 {
            let sumPath = directory + "/" + stateChecksumFile
            let sumBytes = try FileIO.readAll(resolved + "/" + stateChecksumFile)
            let recorded = String(decoding: sumBytes.prefix(64), as: UTF8.self)
            let actual = SHA256.hex(stateBytes)
            guard recorded == actual else {
                throw StorageError(statePath, "checksum mismatch: the file was truncated or altered (SHA-256 \(actual), \(FileIO.lastComponent(sumPath)) records \(recorded))")
            }
        }
        try state.validate(file: statePath)
        var contents: [String: [UInt8]] = [:]
        let optional = [auxiliaryFile, sourceSubwordFile, targetSubwordFile].filter { state.checksums[$0] != nil }
        if (state.checksums[sourceSubwordFile] == nil) != (state.checksums[targetSubwordFile] == nil) {
            throw StorageError(statePath, "has a checksum for one of \(sourceSubwordFile) and \(targetSubwordFile) but not the other (a subword checkpoint holds both)")
        }
        for name in checksummedFiles + optional {
            let path = directory + "/" + name
            guard let expected = state.checksums[name] else {
                throw StorageError(statePath, "has no checksum for \(name)")
            }
            let bytes: [UInt8]
            do { bytes = try FileIO.readAll(resolved + "/" + name) } catch let e as StorageError {
                throw StorageError(path, e.reason)
            }
            let actual = SHA256.hex(bytes)
            guard actual == expected else {
                throw StorageError(path, "checksum mismatch: the file was truncated or altered (SHA-256 \(actual), trainer-state.json records \(expected))")
            }
            contents[name] = bytes
        }
        return Checkpoint(
            directory: directory, resolvedDirectory: resolved, state: state,
            model: try SafeTensorsFile(bytes: contents[modelFile]!, path: directory + "/" + modelFile),
            optimizerState: try SafeTensorsFile(bytes: contents[optimizerFile]!, path: directory + "/" + optimizerFile),
            configBytes: contents[configFile]!,
            auxiliary: try contents[auxiliaryFile].map { try SafeTensorsFile(bytes: $0, path: directory + "/" + auxiliaryFile) },
            subwordModelBytes: contents[sourceSubwordFile].flatMap { s in contents[targetSubwordFile].map { (s, $0) } })
    }

    private init(directory: String, resolvedDirectory: String, state: TrainerState, model: SafeTensorsFile,
                 optimizerState: SafeTensorsFile, configBytes: [UInt8], auxiliary: SafeTensorsFile?,
                 subwordModelBytes: (source: [UInt8], target: [UInt8])?) {
        self.auxiliary = auxiliary
        self.subwordModelBytes = subwordModelBytes
        self.directory = directory
        self.resolvedDirectory = resolvedDirectory
        self.state = state
        self.model = model
        self.optimizerState = optimizerState
        self.configBytes = configBytes
    }

    /// Decodes `config.json` as `type`.
    /// - Throws: ``StorageError`` naming config.json and the decoder's complaint (bad JSON,
    ///   a missing key, a wrong type).
    public func config<Config: Decodable>(_ type: Config.Type) throws -> Config {
        do { return try JSONDecoder().decode(type, from: Data(configBytes)) } catch {
            throw StorageError(directory + "/" + Self.configFile, "not a valid model configuration: \(Self.describe(error))")
        }
    }

    /// Copies the weights into `parameters` after checking that `model.safetensors` holds
    /// exactly its tensors, with its shapes, all finite.
    /// - Throws: ``StorageError`` naming each missing or unexpected tensor and each wrong
    ///   shape (found vs expected); `parameters` is untouched on error.
    public func loadParameters(into parameters: ParameterStore) throws {
        try model.load(into: [("", parameters)])
    }

    /// Restores `optimizer`'s tensors and scalars.
    /// - Throws: ``StorageError`` when the file holds another optimizer's state or its
    ///   tensors do not match the optimizer's layout.
    public func loadOptimizer(into optimizer: Optimizer) throws {
        try Self.restore(optimizer, from: optimizerState)
    }

    /// The auxiliary tensors' file, when the checkpoint has one.
    public let auxiliary: SafeTensorsFile?

    /// The bytes of `source.model` and `target.model` (checksums verified), when the
    /// checkpoint holds a subword model's SentencePiece models.
    public let subwordModelBytes: (source: [UInt8], target: [UInt8])?

    /// Copies the auxiliary tensors into `stores` (all-or-nothing, names and shapes checked).
    /// - Throws: ``StorageError`` when the checkpoint has no auxiliary file or it does not
    ///   match `stores`.
    public func loadAuxiliary(into stores: [(prefix: String, store: ParameterStore)]) throws {
        guard let auxiliary else {
            throw StorageError(directory + "/" + Self.auxiliaryFile, "missing: this checkpoint has no auxiliary tensors (was it written by another objective?)")
        }
        try auxiliary.load(into: stores)
    }

    static func restore(_ optimizer: Optimizer, from optimizerState: SafeTensorsFile) throws {
        let saved = optimizerState.metadata["optimizer"] ?? "unknown"
        guard saved == optimizer.kind else {
            throw StorageError(optimizerState.path, "holds \(saved) state but the run uses \(optimizer.kind)")
        }
        try optimizerState.load(into: optimizer.stateStores)
        try optimizer.restoreMetadata(optimizerState.metadata, file: optimizerState.path)
    }

    /// The model's tensors as stored (name, shape), in data order.
    public var modelTensors: [SafeTensorInfo] { model.tensors }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c):
            return c.codingPath.isEmpty ? "malformed JSON" : "bad value at \(path(c.codingPath)): \(c.debugDescription)"
        case DecodingError.keyNotFound(let k, let c):
            return "missing key \"\(path(c.codingPath + [k]))\""
        case DecodingError.typeMismatch(let t, let c):
            return "\(path(c.codingPath)) should be of type \(t)"
        case DecodingError.valueNotFound(let t, let c):
            return "\(path(c.codingPath)) is null, expected \(t)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

