import Foundation

// The records of a run's `log.jsonl`, one `Codable` type per kind. Their `CodingKeys` are the
// only place the log's key names are spelled: the trainer writes through these types
// (`TrainingLog.append`), and `mixer-cli report` and the tests read through them
// (`TrainingLog.read`). See docs/run-directory.md for the keys, and docs/design.md for why.

/// The version of the log's layout that this build writes, recorded in the `start` and
/// `resume` records (`"log_format"`).
///
/// - 1 (mixer 0.2.0, no `log_format` key): step records count epochs from 0 and name their
///   throughput `tokens_per_second`, epoch records count from 1 and name it `tokens_per_s`;
///   step records carry `"kind":"progress"`.
/// - 2: every record counts epochs from 1 and names throughput `tokens_per_second`.
///
/// ``TrainingLog/read(_:)`` reads both, and returns format 2 values.
public let runLogFormat = 2

/// One record of `log.jsonl`, told apart by its `"event"` key.
public enum RunRecord: Equatable, Sendable {
    /// The first record of a run: its settings and data counts.
    case start(RunStartRecord)
    /// A `--resume` session began.
    case resume(RunResumeRecord)
    /// A progress report during an epoch (every `--report-every` steps).
    case step(StepRecord)
    /// A step whose loss or gradient was not finite, and was not applied.
    case skippedStep(SkippedStepRecord)
    /// The end of an epoch: its training and validation figures.
    case epoch(EpochRecord)
    /// Sample outputs of an epoch's validation.
    case samples(SamplesRecord)
    /// The end of a run or of a session.
    case end(EndRecord)
    /// A record of a kind this build does not know (a later version's); readers skip it.
    case other(event: String?)

    /// The `"event"` value of each kind.
    public var event: String? {
        switch self {
        case .start: "start"
        case .resume: "resume"
        case .step: "step"
        case .skippedStep: "skipped_step"
        case .epoch: "epoch"
        case .samples: "samples"
        case .end: "end"
        case .other(let e): e
        }
    }
}

extension RunRecord: Codable {
    enum EventKey: String, CodingKey { case event }

    public init(from decoder: Decoder) throws {
        let event = try decoder.container(keyedBy: EventKey.self).decodeIfPresent(String.self, forKey: .event)
        switch event {
        case "start": self = .start(try RunStartRecord(from: decoder))
        case "resume": self = .resume(try RunResumeRecord(from: decoder))
        case "step": self = .step(try StepRecord(from: decoder))
        case "skipped_step": self = .skippedStep(try SkippedStepRecord(from: decoder))
        case "epoch": self = .epoch(try EpochRecord(from: decoder))
        case "samples": self = .samples(try SamplesRecord(from: decoder))
        case "end": self = .end(try EndRecord(from: decoder))
        default: self = .other(event: event)
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .start(let r): try r.encode(to: encoder)
        case .resume(let r): try r.encode(to: encoder)
        case .step(let r): try r.encode(to: encoder)
        case .skippedStep(let r): try r.encode(to: encoder)
        case .epoch(let r): try r.encode(to: encoder)
        case .samples(let r): try r.encode(to: encoder)
        case .end(let r): try r.encode(to: encoder)
        case .other: break
        }
        var c = encoder.container(keyedBy: EventKey.self)
        try c.encodeIfPresent(event, forKey: .event)
    }

    /// The encoder of every log line: keys sorted, `/` unescaped, non-finite numbers as the
    /// strings `"NaN"`, `"Infinity"`, `"-Infinity"` (as JSON has no such numbers); numbers in
    /// their shortest round-trip form (`0.001`, `1e-05`; a whole `Double` as `5`).
    static func lineEncoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    /// The decoder of log lines (reads what ``lineEncoder()`` writes).
    static func lineDecoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }

    /// The record as one log line, without its newline. - Complexity: O(size of the record).
    public var line: String {
        // Encoding these types cannot fail: no key is written twice and non-finite numbers
        // have a string form.
        String(decoding: try! Self.lineEncoder().encode(self), as: UTF8.self)
    }
}

