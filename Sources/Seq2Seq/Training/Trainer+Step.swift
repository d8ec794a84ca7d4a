import Foundation
import Metrics
import Tokenize

extension Trainer {
    /// One update on `batch` in a stage with `s` teacher-forced steps: the objective adds its
    /// gradients (``Objective/step(_:_:)``, with the trainer's random streams in the context and
    /// back after), then ``update(_:)``.
    ///
    /// In a group of N > 1 processes (docs/distributed.md) the objective sees this rank's rows
    /// of `batch` (``RowShard``), and ``reduce(_:)`` — the one place where ranks meet within a
    /// step, apart from the counts a sampling objective sums — adds every rank's gradients and
    /// statistics before the update, so every rank applies the same one.
    func trainStep(_ batch: Batch, s: Int) throws -> StepStatistics {
        let t0 = Date()
        if !gradientsCleared { model.grads.zero() }
        gradientsCleared = false
        baseline?.grads.zero()
        var context = objectiveContext(s: s)
        var shardBatch = batch
        var overlapped: OverlappedReduction? = nil
        if group.size > 1 {
            let shard = RowShard(batch: batch, rank: group.rank, size: group.size)
            shardBatch = shard.slice(batch)
            context.shard = shard
            context.group = group
            model.dropoutShard = shard
            if let o = overlappedReduction, overlapsReduction(s: s, shard: shard) {
                o.arm()
                model.gradientsReady = { o.ready($0) }
                overlapped = o
            }
        }
        defer {
            model.dropoutShard = nil
            model.gradientsReady = nil
        }
        var st = try objective.step(shardBatch, &context)
        dropoutRNG = context.dropout
        samplingRNG = context.sampling
        if group.size > 1 { reduce(&st, overlapped: overlapped) }
        st.targetTokens = batch.targetTokens
        try update(&st)
        st.seconds = Date().timeIntervalSince(t0)
        return st
    }

    /// Sums the ranks' gradients (the model's, then the baseline regressors') and step
    /// statistics in place: the model's by ``GradientReduction`` (in buckets; the embedding
    /// tables' rows that some rank touched, the rest whole), finishing `overlapped` when the
    /// buckets went during backward; the others by one `MPI_Allreduce` each. The
    /// losses are already divided by the global batch's counts, so their sum is the global
    /// batch's loss. The stop requests (signals) are summed too, so every rank stops after the
    /// same step.
    func reduce(_ st: inout StepStatistics, overlapped: OverlappedReduction? = nil) {
        if let overlapped { overlapped.finish() } else { gradientReduction.sum(model.grads, over: group) }
        if let b = baseline { group.sum(b.grads.storage, count: b.grads.count) }
        var v = [st.xentLoss, Double(st.xentTokens), st.rewardSum, Double(st.rewardCount), st.advantageSum,
                 st.advantageSquares, Double(st.advantageCount), st.baselineSSE, Double(st.baselineCount),
                 shouldStop() ? 1 : 0]
        group.sum(&v)
        st.xentLoss = v[0]
        st.xentTokens = Int(v[1])
        st.rewardSum = v[2]
        st.rewardCount = Int(v[3])
        st.advantageSum = v[4]
        st.advantageSquares = v[5]
        st.advantageCount = Int(v[6])
        st.baselineSSE = v[7]
        st.baselineCount = Int(v[8])
        st.stopRequested = v[9] > 0
    }

    /// Whether the step's reduction may overlap its backward pass (``OverlappedReduction``): the
    /// objective runs exactly one backward pass and leaves the gradients as it wrote them — not
    /// risk (XENT's pass, then the candidates'), not MIXER's XENT stages (which scale the
    /// gradients after backward).
    func overlapsReduction(s: Int, shard: RowShard) -> Bool {
        switch options.objective {
        case .xent, .dad, .scst: return true
        case .mixer: return s < shard.globalTargetLength
        case .risk: return false
        }
    }

    /// The context of a step at `s` now: the model, options, baselines, reward, and copies of
    /// the trainer's random streams (``trainStep(_:s:)`` takes them back after the step).
    func objectiveContext(s: Int) -> ObjectiveContext {
        ObjectiveContext(model: model, options: options, steps: steps, s: s, globalStep: state.globalStep,
                         baseline: baseline, reward: SequenceReward(options, words: rewardWords),
                         dropout: dropoutRNG, sampling: samplingRNG)
    }

    /// Clipping, the divergence guard (``DivergenceGuard``: non-finite or exploding loss or
    /// gradient, the baseline regressors' included), and the optimizer steps.
    func update(_ st: inout StepStatistics) throws {
        let clip = GradientClipping.clip(model.grads, maxNorm: options.clipNorm > 0 ? options.clipNorm : nil)
        st.gradientNorm = clip.norm
        let loss: Double? = st.xentTokens > 0 ? st.xentLoss : nil
        let auxiliaryNorm = baseline.map { GradientClipping.globalNorm($0.grads) }
        if let problem = state.divergence.problem(loss: loss, gradientNorm: clip.norm, auxiliaryNorm: auxiliaryNorm,
                                                  vocabularySize: model.config.targetVocabSize) {
            st.skipped = true
            let abort = state.divergence.recordSkip(optimizer)
            state.learningRate = optimizer.learningRate
            baselineOptimizer?.learningRate = state.learningRate * options.baselineLearningRateFactor
            try log?.append(.skippedStep(SkippedStepRecord(globalStep: state.globalStep, reason: problem, learningRate: state.learningRate)))
            progress.message("warning: \(problem) at step \(state.globalStep): update skipped, learning rate lowered to \(state.learningRate)")
            if abort {
                throw TrainingError("training diverged: \(options.maxDivergentSteps) updates in a row skipped (the last at global step \(state.globalStep): \(problem)); \(lastCheckpointDescription)")
            }
            return
        }
        state.divergence.recordGoodStep(loss: loss, gradientNorm: clip.norm, auxiliaryNorm: auxiliaryNorm)
        optimizer.update(parameters: model.params, gradients: model.grads)
        gradientsCleared = (optimizer as? Adam)?.zeroesGradients ?? false
        if let b = baseline, let bo = baselineOptimizer { bo.update(parameters: b.params, gradients: b.grads) }
    }
}

/// A training run cannot go on (divergence, bad state).
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
