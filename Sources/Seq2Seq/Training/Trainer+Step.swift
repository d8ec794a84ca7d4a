import Foundation
import Metrics
import Tokenize

extension Trainer {
    /// One update on `batch` in a stage with `s` teacher-forced steps: the objective adds its
    /// gradients (``Objective/step(_:_:)``, with the trainer's random streams in the context and
    /// back after), then ``update(_:)``.
    func trainStep(_ batch: Batch, s: Int) throws -> StepStatistics {
        let t0 = Date()
        if !gradientsCleared { model.grads.zero() }
        gradientsCleared = false
        baseline?.grads.zero()
        var context = objectiveContext(s: s)
        var st = try objective.step(batch, &context)
        dropoutRNG = context.dropout
        samplingRNG = context.sampling
        st.targetTokens = batch.targetTokens
        try update(&st)
        st.seconds = Date().timeIntervalSince(t0)
        return st
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
            try log.append(.skippedStep(SkippedStepRecord(globalStep: state.globalStep, reason: problem, learningRate: state.learningRate)))
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