/// `"event":"start"`: the run's settings as saved (`config` is the checkpoint's `config.json`,
/// `options` the `TrainerOptions`), kept as JSON trees: the report shows them as flags without
/// knowing each version's option set.
public struct RunStartRecord: Codable, Equatable, Sendable {
    /// The layout of the records that follow (``runLogFormat``); nil in 0.2.0 logs (format 1).
    public var logFormat: Int?
    public var config: JSONValue?
    public var options: JSONValue?
    public var data: DataCounts?
    /// The matrix kernels in use (`PackedMatrix.kernelName`).
    public var kernels: String?
    /// The command-line arguments after `train` (empty for a trainer run from code).
    public var arguments: [String]?
    public var mixerVersion: String?
    /// What the trainer warned about at the start (`TrainerOptions.scheduleWarnings(steps:)`:
    /// a MIXER schedule that will not finish, say); nil when nothing.
    public var warnings: [String]?

    enum CodingKeys: String, CodingKey {
        case logFormat = "log_format", config, options, data, kernels, arguments, mixerVersion = "mixer_version", warnings
    }

    public init(logFormat: Int? = runLogFormat, config: JSONValue?, options: JSONValue?, data: DataCounts?,
                kernels: String?, arguments: [String]?, mixerVersion: String?, warnings: [String]? = nil) {
        self.warnings = warnings
        self.logFormat = logFormat
        self.config = config
        self.options = options
        self.data = data
        self.kernels = kernels
        self.arguments = arguments
        self.mixerVersion = mixerVersion
    }
}

/// The data counts of a start record.
public struct DataCounts: Codable, Equatable, Sendable {
    public var trainPairs: Int?
    public var validPairs: Int?
    public var sourceVocabulary: Int?
    public var targetVocabulary: Int?
    /// Sources and targets cut to the maximum lengths.
    public var truncatedSources: Int?
    public var truncatedTargets: Int?
    /// Pairs left out (an empty side).
    public var skippedPairs: Int?

    enum CodingKeys: String, CodingKey {
        case trainPairs = "train_pairs", validPairs = "valid_pairs", sourceVocabulary = "source_vocabulary"
        case targetVocabulary = "target_vocabulary", truncatedSources = "truncated_sources"
        case truncatedTargets = "truncated_targets", skippedPairs = "skipped_pairs"
    }

    public init(trainPairs: Int? = nil, validPairs: Int? = nil, sourceVocabulary: Int? = nil, targetVocabulary: Int? = nil,
                truncatedSources: Int? = nil, truncatedTargets: Int? = nil, skippedPairs: Int? = nil) {
        self.trainPairs = trainPairs
        self.validPairs = validPairs
        self.sourceVocabulary = sourceVocabulary
        self.targetVocabulary = targetVocabulary
        self.truncatedSources = truncatedSources
        self.truncatedTargets = truncatedTargets
        self.skippedPairs = skippedPairs
    }
}

/// `"event":"resume"`: a `--resume` session started from `last/`.
public struct RunResumeRecord: Codable, Equatable, Sendable {
    /// The layout of the records that follow; nil when written by 0.2.0 (format 1).
    public var logFormat: Int?
    /// Epochs completed when the session started (not the epoch under way).
    public var epoch: Int
    /// Steps done in the epoch under way.
    public var step: Int
    public var globalStep: Int

    enum CodingKeys: String, CodingKey {
        case logFormat = "log_format", epoch, step, globalStep = "global_step"
    }

    public init(logFormat: Int? = runLogFormat, epoch: Int, step: Int, globalStep: Int) {
        self.logFormat = logFormat
        self.epoch = epoch
        self.step = step
        self.globalStep = globalStep
    }
}

