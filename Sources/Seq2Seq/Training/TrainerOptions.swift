import Metrics

/// What the trainer optimises.
public enum TrainingObjective: String, Codable, CaseIterable, Sendable {
    /// Cross-entropy with teacher forcing.
    case xent
    /// XENT, then MIXER's annealing towards REINFORCE (Ranzato et al., ICLR 2016).
    case mixer
    /// Scheduled sampling, "data as demonstrator" (Bengio et al., NeurIPS 2015).
    case dad
    /// Self-critical sequence training (Rennie et al., CVPR 2017).
    case scst
    /// Minimum risk training (Shen et al., ACL 2016; Edunov et al., NAACL 2018): the expected
    /// cost over sampled candidates, mixed with XENT.
    case risk
}

/// The sequence-level reward of REINFORCE steps, computed on token ids by `Metrics.ReferenceTable`.
public enum RewardName: String, Codable, CaseIterable, Sendable {
    case bleu, rouge1, rouge2, rougeL
}

/// The validation figure that picks the best checkpoint and drives early stopping and the
/// learning-rate schedule (higher is better, except `perplexity`).
public enum ValidationMetricName: String, Codable, CaseIterable, Sendable {
    case rouge1, rouge2, rougeL, bleu, perplexity
    public var higherIsBetter: Bool { self != .perplexity }
}

/// How XENT and REINFORCE terms are weighted in MIXER's mixed stages.
///
/// | option | XENT term | REINFORCE term | mixed stages |
/// |---|---|---|---|
/// | `sequence` (the paper's text, default) | Σ_t −log p(y_t), summed per sequence, averaged over the batch | Σ_t −(r − b_t) log p(w_t), summed per sequence, averaged over the batch | sum of both |
/// | `reference` (facebookarchive/MIXER's code) | averaged over the non-pad XENT tokens of the batch | summed over the batch | 0.5 · XENT + 0.5 · REINFORCE |
///
/// The paper writes the loss as a sum over the time steps of a sequence (its Eq. 11 and
/// Algorithm 1); the reference code normalises the two criteria differently and averages them.
public enum MixerLossWeighting: String, Codable, CaseIterable, Sendable {
    case sequence, reference
}

/// The optimiser.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
    case adam, sgd
}

/// What scheduled sampling feeds instead of the ground truth.
public enum DADFeed: String, Codable, CaseIterable, Sendable {
    /// A multinomial sample from the model's distribution.
    case sample
    /// The model's most likely token.
    case argmax
}

/// SCST's baseline.
public enum SCSTBaseline: String, Codable, CaseIterable, Sendable {
    /// r(greedy output) — Rennie et al.'s self-critical baseline.
    case greedy
    /// The mean reward of the other k − 1 samples of the same source (leave-one-out).
    case mean
}

/// Whether the sequence reward sees where a sampled output ends (`--reward-eos`).
public enum RewardEOS: String, Codable, CaseIterable, Sendable {
    /// `</s>` is one more token of the output and of the reference: an output that ends where
    /// the reference ends matches its last n-grams with `</s>`; one cut at the length limit
    /// without `</s>` is scored on what it emitted, with no `</s>` to match (the default;
    /// Rennie et al.'s SCST code scores sequences with their end token).
    case count
    /// The output is scored on its words alone, up to `</s>` (what 0.2.0 to 0.x did).
    case ignore
}

/// Where minimum risk training's candidates come from (`--risk-candidates-from`).
public enum RiskCandidateSource: String, Codable, CaseIterable, Sendable {
    /// k samples of the model, drawn in the training forward pass.
    case sample
    /// The k-best of a beam search of width k over the current model (no gradient through the
    /// search; scores recomputed by a teacher-forced forward pass).
    case beam
    /// Both: k samples and the k-best of the beam.
    case both
}

/// What minimum risk training does with a candidate drawn twice for one source.
public enum RiskDuplicates: String, Codable, CaseIterable, Sendable {
    /// Each distinct output counts once in Q (Shen et al.'s candidate set S(x)).
    case merge
    /// Every draw counts (what risk did before `--risk-duplicates`).
    case keep
}

