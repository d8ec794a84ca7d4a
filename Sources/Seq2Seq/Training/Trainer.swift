import Foundation
import Metrics
import Tokenize

/// Trains an ``EncoderDecoder`` with XENT, MIXER, DAD, SCST or risk, validating each epoch and
/// writing a run directory: `log.jsonl`, `last/` and `best/` checkpoints, and the greedy
/// validation output of each epoch under `valid/`.
///
/// One step of every objective is the same pipeline: encode the batch, run the decoder for T
/// steps with a rule that picks each step's input (ground truth, the model's own sample, or a
/// mix), form the gradient at the logits, and backpropagate once:
///
/// - XENT step t:      ∂L/∂s_t = w_x · (p_t − onehot(y_t))
/// - REINFORCE step t: ∂L/∂s_t = w_r · (r − b_t) · (p_t − onehot(w_t)),  w_t ~ p_t
///
/// where r is the sequence reward (`Metrics.ReferenceTable` on ids) and b_t the baseline: the
/// learned regressors for MIXER (``BaselineRegressors``), r(greedy) or the leave-one-out mean
/// for SCST. See ``MixerLossWeighting`` for w_x and w_r. MIXER's schedule is
/// ``MixerSchedule``; DAD's is ``ScheduledSampling``. Each objective is one type conforming to
/// ``Objective`` (`Sources/Seq2Seq/Objectives/`); the trainer holds the one the options name and
/// knows nothing objective-specific.
///
/// Reproducibility: every random draw comes from streams split off one seed ("init",
/// "batches", "dropout", "sampling"); the same options and data give the same run.
///
/// Data parallelism (`group`, docs/distributed.md): every rank makes the same global batches;
/// each computes the gradient of its rows (``RowShard``), ``trainStep(_:s:)`` sums the ranks'
/// gradients and statistics (``ProcessGroup/sum(_:count:)``) before the one update every rank
/// applies; rank 0 alone validates, logs and writes the run directory, and broadcasts its
/// end-of-epoch decisions (learning rate, stop).
public final class Trainer {
    public let options: TrainerOptions
    public let runConfig: RunConfig
    public let data: TrainingData
    public let model: EncoderDecoder
    /// MIXER's baseline regressors (nil for the other objectives).
    public let baseline: BaselineRegressors?
    public let run: RunDirectory
    /// The processes training this model together (``ProcessGroup/single`` without MPI).
    public let group: ProcessGroup
    public internal(set) var state: TrainerState
    /// Polled after every step: when it returns true the trainer saves `last/` and stops.
    public var shouldStop: () -> Bool = { false }