/// `"event":"step"`: a progress report (``ProgressReport``), every `--report-every` steps.
public struct StepRecord: Codable, Equatable, Sendable {
    /// The epoch under way, from 1 (0.2.0 logs counted from 0; ``TrainingLog/read(_:)`` adds 1).
    public var epoch: Int
    public var epochs: Int
    /// Batches done in this epoch, and in it.
    public var step: Int
    public var steps: Int
    public var globalStep: Int
    /// Target tokens per second of the training steps since the last report.
    public var tokensPerSecond: Double
    /// Mean XENT loss of the epoch so far.
    public var loss: Double
    public var learningRate: Double
    /// Seconds since the session started.
    public var elapsed: Double
    /// Estimated seconds left in the run and in the epoch.
    public var eta: Double?
    public var epochETA: Double?
    /// "xent", "mixer", "reinforce", "dad", "scst" or "risk" (the objective's stage name).
    public var stage: String
    /// Mean sequence reward of the epoch so far (pure REINFORCE epochs).
    public var reward: Double?

    enum CodingKeys: String, CodingKey {
        case epoch, epochs, step, steps, globalStep = "global_step", tokensPerSecond = "tokens_per_second", loss
        case learningRate = "lr", elapsed, eta, epochETA = "eta_epoch", stage, reward
    }

    /// The record of a progress report.
    public init(_ r: ProgressReport) {
        epoch = r.epoch
        epochs = r.epochs
        step = r.step
        steps = r.steps
        globalStep = r.globalStep
        tokensPerSecond = r.targetTokensPerSecond
        loss = r.loss
        learningRate = r.learningRate
        elapsed = r.elapsed
        eta = r.eta
        epochETA = r.epochETA
        stage = r.stage
        reward = r.reward
    }
}

/// `"event":"skipped_step"`: a step with a non-finite loss or gradient, not applied.
public struct SkippedStepRecord: Codable, Equatable, Sendable {
    public var globalStep: Int
    /// What was not finite.
    public var reason: String
    /// The learning rate after the skip (it is lowered).
    public var learningRate: Double

    enum CodingKeys: String, CodingKey { case globalStep = "global_step", reason, learningRate = "lr" }

    public init(globalStep: Int, reason: String, learningRate: Double) {
        self.globalStep = globalStep
        self.reason = reason
        self.learningRate = learningRate
    }
}

