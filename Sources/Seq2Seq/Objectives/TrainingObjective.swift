/// What one training step of an objective does: turn a batch into gradients added into
/// `context.model.grads` (and the baseline regressors' when it has them), and report what it
/// measured. The trainer holds one, made once by ``makeObjective(_:steps:)`` from the options,
/// and calls it with no knowledge of which it is: it clears the gradients before, and clips,
/// guards against divergence and steps the optimizers after.
///
/// Every objective here is the same pipeline (see `docs/design.md`, "Objectives"): encode,
/// run the decoder for T steps with a rule that picks each step's input (ground truth, the
/// model's own sample, or a mix: ``Rollout``), form the gradient at the logits (XENT's in
/// ``CrossEntropy``, REINFORCE's in ``PolicyGradient``) and backpropagate once through the
/// model, which exposes forward and backward and names no objective. A new objective (label
/// smoothing, minimum risk training over n-best or sampled candidates, …) is one file that
/// conforms to this protocol plus one case in ``makeObjective(_:steps:)``.
///
/// Random streams: the context's `dropout` and `sampling` generators are the trainer's, passed
/// in and taken back after the step (one way, `inout`, for every objective). Their consumption
/// order is part of the result: the same seed must give the same weights.
protocol Objective {
    /// The epoch's stage name ("xent", "mixer", "reinforce", "dad", "scst", …) for the log and
    /// console, and s: how many leading output steps are teacher-forced (T: all of them).
    /// - Parameter epoch: 1-based.
    func stage(epoch: Int) -> (name: String, s: Int)

    /// The share of decoder steps fed the model's own output in a stage with `s` teacher-forced
    /// steps, at update `globalStep` (for the console; nil or 0 prints nothing).
    func sampledFraction(s: Int, globalStep: Int) -> Double?

    /// Whether the trainer must make MIXER's learned baselines (``BaselineRegressors``, trained
    /// and saved with the model; the context passes them).
    var usesBaselineRegressors: Bool { get }

    /// One step on `batch`: adds the gradient of the objective's loss into the model's
    /// gradients (cleared by the caller) and returns the step's loss, reward and baseline
    /// statistics (`targetTokens`, `seconds`, `gradientNorm` and `skipped` are the trainer's).
    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics
}

extension Objective {
    func sampledFraction(s: Int, globalStep: Int) -> Double? { nil }
    var usesBaselineRegressors: Bool { false }
}

/// Everything a step may read, and the random streams it draws from.
struct ObjectiveContext {
    /// The model: forward (`encode`, `decodeForTraining`) and backward, adding into `grads`.
    let model: EncoderDecoder
    let options: TrainerOptions
    /// T, the decoder steps of a sampled sequence: the longest target plus `</s>`.
    let steps: Int
    /// s of the epoch (``Objective/stage(epoch:)``).
    let s: Int
    /// Updates done before this one (scheduled sampling's i).
    let globalStep: Int
    /// MIXER's learned baselines, when ``Objective/usesBaselineRegressors``; their gradients
    /// are cleared by the caller and stepped after.
    let baseline: BaselineRegressors?
    /// The sequence reward of sampled outputs (`--reward`).
    let reward: SequenceReward
    /// Dropout masks, the stream `"dropout"` split off the run's seed.
    var dropout: RandomGenerator
    /// Sampled tokens and scheduled sampling's coin flips, the stream `"sampling"`.
    var sampling: RandomGenerator
    /// Under data parallelism, which rows of the global batch the step's batch is; the step
    /// normalizes by the global batch's counts and draws each row's random numbers where one
    /// process draws them (docs/distributed.md). nil in a single process.
    var shard: RowShard? = nil
    /// The processes of the run (``ProcessGroup/single`` without MPI): for the counts an
    /// objective must sum over all ranks within a step (MIXER's sampled steps).
    var group: ProcessGroup = .single
}

/// The objective `options.objective` names, for decoder runs of `steps` (T) steps: the one
/// place that maps the option to a type.
func makeObjective(_ options: TrainerOptions, steps: Int) -> any Objective {
    switch options.objective {
    case .xent: return XENTObjective(steps: steps)
    case .mixer:
        return MIXERObjective(steps: steps,
                              schedule: MixerSchedule(maxTargetLength: steps, xentEpochs: options.xentEpochs,
                                                      delta: options.mixerDelta, epochsPerStep: options.mixerEpochsPerStep),
                              weighting: options.lossWeighting, temperature: options.temperature)
    case .dad: return DADObjective(steps: steps, schedule: options.dadSchedule, feed: options.dadFeed)
    case .scst: return SCSTObjective(steps: steps, samples: options.scstSamples, baseline: options.scstBaseline,
                                     temperature: options.temperature, greedyBatchSize: options.validationBatchSize,
                                     weighting: options.lossWeighting)
    case .risk: return RiskObjective(steps: steps, candidates: options.riskCandidates, alpha: options.riskAlpha,
                                     xentWeight: Float(options.riskXentWeight), temperature: options.temperature,
                                     source: options.riskCandidatesFrom, includeReference: options.riskIncludeReference,
                                     duplicates: options.riskDuplicates, beamBatchSize: options.validationBatchSize)
    }
}