/// Every training option, with documented defaults (the configuration of a run is this struct
/// plus ``RunConfig``; both are logged at the start of `log.jsonl`).
public struct TrainerOptions: Codable, Equatable, Sendable {
    // MARK: General
    public var objective: TrainingObjective = .xent
    /// Total epochs, XENT stages included.
    public var epochs = 10
    public var batchSize = 32
    /// The seed of every random stream (initialisation, dropout, batch order, sampling).
    public var seed: UInt64 = 1
    /// Threads for the matrix products and the large loops (`setComputeThreads`); the trained
    /// weights do not depend on it.
    public var threads = 1

    // MARK: Optimisation
    public var optimizer: OptimizerKind = .adam
    /// nil: 0.001 for Adam, 0.2 for SGD (the paper's).
    public var learningRate: Double? = nil
    /// Divide the learning rate by this when the validation metric stops improving (the
    /// paper's SGD uses 1.2). nil: 1.2 for SGD, 1 (off) for Adam.
    public var learningRateDecay: Double? = nil
    /// Training stops when a decayed learning rate falls below this.
    public var minimumLearningRate = 1e-5
    /// Global gradient-norm clipping (the reference code clips at 10); 0 = off.
    public var clipNorm = 5.0
    /// Stop after this many epochs without validation improvement; 0 = never.
    public var patience = 0
    /// How many non-finite steps in a row abort the run.
    public var maxDivergentSteps = 5

    // MARK: Validation and logging
    public var validationMetric: ValidationMetricName = .rouge2
    public var validationBatchSize = 64
    /// Sample outputs written to the log each epoch.
    public var logSamples = 5
    /// Progress line every this many steps.
    public var reportEvery = 20
    /// Save `last/` every this many steps within an epoch (0 = at epoch ends only).
    public var saveEvery = 0

    // MARK: MIXER (Ranzato et al. 2016)
    /// Epochs of XENT before the first REINFORCE stage (reference default 25).
    public var xentEpochs = 5
    /// Δ: steps moved from XENT to REINFORCE per stage (reference default 3).
    public var mixerDelta = 2
    /// Epochs per stage (reference default 5).
    public var mixerEpochsPerStep = 1
    public var reward: RewardName = .rouge2
    /// BLEU reward smoothing: "plus-one" (the reference code: (m+1)/(t+1)), or a sacreBLEU
    /// method (exp, floor, add-k, none).
    public var rewardSmoothing = "plus-one"
    /// Use recall instead of F for ROUGE rewards (the reference code's ROUGE reward is recall).
    public var rewardRecall = false
    /// Sampling temperature of REINFORCE steps (exploration only: the gradient is that of
    /// log p_θ(w), as in the reference code).
    public var temperature = 1.0
    /// The baseline regressors' learning-rate factor. Default 1: the reference code's 0.01 left
    /// the regressors untrained under Adam (experiments/results/sweep.md, every run there uses 1).
    public var baselineLearningRateFactor = 1.0
    public var baselineInitialWeight: Float = 0
    public var baselineInitialBias: Float = 0.01
    public var lossWeighting: MixerLossWeighting = .sequence
    /// Whether the sequence reward counts `</s>` (``RewardEOS``); MIXER, SCST and risk.
    public var rewardEOS: RewardEOS = .count

    // MARK: DAD (scheduled sampling)
    public var dadSchedule: ScheduledSampling = .inverseSigmoid(k: 500)
    public var dadFeed: DADFeed = .sample

    // MARK: SCST
    public var scstSamples = 1
    public var scstBaseline: SCSTBaseline = .greedy

    // MARK: Minimum risk training
    /// k, sampled candidates per source (`RiskObjective`).
    public var riskCandidates = 8
    /// α, the sharpness of the candidates' distribution Q ∝ exp(α·s(y)) over length-normalized
    /// log-probabilities s(y).
    public var riskAlpha = 1.0
    /// λ, the weight of the token-level cross-entropy on the references added to the risk.
    public var riskXentWeight = 0.3
    /// Where the candidates come from: samples, the beam's k-best, or both.
    public var riskCandidatesFrom: RiskCandidateSource = .sample
    /// The reference as one more candidate of every source (cost 0 under any reward).
    public var riskIncludeReference = false
    /// A candidate drawn twice for one source: counted once (merge) or as drawn (keep).
    public var riskDuplicates: RiskDuplicates = .merge