/// `"event":"epoch"`: the figures of one epoch. Only `epoch` is required: logs of earlier
/// versions lack some fields, and the validation scores a build cannot compute are absent.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// The epoch, from 1.
    public var epoch: Int
    /// "xent", "mixer", "reinforce", "dad", "scst" or "risk" (the objective's stage name).
    public var stage: String?
    /// MIXER's `s`: decoder steps trained with XENT before sampling starts.
    public var s: Int?
    /// The learning rate the epoch trained with.
    public var learningRate: Double?
    /// Mean XENT loss (nats per target token) of the epoch's steps.
    public var trainLoss: Double?
    /// Target tokens per second of the epoch's training steps.
    public var tokensPerSecond: Double?
    /// Steps done, and skipped (non-finite).
    public var steps: Int?
    public var skippedSteps: Int?
    /// REINFORCE: mean sequence reward, and mean and standard deviation of the advantage.
    public var meanReward: Double?
    public var advantageMean: Double?
    public var advantageStd: Double?
    /// MIXER: mean squared error of the learned baselines.
    public var baselineMSE: Double?
    /// Whether the epoch improved the validation metric (absent when it diverged).
    public var best: Bool?
    /// True when validation was not finite (the run stops, the epoch is not saved).
    public var diverged: Bool?
    /// The name of the validation metric (`--valid-metric`) and its value.
    public var metric: String?
    public var validMetric: Double?
    /// Validation loss (nats per token) and perplexity `exp(validLoss)`.
    public var validLoss: Double?
    public var validPerplexity: Double?
    /// Validation BLEU (0–100) and ROUGE F (0–1) of the greedy output.
    public var validBLEU: Double?
    public var validROUGE1: Double?
    public var validROUGE2: Double?
    public var validROUGEL: Double?
    public var validROUGELsum: Double?
    /// Degeneration of the greedy output (``DegenerationStats``).
    public var repeatedBigrams: Double?
    public var distinct1: Double?
    public var distinct2: Double?
    public var lengthRatio: Double?
    public var noEOS: Double?

    enum CodingKeys: String, CodingKey {
        case epoch, stage, s, learningRate = "lr", trainLoss = "train_loss", tokensPerSecond = "tokens_per_second"
        case steps, skippedSteps = "skipped_steps", meanReward = "mean_reward", advantageMean = "advantage_mean"
        case advantageStd = "advantage_std", baselineMSE = "baseline_mse", best, diverged, metric
        case validMetric = "valid_metric", validLoss = "valid_loss", validPerplexity = "valid_ppl", validBLEU = "valid_bleu"
        case validROUGE1 = "valid_rouge1", validROUGE2 = "valid_rouge2", validROUGEL = "valid_rougeL"
        case validROUGELsum = "valid_rougeLsum", repeatedBigrams = "repeated_bigrams", distinct1, distinct2
        case lengthRatio = "length_ratio", noEOS = "no_eos"
        /// Format 1's name of `tokensPerSecond` (read, never written).
        case legacyTokensPerSecond = "tokens_per_s"
    }

    public init(epoch: Int) { self.epoch = epoch }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        stage = try c.decodeIfPresent(String.self, forKey: .stage)
        s = try c.decodeIfPresent(Int.self, forKey: .s)
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate)
        trainLoss = try c.decodeIfPresent(Double.self, forKey: .trainLoss)
        tokensPerSecond = try c.decodeIfPresent(Double.self, forKey: .tokensPerSecond)
            ?? c.decodeIfPresent(Double.self, forKey: .legacyTokensPerSecond)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        skippedSteps = try c.decodeIfPresent(Int.self, forKey: .skippedSteps)
        meanReward = try c.decodeIfPresent(Double.self, forKey: .meanReward)
        advantageMean = try c.decodeIfPresent(Double.self, forKey: .advantageMean)
        advantageStd = try c.decodeIfPresent(Double.self, forKey: .advantageStd)
        baselineMSE = try c.decodeIfPresent(Double.self, forKey: .baselineMSE)
        best = try c.decodeIfPresent(Bool.self, forKey: .best)
        diverged = try c.decodeIfPresent(Bool.self, forKey: .diverged)
        metric = try c.decodeIfPresent(String.self, forKey: .metric)
        validMetric = try c.decodeIfPresent(Double.self, forKey: .validMetric)
        validLoss = try c.decodeIfPresent(Double.self, forKey: .validLoss)
        validPerplexity = try c.decodeIfPresent(Double.self, forKey: .validPerplexity)
        validBLEU = try c.decodeIfPresent(Double.self, forKey: .validBLEU)
        validROUGE1 = try c.decodeIfPresent(Double.self, forKey: .validROUGE1)
        validROUGE2 = try c.decodeIfPresent(Double.self, forKey: .validROUGE2)
        validROUGEL = try c.decodeIfPresent(Double.self, forKey: .validROUGEL)
        validROUGELsum = try c.decodeIfPresent(Double.self, forKey: .validROUGELsum)
        repeatedBigrams = try c.decodeIfPresent(Double.self, forKey: .repeatedBigrams)
        distinct1 = try c.decodeIfPresent(Double.self, forKey: .distinct1)
        distinct2 = try c.decodeIfPresent(Double.self, forKey: .distinct2)
        lengthRatio = try c.decodeIfPresent(Double.self, forKey: .lengthRatio)
        noEOS = try c.decodeIfPresent(Double.self, forKey: .noEOS)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encodeIfPresent(stage, forKey: .stage)
        try c.encodeIfPresent(s, forKey: .s)
        try c.encodeIfPresent(learningRate, forKey: .learningRate)
        try c.encodeIfPresent(trainLoss, forKey: .trainLoss)
        try c.encodeIfPresent(tokensPerSecond, forKey: .tokensPerSecond)
        try c.encodeIfPresent(steps, forKey: .steps)
        try c.encodeIfPresent(skippedSteps, forKey: .skippedSteps)
        try c.encodeIfPresent(meanReward, forKey: .meanReward)
        try c.encodeIfPresent(advantageMean, forKey: .advantageMean)
        try c.encodeIfPresent(advantageStd, forKey: .advantageStd)
        try c.encodeIfPresent(baselineMSE, forKey: .baselineMSE)
        try c.encodeIfPresent(best, forKey: .best)
        try c.encodeIfPresent(diverged, forKey: .diverged)
        try c.encodeIfPresent(metric, forKey: .metric)
        try c.encodeIfPresent(validMetric, forKey: .validMetric)
        try c.encodeIfPresent(validLoss, forKey: .validLoss)
        try c.encodeIfPresent(validPerplexity, forKey: .validPerplexity)
        try c.encodeIfPresent(validBLEU, forKey: .validBLEU)
        try c.encodeIfPresent(validROUGE1, forKey: .validROUGE1)
        try c.encodeIfPresent(validROUGE2, forKey: .validROUGE2)
        try c.encodeIfPresent(validROUGEL, forKey: .validROUGEL)
        try c.encodeIfPresent(validROUGELsum, forKey: .validROUGELsum)
        try c.encodeIfPresent(repeatedBigrams, forKey: .repeatedBigrams)
        try c.encodeIfPresent(distinct1, forKey: .distinct1)
        try c.encodeIfPresent(distinct2, forKey: .distinct2)
        try c.encodeIfPresent(lengthRatio, forKey: .lengthRatio)
        try c.encodeIfPresent(noEOS, forKey: .noEOS)
    }

    /// Sets the degeneration figures from `stats`.
    public mutating func setDegeneration(_ stats: DegenerationStats) {
        repeatedBigrams = stats.repeatedBigrams
        distinct1 = stats.distinct1
        distinct2 = stats.distinct2
        lengthRatio = stats.lengthRatio
        noEOS = stats.noEOS
    }
}