    let optimizer: Optimizer
    let baselineOptimizer: Optimizer?
    let batcher: Batcher
    let progress: ProgressPrinter
    /// The run's log (nil on ranks other than 0, which never write the run directory).
    let log: TrainingLog?
    /// The objective of every step, made once from the options (``makeObjective(_:steps:)``).
    /// Tests may put another in place before training (one without baseline regressors).
    var objective: any Objective
    /// Decoder steps: the longest target plus `</s>`.
    let steps: Int
    let batchRNG: RandomGenerator
    var dropoutRNG: RandomGenerator
    var samplingRNG: RandomGenerator
    /// Sums of the epoch in progress (saved with mid-epoch checkpoints).
    var accumulator = EpochAccumulator()
    /// True when the last update left the model's gradients at zero (Adam clears them as it reads
    /// them, `Adam.zeroesGradients`), so the next step need not clear them.
    var gradientsCleared = false
    /// The gradients' sum over the ranks (N > 1), embedding tables by rows (``GradientReduction``).
    lazy var gradientReduction = GradientReduction(model.grads, early: [
        [model.output.weight] + (model.output.bias.map { [$0] } ?? []),
        [model.targetEmbedding.table, model.decoderLSTM.wih, model.decoderLSTM.whh, model.decoderLSTM.bias,
         model.attention.combine.weight],
    ])
    /// The reduction overlapped with backward (``OverlappedReduction``): on N > 1 ranks when the
    /// library allows a communication thread, unless `MIXER_OVERLAP=0`.
    lazy var overlappedReduction: OverlappedReduction? = {
        guard group.size > 1, group.serialized, ProcessInfo.processInfo.environment["MIXER_OVERLAP"] != "0" else { return nil }
        return OverlappedReduction(gradientReduction, gradients: model.grads, group: group)
    }()
    /// SHA-256 of the data files, saved so that a resume can tell if they changed.
    public var dataFingerprint: [String: String] = [:]
    /// Writes the run's checkpoints (``RunStore``; nil on ranks other than 0).
    let store: RunStore?
    /// The run directory's lock: taken by `init` (or given), held until `train()` returns.
    var lock: RunLock?
    /// The epoch and step of the checkpoint `last` holds, when there is one.
    var lastSaved: (epoch: Int, step: Int)?
    /// The command-line arguments that started the run (saved with it: `--resume` compares
    /// its flags with them, and `log.jsonl`'s start record shows them).
    public var arguments: [String] = []
    /// For a subword run: rewards read sampled pieces as words (nil for word runs).
    let rewardWords: RewardWords?

    /// Prepares a run in `runDirectory` (created if needed): takes the directory's lock (or
    /// uses `lock`, taken earlier by the caller), opens its log and checkpoint store. A new run
    /// should be given a directory that holds none (``RunDirectory/holdsRun``); a resumed one
    /// continues with ``restore(from:)``. In a `group` of several processes only rank 0 takes
    /// the lock and opens anything in the directory; the others never write it.
    /// - Throws: option errors; ``StorageError`` when another process trains in the
    ///   directory or it cannot be written; ``DistributedError`` for an objective that does not
    ///   train over several processes yet.
    public init(options: TrainerOptions, runConfig: RunConfig, data: TrainingData, runDirectory: String,
                progress: ProgressPrinter, lock: RunLock? = nil, group: ProcessGroup = .single) throws {
        try options.validate()
        try runConfig.model.validate()
        if runConfig.model.coverageEnabled, let refusal = Self.coverageRefusal(options) { throw TrainingError(refusal) }
        if runConfig.model.copyEnabled {
            guard data.trainCopy != nil && data.validCopy != nil else {
                throw TrainingError("copy attention needs the data loaded for copy (TrainingData.load(…, copy: true))")
            }
        }
        self.options = options
        self.runConfig = runConfig
        self.data = data
        self.progress = progress
        self.group = group
        run = RunDirectory(runDirectory)
        if group.isWriter {
            self.lock = try lock ?? RunLock(run)
            try FileIO.makeDirectories(run.valid)
            log = try TrainingLog(path: run.log)
            store = try RunStore(run)
        } else {
            self.lock = nil
            log = nil
            store = nil
        }
        let root = RandomGenerator(seed: options.seed)
        var initRNG = root.split("init")
        model = EncoderDecoder(config: runConfig.model, seed: initRNG.next())
        steps = runConfig.maxTargetLength + 1
        objective = makeObjective(options, steps: steps)
        batchRNG = root.split("batches")
        dropoutRNG = root.split("dropout")
        samplingRNG = root.split("sampling")
        let lr = options.effectiveLearningRate
        switch options.optimizer {
        case .adam:
            let adam = Adam(parameters: model.params, learningRate: lr)
            adam.zeroesGradients = true
            optimizer = adam
        case .sgd: optimizer = SGD(learningRate: lr)
        }
        if objective.usesBaselineRegressors {
            let b = BaselineRegressors(steps: steps, inputSize: runConfig.model.hiddenSize,
                                       initialWeight: options.baselineInitialWeight,
                                       initialBias: options.baselineInitialBias)
            baseline = b
            let blr = lr * options.baselineLearningRateFactor
            baselineOptimizer = options.optimizer == .adam ? Adam(parameters: b.params, learningRate: blr) : SGD(learningRate: blr)
        } else {
            baseline = nil
            baselineOptimizer = nil
        }
        rewardWords = data.subword.map { RewardWords(model: $0.target) }
        batcher = try Batcher(sources: data.trainSources, targets: data.trainTargets, batchSize: options.batchSize,
                              copy: runConfig.model.copyEnabled ? data.trainCopy : nil)
        state = TrainerState(learningRate: lr,
                             validation: ValidationTracker(higherIsBetter: options.validationMetric.higherIsBetter),
                             divergence: DivergenceGuard(maximumConsecutive: options.maxDivergentSteps))
    }

