import Foundation

/// Where a training run stands: everything besides weights, optimizer tensors, config and
/// vocabularies that a resumed run needs to continue exactly. Saved as `trainer-state.json`.
public struct TrainerState: Codable, Equatable, Sendable {
    /// Format version of this file (1).
    public var formatVersion = 1
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
    /// Non-finite updates skipped, in a row and in total.
    public var divergence: DivergenceGuard
    /// Every random stream's state by purpose ("dropout", "sampling", ...).
    public var randomStates: [String: UInt64]
    /// Open fields for other stages (MIXER's stage, s, ...); numbers are stored exactly.
    public var extra: [String: JSONValue]
    /// SHA-256 (hex) of each other file in the checkpoint, by file name; filled by `save`.
    public var checksums: [String: String] = [:]

    public init(learningRate: Double, validation: ValidationTracker, divergence: DivergenceGuard = .init(),
                randomStates: [String: UInt64] = [:], extra: [String: JSONValue] = [:]) {
        self.learningRate = learningRate
        self.validation = validation
        self.divergence = divergence
        self.randomStates = randomStates
        self.extra = extra
    }
}

/// A checkpoint directory, validated on open.
///
/// Files: `model.safetensors` (every parameter by name), `optimizer.safetensors`
/// (`m.NAME`/`v.NAME` for Adam; only metadata for SGD), `config.json` (the model's Codable
/// configuration), `source.vocab`, `target.vocab`, and `trainer-state.json`, which carries the
/// SHA-256 of each other file. A run directory holds `last/` and `best/` and `log.jsonl`.
///
/// `save` writes into `DIR.tmp-PID`, fsyncs every file and the directory, then swaps it in
/// with renames (`DIR` → `DIR.old`, `DIR.tmp-PID` → `DIR`, delete `DIR.old`), so a crash at
/// any moment leaves either the old or the new checkpoint whole; `open` recovers `DIR.old`
/// when only it exists. `open` checks every checksum, so a truncated or altered file is an
/// error naming it; `loadParameters`/`loadOptimizer` check names, shapes and finiteness.
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

    /// The checkpoint directory that was opened.
    public let directory: String
    /// The trainer state it holds.
    public let state: TrainerState
    private let model: SafeTensorsFile
    private let optimizerState: SafeTensorsFile
    private let configBytes: [UInt8]

    /// The path of the source vocabulary file.
    public var sourceVocabularyPath: String { directory + "/" + Self.sourceVocabularyFile }
    /// The path of the target vocabulary file.
    public var targetVocabularyPath: String { directory + "/" + Self.targetVocabularyFile }

    // MARK: - Saving

    /// Writes a checkpoint at `directory` atomically, replacing one that is there.
    ///
    /// - Parameters:
    ///   - parameters: the model's weights, saved by name in `model.safetensors`.
    ///   - optimizer: its tensors and metadata go to `optimizer.safetensors`; nil writes a file
    ///     with no tensors (a weights-only checkpoint, which cannot be resumed).
    ///   - config: the model configuration, saved as `config.json`.
    ///   - sourceVocabulary, targetVocabulary: the vocabulary files' bytes.
    ///   - state: the trainer state; its `checksums` are filled in here.
    /// - Throws: ``CheckpointError`` when a weight or moment is non-finite (naming the tensor
    ///   and element; nothing is written) or the file system fails.
    /// - Complexity: O(parameters) time and one serialised copy of the weights in memory.
    public static func save<Config: Encodable>(
        to directory: String, parameters: ParameterStore, optimizer: Optimizer?, config: Config,
        sourceVocabulary: [UInt8], targetVocabulary: [UInt8], state: TrainerState,
        auxiliary: [(prefix: String, store: ParameterStore)] = [], auxiliaryMetadata: [String: String] = [:]
    ) throws {
        try save(to: directory, parameters: parameters, optimizer: optimizer, config: config,
                 sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary, state: state,
                 auxiliary: auxiliary, auxiliaryMetadata: auxiliaryMetadata, interruptAfterStage: nil)
    }

    /// `save`, stopping abruptly after stage k (1-6: each file written to the temporary
    /// directory; 7: old checkpoint moved aside; 8: new one renamed in) when
    /// `interruptAfterStage` is k, leaving the disk as a crash at that moment would.
    static func save<Config: Encodable>(
        to directory: String, parameters: ParameterStore, optimizer: Optimizer?, config: Config,
        sourceVocabulary: [UInt8], targetVocabulary: [UInt8], state: TrainerState,
        auxiliary: [(prefix: String, store: ParameterStore)] = [], auxiliaryMetadata: [String: String] = [:],
        interruptAfterStage: Int?
    ) throws {
        for (prefix, store) in auxiliary {
            if let bad = GradientClipping.firstNonFinite(store) {
                throw CheckpointError(directory, "refusing to save: \"\(prefix)\(bad.name)\" has a non-finite value at element \(bad.index)")
            }
        }
        if let bad = GradientClipping.firstNonFinite(parameters) {
            throw CheckpointError(directory, "refusing to save: parameter \"\(bad.name)\" has a non-finite value at element \(bad.index)")
        }
        for (prefix, store) in optimizer?.stateStores ?? [] {
            if let bad = GradientClipping.firstNonFinite(store) {
                throw CheckpointError(directory, "refusing to save: optimizer state \"\(prefix)\(bad.name)\" has a non-finite value at element \(bad.index)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configBytes: [UInt8]
        do { configBytes = Array(try encoder.encode(config)) } catch {
            throw CheckpointError(directory + "/" + configFile, "cannot encode the configuration: \(error)")
        }
        var files: [(String, [UInt8])] = [
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
        var state = state
        state.checksums = [:]
        for (name, bytes) in files { state.checksums[name] = SHA256.hex(bytes) }
        do { files.append((stateFile, Array(try encoder.encode(state)))) } catch {
            throw CheckpointError(directory + "/" + stateFile, "cannot encode the trainer state: \(error)")
        }

        let parent = FileIO.parentDirectory(directory)
        try FileIO.makeDirectories(parent)
        try recover(directory)
        removeStaleTemporaries(directory)
        let temporary = directory + ".tmp-\(getpid())"
        try FileIO.removeTree(temporary)
        try FileIO.makeDirectory(temporary)
        var stage = 0
        func reached() throws {
            stage += 1
            if stage == interruptAfterStage { throw SimulatedCrash() }
        }
        for (name, bytes) in files {
            try FileIO.writeDurably(temporary + "/" + name, bytes)
            try reached()
        }
        FileIO.syncDirectory(temporary)
        let old = directory + ".old"
        if FileIO.exists(directory) {
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

    /// Restores a consistent state after a crash during `save`: if `directory` is missing but
    /// `directory.old` exists, the old checkpoint is renamed back; if both exist, the new one
    /// was complete and `.old` is deleted.
    /// - Throws: ``CheckpointError`` when a rename or removal fails.
    public static func recover(_ directory: String) throws {
        let old = directory + ".old"
        guard FileIO.exists(old) else { return }
        if FileIO.exists(directory) {
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

    /// Opens the checkpoint at `directory`: recovers an interrupted save, reads
    /// `trainer-state.json`, checks that every other file is present with its recorded SHA-256,
    /// and validates both safetensors files' structure.
    /// - Throws: ``CheckpointError`` naming the directory or the file and what is wrong
    ///   (missing, bad JSON, checksum mismatch, malformed safetensors).
    /// - Complexity: O(total size of the files).
    public static func open(_ directory: String) throws -> Checkpoint {
        try recover(directory)
        guard FileIO.isDirectory(directory) else {
            throw CheckpointError(directory, FileIO.exists(directory) ? "is not a checkpoint directory" : "no checkpoint here (directory missing)")
        }
        let statePath = directory + "/" + stateFile
        let stateBytes = try FileIO.readAll(statePath)
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: Data(stateBytes)) } catch {
            throw CheckpointError(statePath, "not a valid trainer state: \(describe(error))")
        }
        var contents: [String: [UInt8]] = [:]
        let auxiliaryPresent = state.checksums[auxiliaryFile] != nil
        for name in checksummedFiles + (auxiliaryPresent ? [auxiliaryFile] : []) {
            let path = directory + "/" + name
            let bytes = try FileIO.readAll(path)
            guard let expected = state.checksums[name] else {
                throw CheckpointError(statePath, "has no checksum for \(name)")
            }
            let actual = SHA256.hex(bytes)
            guard actual == expected else {
                throw CheckpointError(path, "checksum mismatch: the file was truncated or altered (SHA-256 \(actual), trainer-state.json records \(expected))")
            }
            contents[name] = bytes
        }
        return Checkpoint(
            directory: directory, state: state,
            model: try SafeTensorsFile(bytes: contents[modelFile]!, path: directory + "/" + modelFile),
            optimizerState: try SafeTensorsFile(bytes: contents[optimizerFile]!, path: directory + "/" + optimizerFile),
            configBytes: contents[configFile]!,
            auxiliary: try contents[auxiliaryFile].map { try SafeTensorsFile(bytes: $0, path: directory + "/" + auxiliaryFile) })
    }

    private init(directory: String, state: TrainerState, model: SafeTensorsFile, optimizerState: SafeTensorsFile,
                 configBytes: [UInt8], auxiliary: SafeTensorsFile?) {
        self.auxiliary = auxiliary
        self.directory = directory
        self.state = state
        self.model = model
        self.optimizerState = optimizerState
        self.configBytes = configBytes
    }

    /// Decodes `config.json` as `type`.
    /// - Throws: ``CheckpointError`` naming config.json and the decoder's complaint (bad JSON,
    ///   a missing key, a wrong type).
    public func config<Config: Decodable>(_ type: Config.Type) throws -> Config {
        do { return try JSONDecoder().decode(type, from: Data(configBytes)) } catch {
            throw CheckpointError(directory + "/" + Self.configFile, "not a valid model configuration: \(Self.describe(error))")
        }
    }

    /// Copies the weights into `parameters` after checking that `model.safetensors` holds
    /// exactly its tensors, with its shapes, all finite.
    /// - Throws: ``CheckpointError`` naming each missing or unexpected tensor and each wrong
    ///   shape (found vs expected); `parameters` is untouched on error.
    public func loadParameters(into parameters: ParameterStore) throws {
        try model.load(into: [("", parameters)])
    }

    /// Restores `optimizer`'s tensors and scalars.
    /// - Throws: ``CheckpointError`` when the file holds another optimizer's state or its
    ///   tensors do not match the optimizer's layout.
    public func loadOptimizer(into optimizer: Optimizer) throws {
        try Self.restore(optimizer, from: optimizerState)
    }

    /// The auxiliary tensors' file, when the checkpoint has one.
    public let auxiliary: SafeTensorsFile?

    /// Copies the auxiliary tensors into `stores` (all-or-nothing, names and shapes checked).
    /// - Throws: ``CheckpointError`` when the checkpoint has no auxiliary file or it does not
    ///   match `stores`.
    public func loadAuxiliary(into stores: [(prefix: String, store: ParameterStore)]) throws {
        guard let auxiliary else {
            throw CheckpointError(directory + "/" + Self.auxiliaryFile, "missing: this checkpoint has no auxiliary tensors (was it written by another objective?)")
        }
        try auxiliary.load(into: stores)
    }

    static func restore(_ optimizer: Optimizer, from optimizerState: SafeTensorsFile) throws {
        let saved = optimizerState.metadata["optimizer"] ?? "unknown"
        guard saved == optimizer.kind else {
            throw CheckpointError(optimizerState.path, "holds \(saved) state but the run uses \(optimizer.kind)")
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

/// The files of a training run directory: `last/`, `best/` and `log.jsonl`.
public struct RunDirectory: Sendable {
    /// The run directory (the `--output` of `train`).
    public var path: String
    public init(_ path: String) { self.path = path }
    /// The latest checkpoint, rewritten after each epoch (and on interruption).
    public var last: String { path + "/last" }
    /// The checkpoint with the best validation metric.
    public var best: String { path + "/best" }
    /// The JSON-lines training log.
    public var log: String { path + "/log.jsonl" }
}