/// `"event":"samples"`: a few validation inputs with their outputs at an epoch.
public struct SamplesRecord: Codable, Equatable, Sendable {
    /// The epoch, from 1.
    public var epoch: Int
    public var items: [SampleOutput]

    public init(epoch: Int, items: [SampleOutput]) {
        self.epoch = epoch
        self.items = items
    }
}

/// One sample: the source and reference text, the greedy output and beam 5's best.
public struct SampleOutput: Codable, Equatable, Sendable {
    public var source: String
    public var reference: String
    public var greedy: String
    /// Absent in logs of versions without beam samples.
    public var beam: String?

    public init(source: String, reference: String, greedy: String, beam: String?) {
        self.source = source
        self.reference = reference
        self.greedy = greedy
        self.beam = beam
    }
}

/// `"event":"end"`: why a run (or a session) ended, and its best validation figure.
public struct EndRecord: Codable, Equatable, Sendable {
    public var reason: String
    /// The best validation metric and its epoch; absent when no epoch was validated.
    public var bestMetric: Double?
    public var bestEpoch: Int?

    enum CodingKeys: String, CodingKey { case reason, bestMetric = "best_metric", bestEpoch = "best_epoch" }

    public init(reason: String, bestMetric: Double?, bestEpoch: Int?) {
        self.reason = reason
        self.bestMetric = bestMetric
        self.bestEpoch = bestEpoch
    }
}