    /// Why `options` cannot train a model with coverage (nil when they can): XENT, dad, MIXER and
    /// SCST train with it (the coverage loss on the reference positions for XENT and dad, on
    /// MIXER's teacher-forced steps, none for SCST); risk is not implemented (docs/training.md,
    /// "Coverage").
    public static func coverageRefusal(_ options: TrainerOptions) -> String? {
        if ![.xent, .dad, .mixer, .scst].contains(options.objective) {
            return "--coverage trains with --objective xent, dad, mixer or scst only: \(options.objective.rawValue) does not carry the coverage loss yet"
        }
        return nil
    }

    // MARK: - The loop

    /// What a finished (or stopped) run reports.
    public struct Summary: Sendable {
        public var epochs: Int
        public var bestMetric: Double?
        public var bestEpoch: Int?
        public var lastMetric: Double?
        public var stoppedEarly: Bool
        public var interrupted: Bool
        public var reason: String
    }

    /// The stage name and s (teacher-forced steps) of `epoch`.
    func stage(epoch: Int) -> (name: String, s: Int) { objective.stage(epoch: epoch) }

    /// Runs the remaining epochs.
    public func train() throws -> Summary {
        if lock == nil && group.isWriter { lock = try RunLock(run) }
        defer { lock = nil }
        setComputeThreads(options.threads)
        if state.globalStep == 0 && state.epoch == 0 { try logStart() }
        else {
            try log?.append(.resume(RunResumeRecord(epoch: state.epoch, step: state.step, globalStep: state.globalStep)))
        }
        var summary = Summary(epochs: state.epoch, bestMetric: nil, bestEpoch: nil, lastMetric: nil,
                              stoppedEarly: false, interrupted: false, reason: "completed \(options.epochs) epochs")
        let perEpoch = batcher.batchesPerEpoch
        let started = Date()
        // Throughput counts training steps only; the ETAs add validation once one is timed.
        var tokensSinceReport = 0, stepSecondsSinceReport = 0.0
        var runSteps = 0, runStepSeconds = 0.0
        var validations = 0, validationSeconds = 0.0
        epochLoop: for epoch in (state.epoch + 1)...max(options.epochs, state.epoch + 1) where epoch <= options.epochs {
            let (stageName, s) = stage(epoch: epoch)
            if state.step == 0 { accumulator = EpochAccumulator() }
            let epochStarted = Date()
            let order = batcher.order(epoch: epoch, generator: batchRNG)
            for i in state.step..<order.count {
                let batch = batcher.batch(order[i])
                let st = try trainStep(batch, s: s)
                accumulator.add(st)
                tokensSinceReport += batch.targetTokens
                stepSecondsSinceReport += st.seconds
                runSteps += 1
                runStepSeconds += st.seconds
                state.step = i + 1
                state.globalStep += 1
                if state.step % options.reportEvery == 0 || state.step == perEpoch {
                    let perStep = runStepSeconds / Double(runSteps)
                    let perValidation = validations > 0 ? validationSeconds / Double(validations) : 0
                    let stepsLeftInEpoch = Double(perEpoch - state.step)
                    let stepsLeftInRun = Double((options.epochs - epoch) * perEpoch) + stepsLeftInEpoch
                    var report = ProgressReport(
                        epoch: epoch, epochs: options.epochs, step: state.step, steps: perEpoch, globalStep: state.globalStep,
                        targetTokensPerSecond: stepSecondsSinceReport > 0 ? Double(tokensSinceReport) / stepSecondsSinceReport : 0,
                        loss: accumulator.meanLoss, learningRate: state.learningRate, elapsed: Date().timeIntervalSince(started),
                        eta: stepsLeftInRun * perStep + Double(options.epochs - epoch + 1) * perValidation, stage: stageName)
                    report.epochETA = stepsLeftInEpoch * perStep + perValidation
                    report.etaIsLowerBound = validations == 0
                    if accumulator.lossCount == 0 && accumulator.rewardCount > 0 {
                        report.reward = accumulator.rewardSum / Double(accumulator.rewardCount)
                    }
                    progress.show(report)
                    try log?.append(.step(StepRecord(report)))
                    tokensSinceReport = 0
                    stepSecondsSinceReport = 0
                }
                if options.saveEvery > 0 && state.step % options.saveEvery == 0 && state.step < perEpoch {
                    try save(isBest: false)
                }
                // Under MPI the ranks' stop requests were summed with the step's gradients, so
                // all stop after the same step.
                if group.size > 1 ? st.stopRequested : shouldStop() {
                    progress.finishLine()
                    try save(isBest: false)
                    summary.interrupted = true
                    summary.reason = "interrupted at epoch \(epoch), step \(state.step); resume with --resume \(run.path)"
                    break epochLoop
                }
            }
            progress.finishLine()
            // End of epoch: validate, log, schedule, save.
            state.epoch = epoch
            state.step = 0
            if !group.isWriter {
                // Rank 0 validates, saves and decides; the others take its learning rate and stop.
                if try followEpochEnd() { summary.stoppedEarly = true; break }
                continue
            }
            let validationStarted = Date()
            let v = try validate(epoch: epoch)
            validations += 1
            validationSeconds += Date().timeIntervalSince(validationStarted)
            var record = v.record
            record.epoch = epoch
            record.stage = stageName
            record.s = s
            record.learningRate = state.learningRate
            record.trainLoss = accumulator.meanLoss
            record.tokensPerSecond = accumulator.tokensPerSecond
            record.steps = accumulator.count
            record.skippedSteps = accumulator.skipped
            if accumulator.rewardCount > 0 {
                record.meanReward = accumulator.rewardSum / Double(accumulator.rewardCount)
                record.advantageMean = accumulator.advantageSum / Double(max(accumulator.advantageCount, 1))
                let m = accumulator.advantageSum / Double(max(accumulator.advantageCount, 1))
                record.advantageStd = sqrt(max(0, accumulator.advantageSquares / Double(max(accumulator.advantageCount, 1)) - m * m))
            }
            if accumulator.baselineCount > 0 { record.baselineMSE = accumulator.baselineSSE / Double(accumulator.baselineCount) }
            // A non-finite validation is divergence: the epoch is not saved, nor called best.
            guard v.perplexity.isFinite && v.metric.isFinite else {
                record.diverged = true
                try log?.append(.epoch(record))
                throw TrainingError("training diverged: the validation perplexity after epoch \(epoch) is \(v.perplexity) (\(options.validationMetric.rawValue) \(v.metric)); this epoch was not saved; \(lastCheckpointDescription)")
            }
            let improved = state.validation.record(v.metric, epoch: epoch)
            summary.lastMetric = v.metric
            record.best = improved
            // Learning-rate schedule on plateau (SGD's divide-by-1.2 by default).
            let plateau = PlateauSchedule(options)
            if !improved && plateau.isActive {
                state.learningRate = plateau.next(state.learningRate, improved: improved)
                optimizer.learningRate = state.learningRate
                baselineOptimizer?.learningRate = state.learningRate * options.baselineLearningRateFactor
            }
            if options.patience > 0 && state.validation.patienceExhausted(patience: options.patience) {
                summary.stoppedEarly = true
                summary.reason = "no improvement for \(options.patience) epochs"
            } else if plateau.shouldStop(state.learningRate) {
                summary.stoppedEarly = true
                summary.reason = "learning rate fell below \(options.minimumLearningRate)"
            }
            if summary.stoppedEarly || epoch >= options.epochs { state.finished = summary.reason }
            // The epoch's records are appended after the checkpoint is in place, so the log
            // never reports a best epoch that best/ does not hold yet.
            var pending = [RunRecord.epoch(record).line, RunRecord.samples(SamplesRecord(epoch: epoch, items: v.samples)).line]
            if state.finished != nil { pending.append(endRecord(reason: summary.reason).line) }
            try save(isBest: improved, pending: pending)
            progress.message(epochSummary(epoch: epoch, stage: stageName, s: s, seconds: Date().timeIntervalSince(epochStarted),
                                          record: record, improved: improved))
            if group.size > 1 {
                var decision = [state.learningRate, summary.stoppedEarly ? 1 : 0]
                group.broadcast(&decision)
            }
            if summary.stoppedEarly { break }
        }
        summary.epochs = state.epoch
        summary.bestMetric = state.validation.best
        summary.bestEpoch = state.validation.bestEpoch
        // A finished run's end record went into its last checkpoint's pending records.
        if state.finished == nil { try log?.append(endRecord(reason: summary.reason)) }
        return summary
    }