    // MARK: Token-level losses
    /// ε of label smoothing (Szegedy et al., 2016) in every token-level loss: XENT, DAD, MIXER's
    /// teacher-forced steps and risk's XENT term (0: off; `CrossEntropy.labelSmoothed`).
    public var labelSmoothing = 0.0
    /// λ of the coverage loss λ·Σ_t Σ_i min(a_{t,i}, c_{t,i}) (See et al. 2017, §2.3) for a model
    /// with coverage (``ModelConfig/coverage``; ``CoveragePenalty``); nil means See et al.'s 1
    /// and is not written, so the options of a run without coverage keep their old file.
    public var coverageLossWeight: Double?

    /// λ of the coverage loss in effect: ``coverageLossWeight`` or 1.
    public var effectiveCoverageLossWeight: Double { coverageLossWeight ?? 1 }

    public init() {}

    /// Reads options saved by this version or an earlier one: a key an older version did not
    /// write (`label-smoothing`, the risk options, …) keeps its default, so a run of 0.2.0
    /// resumes as it was trained; a key added with a default that changes what a run does
    /// (``rewardEOS``, ``riskDuplicates``) reads, when missing, as the behaviour of the versions
    /// before it (``legacyDefaults``).
    public init(from decoder: Decoder) throws {
        self = Self.legacyDefaults
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.objective, &objective); try read(.epochs, &epochs); try read(.batchSize, &batchSize)
        try read(.seed, &seed); try read(.threads, &threads); try read(.optimizer, &optimizer)
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate)
        learningRateDecay = try c.decodeIfPresent(Double.self, forKey: .learningRateDecay)
        try read(.minimumLearningRate, &minimumLearningRate); try read(.clipNorm, &clipNorm)
        try read(.patience, &patience); try read(.maxDivergentSteps, &maxDivergentSteps)
        try read(.validationMetric, &validationMetric); try read(.validationBatchSize, &validationBatchSize)
        try read(.logSamples, &logSamples); try read(.reportEvery, &reportEvery); try read(.saveEvery, &saveEvery)
        try read(.xentEpochs, &xentEpochs); try read(.mixerDelta, &mixerDelta)
        try read(.mixerEpochsPerStep, &mixerEpochsPerStep); try read(.reward, &reward)
        try read(.rewardSmoothing, &rewardSmoothing); try read(.rewardRecall, &rewardRecall)
        try read(.temperature, &temperature); try read(.baselineLearningRateFactor, &baselineLearningRateFactor)
        try read(.baselineInitialWeight, &baselineInitialWeight); try read(.baselineInitialBias, &baselineInitialBias)
        try read(.lossWeighting, &lossWeighting); try read(.dadSchedule, &dadSchedule); try read(.dadFeed, &dadFeed)
        try read(.scstSamples, &scstSamples); try read(.scstBaseline, &scstBaseline)
        try read(.riskCandidates, &riskCandidates); try read(.riskAlpha, &riskAlpha)
        try read(.riskXentWeight, &riskXentWeight); try read(.labelSmoothing, &labelSmoothing)
        try read(.rewardEOS, &rewardEOS); try read(.riskCandidatesFrom, &riskCandidatesFrom)
        try read(.riskIncludeReference, &riskIncludeReference); try read(.riskDuplicates, &riskDuplicates)
        coverageLossWeight = try c.decodeIfPresent(Double.self, forKey: .coverageLossWeight)
    }

    /// The defaults with every key added since 0.2.0 set to what runs did before that key
    /// existed: what a saved run that lacks the key was trained with. (Defaults that changed
    /// for keys every version writes, such as ``baselineLearningRateFactor``, need no entry: a
    /// saved run has its value.)
    public static var legacyDefaults: TrainerOptions {
        var o = TrainerOptions()
        o.rewardEOS = .ignore
        o.riskDuplicates = .keep
        return o
    }

    /// Adam's learning rate of a run that continues a trained model (`--init-from`) when none is
    /// given: 3e-4, the rate of every continuation in experiments/results/sweep.md (MIXER's
    /// whole schedule gained +0.4 ROUGE-2 over XENT continued at the same rate; 1e-4 gained nothing).
    public static let continuationLearningRate = 3e-4
    /// `--xent-epochs` when not given: 5 for a new model, 0 when continuing one (`--init-from`).
    public static func defaultXENTEpochs(continuing: Bool) -> Int { continuing ? 0 : 5 }

    /// The epochs MIXER's whole schedule takes with these options and T = `steps` decoder steps:
    /// XENT pretraining, then ⌈T/Δ⌉ stages of `mixerEpochsPerStep` epochs, s = T − Δ, …, 0
    /// (``MixerSchedule/wholeScheduleEpochs``). `mixer-cli train --objective mixer` runs this
    /// many when `--epochs` is not given.
    public func mixerScheduleEpochs(steps: Int) -> Int { mixerSchedule(steps: steps).wholeScheduleEpochs }

    /// MIXER's schedule for T = `steps`.
    public func mixerSchedule(steps: Int) -> MixerSchedule {
        MixerSchedule(maxTargetLength: steps, xentEpochs: xentEpochs, delta: mixerDelta, epochsPerStep: mixerEpochsPerStep)
    }

    /// What is odd about a MIXER run of these options over T = `steps` decoder steps, one line
    /// each (empty for other objectives): `--xent-epochs` that leaves no REINFORCE epoch, or
    /// `--epochs` that stop the annealing before its last stage (s = 0) is done.
    /// - Complexity: O(1).
    public func scheduleWarnings(steps: Int) -> [String] {
        guard objective == .mixer else { return [] }
        let schedule = mixerSchedule(steps: steps), whole = schedule.wholeScheduleEpochs
        if xentEpochs >= epochs {
            return ["--xent-epochs \(xentEpochs) leaves no REINFORCE epoch in --epochs \(epochs): this MIXER run is XENT only (the whole schedule needs --epochs \(whole))"]
        }
        if epochs < whole {
            let s = schedule.xentSteps(epoch: epochs)
            return ["MIXER's schedule will not finish: --epochs \(epochs) stops at s = \(s) of T = \(steps) (--xent-epochs \(xentEpochs), Δ = \(mixerDelta), \(mixerEpochsPerStep) epoch(s) per stage); the whole schedule down to s = 0 needs --epochs \(whole), the default when --epochs is not given"]
        }
        return []
    }

    /// The learning rate actually used.
    public var effectiveLearningRate: Double { learningRate ?? (optimizer == .adam ? 0.001 : 0.2) }
    /// The plateau decay actually used.
    public var effectiveDecay: Double { learningRateDecay ?? (optimizer == .adam ? 1 : 1.2) }

    /// Checks every option: the one place of these range rules (`mixer-cli train` calls it).
    ///
    /// A message names the option by its key, the long option name of `mixer-cli train` and
    /// the key of its `--config` file (`--learning-rate`, `learning-rate:`), and gives the value;
    /// ``maxDivergentSteps``, which only the library sets, is named as the property.
    ///
    /// - Throws: ``TrainerOptionsError`` for the first option out of range.
    public func validate() throws {
        func fail(_ s: String) -> TrainerOptionsError { TrainerOptionsError(message: s) }
        if epochs < 1 || epochs > TrainerState.epochLimit { throw fail("--epochs must be between 1 and \(TrainerState.epochLimit), got \(epochs)") }
        if batchSize < 1 { throw fail("--batch-size must be at least 1, got \(batchSize)") }
        if threads < 1 || threads > 256 { throw fail("--threads must be between 1 and 256, got \(threads)") }
        if let lr = learningRate, !(lr > 0 && lr.isFinite) { throw fail("--learning-rate must be positive, got \(lr)") }
        if let d = learningRateDecay, !(d >= 1 && d.isFinite) { throw fail("--lr-decay must be at least 1, got \(d)") }
        if !(minimumLearningRate >= 0 && minimumLearningRate.isFinite) { throw fail("--min-lr must be 0 or positive, got \(minimumLearningRate)") }
        if !(clipNorm >= 0 && clipNorm.isFinite) { throw fail("--clip-norm must be 0 (off) or positive and finite, got \(clipNorm)") }
        if patience < 0 { throw fail("--patience must be 0 (off) or positive, got \(patience)") }
        if maxDivergentSteps < 1 { throw fail("maxDivergentSteps must be at least 1, got \(maxDivergentSteps)") }
        if validationBatchSize < 1 { throw fail("--valid-batch-size must be at least 1, got \(validationBatchSize)") }
        if logSamples < 0 { throw fail("--log-samples cannot be negative, got \(logSamples)") }
        if reportEvery < 1 { throw fail("--report-every must be at least 1, got \(reportEvery)") }
        if saveEvery < 0 { throw fail("--save-every cannot be negative, got \(saveEvery)") }
        if xentEpochs < 0 { throw fail("--xent-epochs cannot be negative, got \(xentEpochs)") }
        if mixerDelta < 1 { throw fail("--mixer-delta must be at least 1, got \(mixerDelta)") }
        if mixerEpochsPerStep < 1 { throw fail("--mixer-epochs-per-step must be at least 1, got \(mixerEpochsPerStep)") }
        if !(temperature > 0 && temperature.isFinite) { throw fail("--temperature must be positive, got \(temperature)") }
        if !(baselineLearningRateFactor >= 0 && baselineLearningRateFactor.isFinite) {
            throw fail("--baseline-lr-factor must be 0 or positive and finite, got \(baselineLearningRateFactor)")
        }
        for (name, v) in [("--baseline-init-weight", baselineInitialWeight), ("--baseline-init-bias", baselineInitialBias)] where !v.isFinite {
            throw fail("\(name) must be finite, got \(v)")
        }
        if scstSamples < 1 { throw fail("--scst-samples must be at least 1, got \(scstSamples)") }
        if scstBaseline == .mean && scstSamples < 2 { throw fail("--scst-baseline mean needs --scst-samples 2 or more") }
        if riskCandidates < 2 { throw fail("--risk-candidates must be at least 2 (with one the risk has no gradient), got \(riskCandidates)") }
        if !(riskAlpha > 0 && riskAlpha.isFinite) { throw fail("--risk-alpha must be positive, got \(riskAlpha)") }
        if !(riskXentWeight >= 0 && riskXentWeight.isFinite) { throw fail("--risk-xent-weight cannot be negative, got \(riskXentWeight)") }
        if let w = coverageLossWeight, !(w >= 0 && w.isFinite) { throw fail("--coverage-loss-weight cannot be negative, got \(w)") }
        if !(labelSmoothing >= 0 && labelSmoothing < 1) { throw fail("--label-smoothing must be at least 0 and below 1, got \(labelSmoothing)") }
        if !["plus-one", "exp", "floor", "add-k", "none"].contains(rewardSmoothing) {
            throw fail("--reward-smoothing must be plus-one, exp, floor, add-k or none, got \(rewardSmoothing)")
        }
    }

    /// The reward as the Metrics module computes it.
    public var rewardMetric: RewardMetric {
        switch reward {
        case .bleu:
            if rewardSmoothing == "plus-one" { return .bleuPlusOne }
            return .bleu(BLEUSmoothing(rawValue: rewardSmoothing) ?? .exp)
        case .rouge1: return .rougeN(1, recall: rewardRecall)
        case .rouge2: return .rougeN(2, recall: rewardRecall)
        case .rougeL: return .rougeL(recall: rewardRecall)
        }
    }
}

/// An impossible option value.
public struct TrainerOptionsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

extension RunDirectory {
    /// `RUN/config.yaml`: the run's effective configuration as `mixer-cli train --config`
    /// reads it, with the command line that started the run (written at its start, kept on
    /// `--resume`).
    public var configuration: String { path + "/config.yaml" }

    /// Writes ``configuration`` atomically and durably (a temporary file, fsync, rename, fsync
    /// of the directory): the file holds the old or the whole new text, never a part.
    public func writeConfiguration(_ text: String) throws {
        try FileIO.replaceDurably(configuration, Array(text.utf8))
    }
}
