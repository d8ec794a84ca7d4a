import Foundation

/// Scheduled sampling ("data as demonstrator", DAD): the probability ε_i of feeding the
/// ground-truth token, rather than the model's own sample, at training update i (Bengio et al.,
/// *Scheduled Sampling for Sequence Prediction with Recurrent Neural Networks*, NeurIPS 2015,
/// [arXiv:1506.03099](https://arxiv.org/abs/1506.03099)). The loss stays XENT against the
/// ground truth at every step; only the decoder's inputs change.
///
/// - `linear`: ε_i = max(ε_min, 1 − i / `decaySteps` · (1 − ε_min));
/// - `inverseSigmoid`: ε_i = k / (k + exp(i / k)), k ≥ 1 (k = `k`).
public enum ScheduledSampling: Codable, Equatable, Sendable {
    case linear(decaySteps: Int, minimum: Double)
    case inverseSigmoid(k: Double)

    /// The probability of teacher forcing at update `step` (0-based).
    /// - Complexity: O(1).
    public func teacherForcingProbability(step: Int) -> Double {
        switch self {
        case let .linear(decaySteps, minimum):
            let frac = Double(step) / Double(max(decaySteps, 1))
            return max(minimum, 1 - frac * (1 - minimum))
        case let .inverseSigmoid(k):
            return k / (k + exp(Double(step) / k))
        }
    }
}
