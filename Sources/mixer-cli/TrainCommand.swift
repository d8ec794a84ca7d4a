import ArgumentParser
import Foundation
import Metrics
import MixerOptions
import Seq2Seq
import Tokenize

extension TrainingObjective: ExpressibleByArgument {}
extension RewardName: ExpressibleByArgument {}
extension ValidationMetricName: ExpressibleByArgument {}
extension MixerLossWeighting: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension DADFeed: ExpressibleByArgument {}
extension SCSTBaseline: ExpressibleByArgument {}
extension RewardEOS: ExpressibleByArgument {}
extension RiskCandidateSource: ExpressibleByArgument {}
extension RiskDuplicates: ExpressibleByArgument {}
extension ModelConfig.EncoderKind: ExpressibleByArgument {}
extension LuongAttention.Score: ExpressibleByArgument {}
extension ModelConfig.Initialization: ExpressibleByArgument {}

/// Set by SIGINT, SIGTERM and SIGHUP; the trainer polls it after every step.
nonisolated(unsafe) var stopRequested: Int32 = 0

/// The handler of SIGINT, SIGTERM and SIGHUP: the first asks the trainer to stop after its
/// step and save; a later one says that the save is under way (async-signal-safe: one write).
private func stopSignalHandler(_ signal: Int32) {
    if stopRequested != 0 {
        let text = "mixer: stopping: saving the checkpoint, please wait (kill -9 would lose the work since the last checkpoint)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
    stopRequested = 1
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an attentive LSTM encoder-decoder with XENT, MIXER, DAD, SCST or minimum risk.",
        discussion: """
            Line N of the source file pairs with line N of the target file. With no data flags \
            the bundled corpus in data/ is used (data/train.src, data/train.tgt, data/valid.src, \
            data/valid.tgt, relative to the current directory). Each epoch ends with a \
            validation pass: perplexity, and the greedy output scored with BLEU and ROUGE exactly \
            as `mixer-cli score` scores it (the output is kept in DIR/valid/epoch-NNN.txt). DIR \
            gets log.jsonl (one JSON object per report), last/ and best/ checkpoints.

            Objectives:
              xent   cross-entropy with teacher forcing.
              mixer  --xent-epochs of XENT; then, every --mixer-epochs-per-step
                     epochs, --mixer-delta more of the last output steps are
                     sampled from the model and trained with REINFORCE (reward
                     --reward, learned linear baselines), until whole sequences
                     are.
              dad    scheduled sampling (--dad-schedule, --dad-feed).
              scst   self-critical REINFORCE; baseline r(greedy) or the mean
                     of the other --scst-samples.
              risk   minimum risk training: the expected cost 1 − reward over
                     --risk-candidates candidates per source (samples, the
                     beam's k-best or both: --risk-candidates-from; the
                     reference too with --risk-include-reference), weighted by
                     their length-normalized probabilities (sharpness
                     --risk-alpha), plus --risk-xent-weight × XENT.

            Defaults that follow the paper and this project's sweep \
            (experiments/results/sweep.md, docs/training.md): --objective mixer without \
            --epochs runs the whole annealing schedule down to s = 0, --xent-epochs + \
            ⌈T/Δ⌉ × --mixer-epochs-per-step epochs with T = --max-target-length + 1 \
            (from --init-from: --xent-epochs 0, so 8 epochs at T = 16, Δ = 2); \
            --baseline-lr-factor 1 (the reference code's 0.01 left the baselines \
            untrained under Adam); with --init-from and Adam, --learning-rate 0.0003 (the \
            rate of the sweep's continuations). A MIXER schedule that will not finish \
            within --epochs, or --xent-epochs that leave no REINFORCE epoch, is warned about \
            at the start (and in log.jsonl's start record). The reward counts where an \
            output ends (--reward-eos count): </s> is a token of the sample and of the \
            reference; a sample cut at the length limit has no </s> to match.

            --label-smoothing ε applies to every token-level loss (XENT, DAD, \
            MIXER's XENT steps, risk's XENT term); the logged loss stays the plain \
            cross-entropy.

            DIR is locked while a trainer owns it: a second train on it is refused. --output \
            refuses a directory that holds a run (continue it with --resume, or replace it with \
            --overwrite). Ctrl-C (SIGINT), SIGTERM or SIGHUP finishes the current step, saves \
            DIR/last and exits; --resume DIR goes on.

            --config FILE reads settings from a YAML file whose keys are the long option names \
            without -- (learning-rate: 0.001); flags on the command line override it. A new run \
            records its effective configuration and the exact command line in DIR/config.yaml, \
            which --config reads back.

            Under mpirun -np N (Open MPI, loaded at run time) N processes train one model \
            (every objective): each computes its share of every batch, the gradients are summed \
            before every update, rank 0 alone validates, prints and writes DIR; --resume works \
            with any N. Without mpirun it is a single process (the console says which).

            Examples:
              mixer-cli train --output runs/xent --epochs 10
              mixer-cli train --output runs/mixer --objective mixer \\
                --init-from runs/xent/best
              mixer-cli train --resume runs/mixer --epochs 8
              mixer-cli train --config runs/xent/config.yaml -o runs/xent-seed2 --seed 2
              mpirun -np 2 mixer-cli train --output runs/xent2 --threads 1
            """
    )

    // MARK: Data
    @Option(help: "Training sources (default: data/train.src).") var trainSource: String?
    @Option(help: "Training targets (default: data/train.tgt).") var trainTarget: String?
    @Option(help: "Validation sources (default: data/valid.src).") var validSource: String?
    @Option(help: "Validation targets (default: data/valid.tgt).") var validTarget: String?
    @Option(help: "A YAML file of settings: keys are these options' long names without --, such as 'learning-rate: 0.001' (flags: true or false); options given on the command line override it. RUN/config.yaml of a run is such a file.")
    var config: String?
    @Option(name: [.customShort("o"), .long], help: "The run directory (created; config.yaml, log.jsonl, last/, best/, valid/). It must not hold a run already: see --resume and --overwrite.") var output: String?
    @Option(help: "Continue the run in this directory exactly where its last/ checkpoint left off. Its saved options and data are used; flags given with --resume must equal them, except --epochs (to lengthen the run), --threads, --report-every, --save-every and --log-samples.")
    var resume: String?
    @Flag(help: "Remove the run that --output holds (its log, checkpoints and validation outputs; other files stay) and start a new one.")
    var overwrite = false
    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of failing.") var replaceInvalid = false
    @Option(help: "Start from this checkpoint's weights, vocabularies and model configuration (e.g. an XENT run's best/).")
    var initFrom: String?

    // MARK: Text
    @OptionGroup var tokenizer: TokenizerOptions
    @Option(help: "Source vocabulary size, specials included (word models).") var sourceVocabSize = 10_000
    @Option(help: "Target vocabulary size, specials included (word models).") var targetVocabSize = 10_000
    @Option(help: "Drop tokens seen fewer times than this (word models).") var minCount = 1
    @Option(help: "Truncate sources to this many tokens (pieces with --subword or --subword-model).") var maxSourceLength = 50
    @Option(help: "Truncate targets to this many tokens (T; </s> is added; pieces with --subword or --subword-model).") var maxTargetLength = 15
    @Option(help: "Subword vocabularies: train a SentencePiece model of this type (bpe or unigram) on the training data's words and use its pieces as the model's vocabulary (the model's outputs are joined back into words; rewards are counted on words).")
    var subword: SubwordType?
    @Option(help: "Pieces per SentencePiece model with --subword, the 4 specials and 256 byte pieces included.") var subwordVocabSize = 8000
    @Flag(help: "With --subword: one SentencePiece model per side (source, target) instead of one joint model.") var subwordSeparate = false
    @Option(help: "Subword vocabularies from this SentencePiece .model file (e.g. from `mixer-cli subword train`), for both sides.")
    var subwordModel: String?

    // MARK: Model
    @OptionGroup var shape: ModelShapeArguments
    @Option(help: "Encoder: bilstm or conv (the paper's convolutional attentive encoder).") var encoder: ModelConfig.EncoderKind = .bilstm
    @Option(help: "Luong attention score: general or dot.") var attention: LuongAttention.Score = .general
    @Flag(help: "Do not feed the attentional vector to the next step.") var noInputFeeding = false
    @Flag(help: "Copy attention (pointer-generator, See et al. 2017): the decoder may copy source words, including words outside the target vocabulary (with --subword or --subword-model it copies the source's pieces; every objective and --label-smoothing).")
    var copy = false
    @Flag(help: "Coverage (See et al. 2017, §2.3): the attention reads the sum of the earlier steps' attention, and training adds the coverage loss (with or without --copy; --objective xent, dad, mixer or scst).")
    var coverage = false
    @Option(help: "Initialisation: uniform (±scale) or normal (σ = scale; the paper's is normal 0.05).") var initialization: ModelConfig.Initialization = .uniform
    @Option(help: "Initialisation scale.") var initScale: Float = 0.1

    // MARK: Optimisation
    @Option(help: "Objective: xent, mixer, dad, scst or risk.") var objective: TrainingObjective = .xent
    @Option(help: "Epochs in all (default 10; for mixer the whole schedule: --xent-epochs + ⌈T/Δ⌉ × --mixer-epochs-per-step, T = --max-target-length + 1).") var epochs: Int?
    @Option(help: "Batch size.") var batchSize = 32
    @Option(help: "adam or sgd.") var optimizer: OptimizerKind = .adam
    @Option(help: "Learning rate (default 0.001 for adam, 0.2 for sgd; 0.0003 for adam with --init-from).") var learningRate: Double?
    @Option(help: "Divide the learning rate by this when validation stops improving (default 1.2 for sgd, off for adam).") var lrDecay: Double?
    @Option(help: "Stop when a decayed learning rate falls below this.") var minLr = 1e-5
    @Option(help: "Clip the global gradient norm (0 = off).") var clipNorm = 5.0
    @Option(help: "Stop after this many epochs without improvement (0 = never).") var patience = 0
    @Option(help: "Validation metric for best/ and schedules: rouge1, rouge2, rougeL, bleu or perplexity.") var validMetric: ValidationMetricName = .rouge2
    @Option(help: "Validation batch size.") var validBatchSize = 64
    @Option(help: "The seed of every random stream.") var seed: UInt64 = 1
    @Option(help: "Threads for the matrix products and the large loops (default: all cores; the trained weights are the same on any count).") var threads: Int?
    @Option(help: "Progress line every N steps.") var reportEvery = 20
    @Option(help: "Also save DIR/last every N steps (0 = at epoch ends).") var saveEvery = 0
    @Option(help: "Sample outputs logged per epoch.") var logSamples = 5

    // MARK: MIXER
    @Option(help: "MIXER: XENT epochs before REINFORCE starts (default 5; 0 with --init-from).") var xentEpochs: Int?
    @Option(help: "MIXER: Δ, steps moved to REINFORCE per stage.") var mixerDelta = 2
    @Option(help: "MIXER: epochs per stage.") var mixerEpochsPerStep = 1
    @Option(help: "Reward: bleu, rouge1, rouge2 or rougeL (sentence level, on ids).") var reward: RewardName = .rouge2
    @Option(help: "BLEU reward smoothing: plus-one (reference code), exp, floor, add-k, none.") var rewardSmoothing = "plus-one"
    @Flag(help: "ROUGE reward as recall instead of F.") var rewardRecall = false
    @Option(help: "Sampling temperature of REINFORCE steps.") var temperature = 1.0
    @Option(help: "Baseline regressors' learning-rate factor (reference code 0.01, which left them untrained under Adam).") var baselineLrFactor = 1.0
    @Option(help: "Baseline regressors' initial weight (reference 0).") var baselineInitWeight: Float = 0
    @Option(help: "Baseline regressors' initial bias (reference 0.01).") var baselineInitBias: Float = 0.01
    @Option(help: "MIXER loss weighting: sequence (paper) or reference (reference code: 0.5/0.5, XENT token mean, REINFORCE batch sum).") var lossWeighting: MixerLossWeighting = .sequence
    @Option(help: "Reward and </s>: count (</s> is a token of sample and reference: where the output ends is scored) or ignore (the words alone, as before this option).") var rewardEos: RewardEOS = .count

    // MARK: DAD and SCST
    @Option(help: "DAD schedule: inverse-sigmoid:K or linear:STEPS:MIN.") var dadSchedule = "inverse-sigmoid:500"
    @Option(help: "DAD: feed the model's sample or argmax.") var dadFeed: DADFeed = .sample
    @Option(help: "SCST: samples per source.") var scstSamples = 1
    @Option(help: "SCST baseline: greedy or mean (of the other samples).") var scstBaseline: SCSTBaseline = .greedy

    // MARK: Minimum risk training and label smoothing
    @Option(help: "Risk: k, candidates per source from each source of --risk-candidates-from (at least 2).") var riskCandidates = 8
    @Option(help: "Risk: candidates from sample (k samples), beam (the k-best of a beam of width k) or both.") var riskCandidatesFrom: RiskCandidateSource = .sample
    @Flag(help: "Risk: the reference is one more candidate of every source.") var riskIncludeReference = false
    @Option(help: "Risk: an output drawn twice for a source counts once (merge) or as drawn (keep).") var riskDuplicates: RiskDuplicates = .merge
    @Option(help: "Risk: α, the sharpness of the candidates' distribution over their length-normalized log-probabilities.") var riskAlpha = 1.0
    @Option(help: "Risk: weight of the XENT term on the references.") var riskXentWeight = 0.3
    @Option(help: "Label smoothing ε of the token-level losses (0 = off).") var labelSmoothing = 0.0
    @Option(help: "λ of the coverage loss λ·Σ min(a, c) on the teacher-forced steps (models with --coverage; default 1).") var coverageLossWeight: Double?

    func parsedDADSchedule() throws -> ScheduledSampling {
        let parts = dadSchedule.split(separator: ":").map(String.init)
        if parts.count == 2, parts[0] == "inverse-sigmoid", let k = Double(parts[1]), k >= 1 { return .inverseSigmoid(k: k) }
        if parts.count == 3, parts[0] == "linear", let n = Int(parts[1]), n >= 1, let m = Double(parts[2]), m >= 0, m <= 1 {
            return .linear(decaySteps: n, minimum: m)
        }
        throw ValidationError("--dad-schedule must be inverse-sigmoid:K (K ≥ 1) or linear:STEPS:MIN (0 ≤ MIN ≤ 1), got '\(dadSchedule)'")
    }

    /// The options of a new run. Defaults that depend on other options are resolved here and
    /// saved as values, so a run resumes with what it started with whatever later defaults say:
    /// `--xent-epochs` (0 from `--init-from`), `--learning-rate` (Adam from `--init-from`:
    /// ``TrainerOptions/continuationLearningRate``) and, for mixer, `--epochs` (the whole
    /// schedule over T = `maxTargetLength` + 1; the checkpoint's T with `--init-from`, which
    /// the caller passes once it is read).
    func trainerOptions(maxTargetLength: Int? = nil) throws -> TrainerOptions {
        var o = TrainerOptions()
        let continuing = initFrom != nil
        o.xentEpochs = xentEpochs ?? TrainerOptions.defaultXENTEpochs(continuing: continuing)
        o.mixerDelta = mixerDelta; o.mixerEpochsPerStep = mixerEpochsPerStep
        let wholeSchedule = o.mixerScheduleEpochs(steps: (maxTargetLength ?? self.maxTargetLength) + 1)
        o.objective = objective; o.epochs = epochs ?? (objective == .mixer ? wholeSchedule : 10); o.batchSize = batchSize; o.seed = seed; o.threads = threads ?? min(256, ProcessInfo.processInfo.activeProcessorCount)
        o.optimizer = optimizer; o.learningRateDecay = lrDecay
        o.learningRate = learningRate ?? (continuing && optimizer == .adam ? TrainerOptions.continuationLearningRate : nil)
        o.minimumLearningRate = minLr; o.clipNorm = clipNorm; o.patience = patience
        o.validationMetric = validMetric; o.validationBatchSize = validBatchSize; o.logSamples = logSamples
        o.reportEvery = reportEvery; o.saveEvery = saveEvery
        o.reward = reward; o.rewardSmoothing = rewardSmoothing; o.rewardRecall = rewardRecall
        o.temperature = temperature; o.baselineLearningRateFactor = baselineLrFactor
        o.baselineInitialWeight = baselineInitWeight; o.baselineInitialBias = baselineInitBias
        o.lossWeighting = lossWeighting; o.rewardEOS = rewardEos
        o.dadSchedule = try parsedDADSchedule(); o.dadFeed = dadFeed
        o.scstSamples = scstSamples; o.scstBaseline = scstBaseline
        o.riskCandidates = riskCandidates; o.riskAlpha = riskAlpha; o.riskXentWeight = riskXentWeight
        o.riskCandidatesFrom = riskCandidatesFrom; o.riskIncludeReference = riskIncludeReference; o.riskDuplicates = riskDuplicates
        o.labelSmoothing = labelSmoothing
        o.coverageLossWeight = coverageLossWeight ?? (coverage ? 1 : nil)
        return o
    }

    func modelConfig(sourceVocab: Int, targetVocab: Int) -> ModelConfig {
        var m = ModelConfig(sourceVocabSize: sourceVocab, targetVocabSize: targetVocab)
        m.embeddingSize = shape.embeddingSize; m.hiddenSize = shape.hiddenSize; m.encoderHiddenSize = shape.encoderHiddenSize
        m.encoder = encoder; m.attention = attention; m.inputFeeding = !noInputFeeding; m.dropout = shape.dropout
        m.initialization = initialization; m.initScale = initScale
        m.maxSourcePositions = max(m.maxSourcePositions, maxSourceLength)
        if copy { m.copy = true }
        if coverage { m.coverage = true }
        return m
    }

    func validate() throws {
        if resume == nil && output == nil { throw ValidationError("Give --output DIR for a new run, or --resume DIR to continue one.") }
        if resume != nil && output != nil { throw ValidationError("--resume continues a run in its own directory: give --resume DIR without --output.") }
        if resume != nil && overwrite { throw ValidationError("--overwrite starts a new run and --resume continues one: give one of them.") }
        if let output, output.isEmpty { throw ValidationError("--output needs a directory name.") }
        if let resume, resume.isEmpty { throw ValidationError("--resume needs a run directory.") }
        for (name, v) in [("--source-vocab-size", sourceVocabSize), ("--target-vocab-size", targetVocabSize)] where v < 5 {
            throw ValidationError("\(name) must be at least 5 (4 specials and one token), got \(v)")
        }
        if minCount < 1 { throw ValidationError("--min-count must be at least 1, got \(minCount)") }
        for (name, v) in [("--max-source-length", maxSourceLength), ("--max-target-length", maxTargetLength)] where v < 1 || v > RunConfig.lengthLimit {
            throw ValidationError("\(name) must be between 1 and \(RunConfig.lengthLimit), got \(v)")
        }
        if !(initScale > 0 && initScale.isFinite) { throw ValidationError("--init-scale must be positive, got \(initScale)") }
        if subword != nil && subwordModel != nil {
            throw ValidationError("--subword trains a SentencePiece model and --subword-model uses one: give one of them.")
        }
        if subword == nil && subwordModel == nil && subwordSeparate {
            throw ValidationError("--subword-separate needs --subword bpe|unigram.")
        }
        if subwordModel != nil && subwordSeparate {
            throw ValidationError("--subword-model segments both sides with one model: drop --subword-separate.")
        }
        if subwordVocabSize < 261 || subwordVocabSize > 1_000_000 {
            throw ValidationError("--subword-vocab-size must be between 261 (4 specials, 256 byte pieces and one more) and 1000000, got \(subwordVocabSize)")
        }
        if initFrom != nil && (subword != nil || subwordModel != nil) {
            throw ValidationError("--init-from uses the checkpoint's vocabularies (words or pieces): drop --subword and --subword-model.")
        }
        if copy && initFrom != nil {
            throw ValidationError("--init-from uses the checkpoint's model configuration (with or without copy): drop --copy")
        }
        if coverage && initFrom != nil {
            throw ValidationError("--init-from uses the checkpoint's model configuration (with or without coverage): drop --coverage")
        }
        if coverageLossWeight != nil && !coverage && initFrom == nil && resume == nil {
            throw ValidationError("--coverage-loss-weight weights the coverage loss: add --coverage")
        }
        do { try trainerOptions().validate() } catch let e as TrainerOptionsError { throw ValidationError(e.message) }
        if coverage, let refusal = Trainer.coverageRefusal(try trainerOptions()) { throw ValidationError(refusal) }
        do { try modelConfig(sourceVocab: sourceVocabSize, targetVocab: targetVocabSize).validate() } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let group = try reportingErrors { try ProcessGroup.join() }
        do {
            try reportingErrors { try train(group) }
        } catch let e as ExitCode where e.rawValue == 130 {
            group.finalize()   // interrupted and saved: a clean end on every rank
            throw e
        }
        group.finalize()
    }

    /// Under `mpirun -np N` (N > 1) every rank runs this: rank 0 does what a single process
    /// does; the others read the same data, train their shards, print nothing and never touch
    /// the run directory (docs/distributed.md). An error on any rank ends the job: the rank
    /// exits non-zero without `MPI_Finalize`, and `mpirun` stops the others.
    func train(_ group: ProcessGroup) throws {
        if let resume { return try resumeRun(resume, group: group) }
        let output = self.output!
        let writer = group.isWriter
        // The run directory first: locked (one trainer per run), checked and writable
        // before any data is read. Only rank 0 touches it.
        let run = RunDirectory(output)
        let lock = writer ? try RunLock(run) : nil
        // A run that fails before writing anything (bad data, say) leaves no empty directory.
        var started = false
        defer { if !started { lock?.removeIfUnused() } }
        if writer && run.holdsRun {
            guard overwrite else {
                // A run killed before its first save has nothing --resume could continue.
                guard pathExists(run.last) || run.isLegacyLayout else {
                    throw CLIError("\(output) holds a run that stopped before its first save (\(Self.describeRun(run)), no checkpoint): start it again with --overwrite (which deletes it)")
                }
                throw CLIError("\(output) already holds a run (\(Self.describeRun(run))): continue it with --resume \(output), or start a new one there with --overwrite (which deletes it)")
            }
            try run.removeRun()
            printNote("removed the run that was in \(output) (--overwrite)")
        }
        let files = [trainSource ?? "data/train.src", trainTarget ?? "data/train.tgt",
                     validSource ?? "data/valid.src", validTarget ?? "data/valid.tgt"]
        if trainSource == nil && !FileManager.default.fileExists(atPath: files[0]) {
            throw CLIError("no training data given and data/train.src is not here: run from the repository root (for the bundled corpus) or pass --train-source, --train-target, --valid-source and --valid-target")
        }
        let settings = TokenizerSettings(normalization: tokenizer.normalization, lowercase: tokenizer.lowercase, locale: tokenizer.locale)
        var initial: TrainedModel? = nil
        if let initFrom {
            initial = try TrainedModel(directory: initFrom)
            if writer { printNote("starting from \(initial!.directory): its model configuration, tokenizer settings and vocabularies are used") }
        }
        let options = try trainerOptions(maxTargetLength: initial?.config.maxTargetLength)
        let progress = Self.progressPrinter(group)
        let fingerprints = DataFingerprints()
        var plan: SubwordPlan? = nil
        var subwordSettings: SubwordSettings? = nil
        if let initial, let models = initial.subword {
            plan = .use(models)
        } else if let subwordModel {
            let model: SubwordModel
            do { model = try SubwordModel(contentsOfFile: subwordModel) } catch let e as InputError {
                throw CLIError("--subword-model \(e)")
            }
            plan = .use(SubwordModels(source: model, target: model))
            subwordSettings = SubwordSettings(type: "given", vocabularySize: model.vocabulary.count, joint: true)
        } else if let subword {
            plan = .train(SubwordTrainingOptions(type: subword, vocabularySize: subwordVocabSize, threads: 1), joint: !subwordSeparate)
            subwordSettings = SubwordSettings(type: subword.rawValue, vocabularySize: subwordVocabSize, joint: !subwordSeparate)
            progress.message("reading \(files[0]) and \(files[1]) and training \(subwordSeparate ? "two" : "one") SentencePiece \(subword.rawValue) model\(subwordSeparate ? "s" : "") of \(subwordVocabSize) pieces …")
        }
        progress.message("reading and tokenizing \(files[0]) …")
        let data: TrainingData
        do {
            data = try TrainingData.load(
            trainSource: files[0], trainTarget: files[1], validSource: files[2], validTarget: files[3],
            tokenizer: initial?.config.tokenizer ?? settings,
            sourceVocabulary: .init(minCount: minCount, maxSize: sourceVocabSize),
            targetVocabulary: .init(minCount: minCount, maxSize: targetVocabSize),
            maxSourceLength: initial?.config.maxSourceLength ?? maxSourceLength,
            maxTargetLength: initial?.config.maxTargetLength ?? maxTargetLength,
            replaceInvalid: replaceInvalid,
            existingVocabularies: initial.map { ($0.sourceVocabulary, $0.targetVocabulary) },
            fingerprints: fingerprints, subword: plan, copy: initial?.config.model.copyEnabled ?? copy)
        } catch let e as SubwordError {
            // SentencePiece fails both ways: fewer pieces than the text's characters need, or
            // more than the text can give ("Vocabulary size too high").
            let hint = e.description.contains("smaller than required_chars") ? "try a larger --subword-vocab-size"
                : e.description.contains("too high") ? "try a smaller --subword-vocab-size" : "check --subword-vocab-size"
            throw CLIError("--subword: \(e.description) (\(hint))")
        }
        progress.message("\(data.trainSources.count) training pairs, \(data.validSources.count) validation pairs; vocabularies \(data.sourceVocabulary.count) / \(data.targetVocabulary.count); truncated \(data.truncatedSources) sources and \(data.truncatedTargets) targets; skipped \(data.skippedPairs) pairs with an empty side")
        for w in data.truncationWarnings(maxSourceLength: initial?.config.maxSourceLength ?? maxSourceLength,
                                         maxTargetLength: initial?.config.maxTargetLength ?? maxTargetLength) {
            progress.message("warning: " + w)
        }
        let runConfig = initial?.config ?? RunConfig(
            model: modelConfig(sourceVocab: data.sourceVocabulary.count, targetVocab: data.targetVocabulary.count),
            tokenizer: settings, maxSourceLength: maxSourceLength, maxTargetLength: maxTargetLength,
            mixerVersion: mixerVersion, subword: subwordSettings)
        let trainer = try Trainer(options: options, runConfig: runConfig, data: data, runDirectory: output,
                                  progress: progress, lock: lock, group: group)
        if let initial { trainer.model.params.copy(from: initial.model.params) }
        trainer.dataFingerprint = Self.fingerprint(files, fingerprints, replaceInvalid: replaceInvalid)
        trainer.arguments = Self.runArguments(invocationArguments)
        started = true
        // The effective configuration and the exact command line, for --config and for the record.
        if writer { try run.writeConfiguration(TrainConfigFile.render(self, options: options, argv: CommandLine.arguments)) }
        try Self.runTraining(trainer, output: output, progress: progress)
    }

    /// The console of `group`'s rank: standard error on rank 0, nothing on the others.
    static func progressPrinter(_ group: ProcessGroup) -> ProgressPrinter {
        group.isWriter ? ProgressPrinter() : ProgressPrinter(inPlace: false) { _ in }
    }

    static let dataKeys = ["train_source", "train_target", "valid_source", "valid_target"]

    /// What a run directory holds, for the refusal message.
    static func describeRun(_ run: RunDirectory) -> String {
        if let records = try? TrainingLog.read(run.log), !records.isEmpty {
            let epochs = records.filter { if case .epoch = $0 { true } else { false } }.count
            return "log.jsonl with \(epochs) epoch\(epochs == 1 ? "" : "s")"
        }
        return "a log or checkpoints"
    }

    /// Paths and SHA-256 of the four data files, as they were read, saved in each checkpoint
    /// for --resume; an input that was not a regular file is marked so.
    static func fingerprint(_ files: [String], _ fingerprints: DataFingerprints, replaceInvalid: Bool) -> [String: String] {
        var f: [String: String] = [:]
        for (k, path) in zip(dataKeys, files) {
            f[k] = URL(fileURLWithPath: path).standardizedFileURL.path
            if let (sum, regular) = fingerprints.files[path] {
                f[k + "_sha256"] = sum
                if !regular { f[k + "_not_regular"] = "true" }
            }
        }
        f["replace_invalid"] = replaceInvalid ? "true" : "false"
        return f
    }

    /// The arguments of `train` as saved with a run (what --resume compares its flags with):
    /// everything after `train` but `--output DIR` (or `-o DIR`) and `--overwrite`.
    static func runArguments(_ all: [String]) -> [String] {
        var out: [String] = []
        var i = all.firstIndex(of: "train").map { $0 + 1 } ?? 0
        while i < all.count {
            let a = all[i]
            if a == "--output" || a == "-o" { i += 2; continue }
            if a.hasPrefix("--output=") || a == "--overwrite" { i += 1; continue }
            out.append(a)
            i += 1
        }
        return out
    }

    /// The flags of `train` that take no value.
    static let booleanFlags: Set<String> = ["--replace-invalid", "--no-input-feeding", "--reward-recall", "--lowercase", "--overwrite", "--help", "--risk-include-reference", "--subword-separate", "--copy", "--coverage"]

    /// Flags that may differ from the saved run on --resume: its length and its reporting.
    static let flagsFreeOnResume: Set<String> = ["--resume", "--epochs", "--threads", "--report-every", "--save-every", "--log-samples"]

    /// Everything the flags decide about a run's result, by group (for comparing a resume's
    /// flags with the saved run's).
    func settingsAffectingResults() -> [String: String] {
        var o = (try? trainerOptions()) ?? TrainerOptions()
        o.epochs = 0; o.threads = 0; o.reportEvery = 0; o.saveEvery = 0; o.logSamples = 0
        func json<T: Encodable>(_ v: T) -> String {
            let e = JSONEncoder()
            e.outputFormatting = .sortedKeys
            e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return (try? e.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        }
        let files = [trainSource ?? "data/train.src", trainTarget ?? "data/train.tgt",
                     validSource ?? "data/valid.src", validTarget ?? "data/valid.tgt"]
        return [
            "options": json(o),
            "model": json(modelConfig(sourceVocab: 0, targetVocab: 0)),
            "text": "\(tokenizer.normalization.rawValue) \(tokenizer.lowercase) \(tokenizer.locale) \(sourceVocabSize) \(targetVocabSize) \(minCount) \(maxSourceLength) \(maxTargetLength) \(replaceInvalid) \(subword?.rawValue ?? "-") \(subwordVocabSize) \(subwordSeparate) \(subwordModel ?? "-")",
            "data": files.map { URL(fileURLWithPath: $0).standardizedFileURL.path }.joined(separator: "\n"),
            "init": initFrom ?? "",
        ]
    }

    /// The flags given with --resume (other than the free ones) whose values differ from the
    /// run's saved arguments, each as a message.
    func resumeConflicts(saved: [String], given: [String]) -> [String] {
        // Parsing runs validate(), which wants a destination: any path does.
        let base = ["--output", "/dev/null/compare"] + saved
        guard let original = try? TrainCommand.parse(base) else { return ["the run's saved arguments no longer parse"] }
        let reference = original.settingsAffectingResults()
        var problems: [String] = []
        var i = 0
        while i < given.count {
            let token = given[i]
            i += 1
            guard token.hasPrefix("--") else { continue }
            let name = String(token.split(separator: "=", maxSplits: 1)[0])
            var override = [token]
            if !token.contains("=") && !Self.booleanFlags.contains(name) && i < given.count {
                override.append(given[i])
                i += 1
            }
            if Self.flagsFreeOnResume.contains(name) { continue }
            guard let changed = try? TrainCommand.parse(base + override) else {
                problems.append("\(override.joined(separator: " ")) is not valid with the run's saved arguments")
                continue
            }
            if changed.settingsAffectingResults() != reference {
                let was = Self.value(of: name, in: saved).map { "\(name) \($0)" } ?? "its default"
                problems.append("\(override.joined(separator: " ")) differs from the run, which was started with \(was)")
            }
        }
        return problems
    }

    /// The value given for `flag` in `arguments` (the last one), "" for a flag without value,
    /// or nil when it is absent.
    static func value(of flag: String, in arguments: [String]) -> String? {
        var found: String?
        for (i, a) in arguments.enumerated() {
            if a == flag { found = i + 1 < arguments.count && !arguments[i + 1].hasPrefix("--") ? arguments[i + 1] : "" }
            else if a.hasPrefix(flag + "=") { found = String(a.dropFirst(flag.count + 1)) }
        }
        return found
    }

    static func runTraining(_ trainer: Trainer, output: String, progress: ProgressPrinter) throws {
        let options = trainer.options
        for s in [SIGINT, SIGTERM, SIGHUP] { signal(s, stopSignalHandler) }
        trainer.shouldStop = { stopRequested != 0 }
        let processes = trainer.group.size == 1 ? "single process" : "\(trainer.group.size) processes (Open MPI)"
        progress.message("training \(options.objective.rawValue) for \(options.epochs) epochs (\(trainer.model.params.count) parameters, \(PackedMatrix.kernelName) kernels, \(options.threads) thread(s), \(processes)) into \(output)")
        let summary = try trainer.train()
        guard trainer.group.isWriter else {
            if summary.interrupted { throw ExitCode(130) }
            return
        }
        if summary.interrupted {
            printNote("stopped: \(summary.reason)")
            throw ExitCode(130)
        }
        // On the console's scale: BLEU and perplexity as they are, ROUGE ×100.
        let metric = options.validationMetric
        let best = summary.bestMetric.map { String(format: "%.2f", metric == .bleu || metric == .perplexity ? $0 : 100 * $0) } ?? "–"
        printNote("done (\(summary.reason)); best valid \(options.validationMetric.rawValue) \(best) at epoch \(summary.bestEpoch ?? 0); checkpoints in \(output)/best and \(output)/last")
    }

    /// `--resume DIR`: lock DIR, open DIR/last, check the flags given against the saved run,
    /// reread the same data (checked by SHA-256) with the saved vocabularies, and continue.
    func resumeRun(_ dir: String, group: ProcessGroup = .single) throws {
        let run = RunDirectory(dir)
        let writer = group.isWriter
        guard pathIsDirectory(dir) else { throw CLIError("\(dir): no such run directory") }
        let lock = writer ? try RunLock(run) : nil
        if run.isLegacyLayout {
            throw CLIError("\(run.last) is a plain directory: this run was written by an older mixer; it can be read (decode, evaluate, --init-from) but not resumed: start a new run with --init-from \(run.last)")
        }
        guard pathExists(run.last) else {
            throw CLIError("\(dir) has no checkpoint to resume from (the run stopped before its first save): start it again with --output \(dir) --overwrite")
        }
        let checkpoint = try Checkpoint.open(run.last)
        var options = try Trainer.savedOptions(checkpoint)
        let stateFile = run.last + "/" + Checkpoint.stateFile
        // Flags given now must match the run (but the few that may change).
        if let saved = checkpoint.state.arguments {
            let problems = resumeConflicts(saved: saved, given: Self.runArguments(invocationArguments))
            if !problems.isEmpty {
                throw CLIError("--resume continues the run as it was started: \(problems.joined(separator: "; ")) (only --epochs, --threads, --report-every, --save-every and --log-samples may change)")
            }
        }
        let savedEpochs = options.epochs
        if let epochs {
            guard epochs >= checkpoint.state.epoch else {
                throw CLIError("--epochs \(epochs) is fewer than the \(checkpoint.state.epoch) epochs the run has done")
            }
            options.epochs = epochs
        }
        let given = Self.runArguments(invocationArguments)
        if let threads { options.threads = threads }
        if Self.value(of: "--report-every", in: given) != nil { options.reportEvery = reportEvery }
        if Self.value(of: "--save-every", in: given) != nil { options.saveEvery = saveEvery }
        if Self.value(of: "--log-samples", in: given) != nil { options.logSamples = logSamples }
        // A run that ended between its last checkpoint and the end of its log gets its log back.
        if writer { try Trainer.restoreLog(TrainingLog(path: run.log), to: checkpoint.state) }
        if let finished = checkpoint.state.finished, options.epochs <= savedEpochs || checkpoint.state.epoch >= options.epochs {
            if writer { printNote("\(dir): the run has finished (\(finished)) after \(checkpoint.state.epoch) epochs; nothing to do: pass --epochs N with N above \(max(savedEpochs, checkpoint.state.epoch)) to train it longer") }
            return
        }
        if checkpoint.state.epoch >= options.epochs {
            if writer { printNote("\(dir): the run has already done its \(options.epochs) epochs; pass --epochs N to train more") }
            return
        }
        let runConfig = try checkpoint.config(RunConfig.self)
        guard let saved = checkpoint.state.dataFingerprint else {
            throw StorageError(stateFile, "does not record the training data files")
        }
        var files: [String] = []
        var sums: [String] = []
        for k in Self.dataKeys {
            guard let path = saved[k], let sum = saved[k + "_sha256"] else {
                throw StorageError(stateFile, "does not record \(k)")
            }
            let what = k.replacingOccurrences(of: "_", with: " ")
            if saved[k + "_not_regular"] == "true" {
                throw CLIError("\(path): the run read its \(what) from a pipe or device, which cannot be read again: a run can be resumed only when its data came from regular files")
            }
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError("\(path): the run's \(what) file is gone; --resume needs the same data")
            }
            files.append(path)
            sums.append(sum)
        }
        let replace = saved["replace_invalid"] == "true"
        let sourceVocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: checkpoint.sourceVocabularyPath))
        let targetVocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: checkpoint.targetVocabularyPath))
        let subwordModels = try TrainedModel.subwordModels(checkpoint, config: runConfig, sourceVocabulary: sourceVocabulary,
                                                           targetVocabulary: targetVocabulary)
        let progress = Self.progressPrinter(group)
        let fingerprints = DataFingerprints()
        let data = try TrainingData.load(
            trainSource: files[0], trainTarget: files[1], validSource: files[2], validTarget: files[3],
            tokenizer: runConfig.tokenizer, sourceVocabulary: .init(), targetVocabulary: .init(),
            maxSourceLength: runConfig.maxSourceLength, maxTargetLength: runConfig.maxTargetLength,
            replaceInvalid: replace, existingVocabularies: (sourceVocabulary, targetVocabulary),
            fingerprints: fingerprints, subword: subwordModels.map { .use($0) }, copy: runConfig.model.copyEnabled)
        for (path, sum) in zip(files, sums) where fingerprints.files[path]?.sha256 != sum {
            throw CLIError("\(path): changed since the run started (SHA-256 differs); --resume needs the same data")
        }
        let trainer = try Trainer(options: options, runConfig: runConfig, data: data, runDirectory: dir,
                                  progress: progress, lock: lock, group: group)
        trainer.dataFingerprint = Self.fingerprint(files, fingerprints, replaceInvalid: replace)
        if let a = checkpoint.state.arguments { trainer.arguments = a }
        try trainer.restore(from: checkpoint)
        if checkpoint.state.finished != nil { trainer.reopen() }
        let longer = options.epochs != savedEpochs ? " (--epochs \(savedEpochs) → \(options.epochs))" : ""
        progress.message("resuming \(dir) at epoch \(trainer.state.epoch + 1) of \(options.epochs), step \(trainer.state.step)\(longer)")
        try Self.runTraining(trainer, output: dir, progress: progress)
    }
}

private func pathIsDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}

private func pathExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