    /// A rank other than 0 at the end of an epoch: receives rank 0's learning rate and whether
    /// it stops (one `MPI_Bcast`, after rank 0's validation and save).
    /// - Returns: whether the run stops early.
    func followEpochEnd() throws -> Bool {
        var decision = [0.0, 0.0]
        group.broadcast(&decision)
        state.learningRate = decision[0]
        optimizer.learningRate = state.learningRate
        baselineOptimizer?.learningRate = state.learningRate * options.baselineLearningRateFactor
        return decision[1] != 0
    }

    /// The log's last record of a run (or of one of its sessions, when interrupted).
    func endRecord(reason: String) -> RunRecord {
        .end(EndRecord(reason: reason, bestMetric: state.validation.best, bestEpoch: state.validation.bestEpoch))
    }

    /// The console's line at the end of an epoch: a timestamp, the epoch's duration, the
    /// training figures (XENT loss when the epoch had XENT tokens; for REINFORCE stages the
    /// mean reward, the baselines' MSE and the share of decoder steps sampled) and every
    /// validation metric (BLEU and ROUGE ×100, as `mixer-cli score` prints them), e.g.
    /// `[2026-12-07 13:05:12] epoch 2/10 (45s)  mixer s=6  loss 3.2100  reward 0.1234
    /// baseline MSE 0.0045  sampled 62%  |  valid ppl 24.10  BLEU 7.06  ROUGE-1 27.21
    /// ROUGE-2 11.13  ROUGE-L 25.00  (best ROUGE-2)`.
    func epochSummary(epoch: Int, stage: String, s: Int, seconds: Double, record: EpochRecord, improved: Bool) -> String {
        let stamp = Self.timestamp.string(from: Date())
        var line = "[\(stamp)] epoch \(epoch)/\(options.epochs) (\(ProgressReport.duration(seconds)))  \(stage)"
        if options.objective == .mixer { line += " s=\(s)" }
        if accumulator.lossCount > 0 { line += String(format: "  loss %.4f", accumulator.meanLoss) }
        if accumulator.rewardCount > 0 {
            line += String(format: "  reward %.4f", accumulator.rewardSum / Double(accumulator.rewardCount))
        }
        if accumulator.baselineCount > 0 {
            line += String(format: "  baseline MSE %.4g", accumulator.baselineSSE / Double(accumulator.baselineCount))
        }
        let sampled = objective.sampledFraction(s: s, globalStep: state.globalStep)
        if let sampled, sampled > 0 { line += String(format: "  sampled %.0f%%", 100 * sampled) }
        line += "  |  valid"
        if let ppl = record.validPerplexity { line += String(format: " ppl %.2f", ppl) }
        if let x = record.validBLEU { line += String(format: "  BLEU %.2f", x) }
        for (x, name) in [(record.validROUGE1, "ROUGE-1"), (record.validROUGE2, "ROUGE-2"), (record.validROUGEL, "ROUGE-L")] {
            if let x { line += String(format: "  %@ %.2f", name, 100 * x) }
        }
        if improved {
            let names: [ValidationMetricName: String] = [.bleu: "BLEU", .rouge1: "ROUGE-1", .rouge2: "ROUGE-2", .rougeL: "ROUGE-L", .perplexity: "perplexity"]
            line += "  (best \(names[options.validationMetric]!))"
        }
        return line
    }

    /// `yyyy-MM-dd HH:mm:ss` in local time, for the console's epoch lines.
    static let timestamp: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f
    }()

    func logStart() throws {
        let warnings = options.scheduleWarnings(steps: steps)
        for w in warnings { progress.message("warning: " + w) }
        try log?.append(.start(RunStartRecord(
            config: try Self.json(runConfig), options: try Self.json(options),
            data: DataCounts(trainPairs: data.trainSources.count, validPairs: data.validSources.count,
                             sourceVocabulary: data.sourceVocabulary.count, targetVocabulary: data.targetVocabulary.count,
                             truncatedSources: data.truncatedSources, truncatedTargets: data.truncatedTargets,
                             skippedPairs: data.skippedPairs),
            kernels: PackedMatrix.kernelName, arguments: arguments, mixerVersion: mixerVersion,
            warnings: warnings.isEmpty ? nil : warnings)))
    }

    // MARK: - Checkpoints

    /// Saves the trainer's state as the run's new `last` (and `best` when `isBest`), then
    /// appends `pending` to the log. The checkpoint records the log's length before them and
    /// the records themselves, so that a resume restores the log exactly (``restore(from:)``).
    func save(isBest: Bool, pending: [String] = []) throws {
        guard let log, let store else { return }   // ranks other than 0 never write
        try log.sync()
        state.logBytes = log.size
        state.pendingLog = pending
        state.randomStates = ["batches": batchRNG.state, "dropout": dropoutRNG.state, "sampling": samplingRNG.state]
        state.options = try Self.json(options)
        state.epochAccumulator = accumulator
        if !dataFingerprint.isEmpty { state.dataFingerprint = dataFingerprint }
        if !arguments.isEmpty { state.arguments = arguments }
        var auxiliary: [(prefix: String, store: ParameterStore)] = []
        var auxiliaryMetadata: [String: String] = [:]
        if let b = baseline, let bo = baselineOptimizer {
            auxiliary = [("", b.params)] + bo.stateStores.map { ("baseline-optimizer.\($0.prefix)", $0.store) }
            auxiliaryMetadata = bo.stateMetadata
        }
        precondition(runConfig.model == model.config, "The run configuration must describe the model")
        let files = try Checkpoint.files(
            for: run.last, parameters: model.params, optimizer: optimizer, config: runConfig,
            sourceVocabulary: Array(data.sourceVocabulary.fileContents.utf8),
            targetVocabulary: Array(data.targetVocabulary.fileContents.utf8), state: state,
            auxiliary: auxiliary, auxiliaryMetadata: auxiliaryMetadata,
            subwordModels: data.subword.map { ($0.source.serialized, $0.target.serialized) })
        try store.save(files, isBest: isBest)
        lastSaved = (state.epoch, state.step)
        for line in pending { try log.appendLine(line) }
    }

    /// Where the last good checkpoint is, for messages: true at the moment it is said.
    var lastCheckpointDescription: String {
        guard let (epoch, step) = lastSaved else { return "no checkpoint was written yet" }
        let at = step == 0 ? "the end of epoch \(epoch)" : "epoch \(epoch + 1), step \(step)"
        return "the last good checkpoint, \(run.last), holds \(at)"
    }

    static func json<T: Encodable>(_ v: T) throws -> JSONValue {
        let enc = JSONEncoder()
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try JSONValue.parse(Array(enc.encode(v)))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ v: JSONValue, file: String, key: String) throws -> T {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do { return try dec.decode(type, from: Data(v.serialized().utf8)) } catch {
            throw StorageError(file, "\"\(key)\" is not valid: \(error)")
        }
    }

    // MARK: - Resuming

    /// The options a checkpoint's run was started with (saved in its trainer state).
    /// - Throws: ``StorageError`` when the state has none or they do not decode.
    public static func savedOptions(_ checkpoint: Checkpoint) throws -> TrainerOptions {
        let file = checkpoint.directory + "/" + Checkpoint.stateFile
        guard let o = checkpoint.state.options else {
            throw StorageError(file, "has no saved training options: it was not written by `mixer-cli train`")
        }
        return try decode(TrainerOptions.self, o, file: file, key: "options")
    }

    /// Continues from `checkpoint` exactly: weights, optimizer moments, MIXER's regressors and
    /// their optimizer, the epoch and step, the learning rate, early-stopping and divergence
    /// state, every random stream, and the partial epoch's sums. The batches of the
    /// interrupted epoch come in the same order, so the resumed run ends with the weights the
    /// uninterrupted run would have had.
    /// - Throws: ``StorageError`` naming what does not match.
    public func restore(from checkpoint: Checkpoint) throws {
        try checkpoint.loadParameters(into: model.params)
        try checkpoint.loadOptimizer(into: optimizer)
        if let b = baseline, let bo = baselineOptimizer {
            try checkpoint.loadAuxiliary(into: [("", b.params)] + bo.stateStores.map { ("baseline-optimizer.\($0.prefix)", $0.store) })
            try bo.restoreMetadata(checkpoint.auxiliary?.metadata ?? [:], file: checkpoint.directory + "/" + Checkpoint.auxiliaryFile)
        }
        let file = checkpoint.directory + "/" + Checkpoint.stateFile
        var restored = checkpoint.state
        guard let d = restored.randomStates["dropout"], let sm = restored.randomStates["sampling"],
              let bt = restored.randomStates["batches"] else {
            throw StorageError(file, "has no random-stream states to resume from")
        }
        guard bt == batchRNG.state else {
            throw StorageError(file, "was written with another --seed than the one resumed with")
        }
        dropoutRNG = RandomGenerator(state: d)
        samplingRNG = RandomGenerator(state: sm)
        if let acc = restored.epochAccumulator { accumulator = acc }
        try checkRanges(restored, file: file)
        restored.checksums = [:]
        state = restored
        optimizer.learningRate = state.learningRate
        baselineOptimizer?.learningRate = state.learningRate * options.baselineLearningRateFactor
        lastSaved = (state.epoch, state.step)
        // The log as it was when the checkpoint was written: later records (work that will be
        // redone) are cut; the checkpoint's own records are appended if they are missing.
        if let log { try Self.restoreLog(log, to: restored) }
    }

    /// Puts `log` back as it was when the checkpoint with `state` was complete: cut to
    /// `state.logBytes`, followed by the checkpoint's pending records. A log that already
    /// reads so is left untouched (a resume of a finished run writes nothing).
    public static func restoreLog(_ log: TrainingLog, to state: TrainerState) throws {
        guard let n = state.logBytes else { return }
        let pending = Array(state.pendingLog.map { $0 + "\n" }.joined().utf8)
        if log.size == n + pending.count, let bytes = try? FileIO.readAll(log.path),
           bytes.count == n + pending.count, Array(bytes[n...]) == pending {
            return
        }
        if log.size >= n { try log.truncate(to: n) }
        for line in state.pendingLog { try log.appendLine(line) }
    }

    /// Lets a finished run go on (``TrainerState/finished`` cleared): `--resume` with a larger
    /// `--epochs`. The early-stopping counter starts again from zero.
    public func reopen() {
        state.finished = nil
        state.validation.epochsWithoutImprovement = 0
    }

    /// Checks a saved state against this run: a step inside the epoch, an epoch within the
    /// run's limits, a usable learning rate.
    /// - Throws: ``StorageError`` naming `file` and the field.
    func checkRanges(_ s: TrainerState, file: String) throws {
        func fail(_ text: String) -> StorageError { StorageError(file, text) }
        let perEpoch = batcher.batchesPerEpoch
        // step == perEpoch: every batch done, the epoch's validation still to come.
        guard (0...perEpoch).contains(s.step) else {
            throw fail("step \(s.step) is outside an epoch of \(perEpoch) batches")
        }
        guard s.learningRate > 0 else { throw fail("learningRate \(s.learningRate) must be positive to train") }
        guard s.globalStep <= (s.epoch + 1) * perEpoch else {
            throw fail("globalStep \(s.globalStep) is more than \(s.epoch + 1) epochs of \(perEpoch) batches")
        }
        guard s.validation.higherIsBetter == options.validationMetric.higherIsBetter else {
            throw fail("validation.higherIsBetter does not match the run's --valid-metric \(options.validationMetric.rawValue)")
        }
        if let a = s.epochAccumulator {
            guard a.count >= 0, a.skipped >= 0, a.skipped <= a.count, a.lossCount >= 0, a.tokens >= 0,
                  a.rewardCount >= 0, a.advantageCount >= 0, a.baselineCount >= 0,
                  [a.lossSum, a.seconds, a.rewardSum, a.advantageSum, a.advantageSquares, a.baselineSSE].allSatisfy(\.isFinite) else {
                throw fail("epoch_accumulator holds a count below zero or a non-finite sum")
            }
        }
    }
}

/// Sums over an epoch's steps.
struct EpochAccumulator: Codable, Equatable {
    var count = 0, skipped = 0
    var lossSum = 0.0, lossCount = 0
    var tokens = 0, seconds = 0.0
    var rewardSum = 0.0, rewardCount = 0
    var advantageSum = 0.0, advantageSquares = 0.0, advantageCount = 0
    var baselineSSE = 0.0, baselineCount = 0

    mutating func add(_ s: StepStatistics) {
        count += 1
        if s.skipped { skipped += 1 }
        if s.xentTokens > 0 { lossSum += s.xentLoss; lossCount += 1 }
        tokens += s.targetTokens
        seconds += s.seconds
        rewardSum += s.rewardSum
        rewardCount += s.rewardCount
        advantageSum += s.advantageSum
        advantageSquares += s.advantageSquares
        advantageCount += s.advantageCount
        baselineSSE += s.baselineSSE
        baselineCount += s.baselineCount
    }

    var meanLoss: Double { lossCount > 0 ? lossSum / Double(lossCount) : 0 }
    var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// What one training step measured.
struct StepStatistics {
    var xentLoss = 0.0, xentTokens = 0
    var targetTokens = 0
    var seconds = 0.0
    var skipped = false
    var rewardSum = 0.0, rewardCount = 0
    var advantageSum = 0.0, advantageSquares = 0.0, advantageCount = 0
    var baselineSSE = 0.0, baselineCount = 0
    var gradientNorm = 0.0
    /// Under MPI: whether any rank was asked to stop before the step's sums (all agree).
    var stopRequested = false
}
