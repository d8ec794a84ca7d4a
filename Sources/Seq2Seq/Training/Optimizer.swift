import Foundation

/// An optimizer over a ``ParameterStore``: reads gradients in the same layout and updates
/// the parameters in place.
///
/// Its state (moments, step count) is saved in a checkpoint's `optimizer.safetensors`:
/// `stateStores` are written as tensors named `prefix + parameter name` and `stateMetadata`
/// as the file's `__metadata__`, so that a resumed run continues bit-exactly.
public protocol Optimizer: AnyObject {
    /// A short name ("adam", "sgd") recorded with the state and checked on load.
    var kind: String { get }
    /// The base learning rate; each tensor's rate is this times its ``LearningRateFactors``.
    var learningRate: Double { get set }
    /// Per-tensor learning-rate multipliers, by name prefix.
    var factors: LearningRateFactors { get set }
    /// Applies one update with `gradients` (same layout as `parameters`).
    /// - Precondition: both stores have the layout the optimizer was created for.
    func update(parameters: ParameterStore, gradients: ParameterStore)
    /// Tensor state in the parameters' layout, with the name prefix used in the checkpoint.
    var stateStores: [(prefix: String, store: ParameterStore)] { get }
    /// Scalar state as strings (exact decimal forms).
    var stateMetadata: [String: String] { get }
    /// Restores scalar state written by `stateMetadata`; `file` names the source in errors.
    /// - Throws: ``StorageError`` when a value is missing or malformed.
    func restoreMetadata(_ metadata: [String: String], file: String) throws
}

/// Learning-rate multipliers chosen by tensor-name prefix; the longest matching prefix wins
/// and unmatched tensors get 1. MIXER's baseline regressors use `["baseline.": 0.01]`
/// (the reference code's factor, facebookarchive/MIXER; docs/training.md).
public struct LearningRateFactors: Codable, Equatable, Sendable {
    /// (prefix, factor) pairs.
    public var rules: [String: Double]

    public init(_ rules: [String: Double] = [:]) { self.rules = rules }

    /// The multiplier for the tensor named `name`. - Complexity: O(number of rules).
    public func factor(for name: String) -> Double {
        var best: (length: Int, factor: Double) = (-1, 1)
        for (prefix, f) in rules where name.hasPrefix(prefix) && prefix.count > best.length {
            best = (prefix.count, f)
        }
        return best.factor
    }
}

/// Adam (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980) with bias correction, in the
/// arithmetic order PyTorch's `torch.optim.Adam` uses:
///
///     t += 1
///     m = β1·m + (1 − β1)·g
///     v = β2·v + (1 − β2)·g²
///     p -= (lr·f / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
///
/// where f is the tensor's learning-rate factor. Moments are Float32 in the parameters'
/// layout, saved as `m.NAME` and `v.NAME`; the step count t is saved as metadata.
/// - Complexity: O(parameter count) per update.
public final class Adam: Optimizer {
    public let kind = "adam"
    public var learningRate: Double
    public var factors: LearningRateFactors
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    /// The number of updates applied (t).
    public private(set) var stepCount = 0
    /// First moments, in the parameters' layout.
    public let m: ParameterStore
    /// Second moments, in the parameters' layout.
    public let v: ParameterStore
    /// When true, `update` sets every gradient to zero as it reads it, so that the caller need
    /// not clear them before the next backward pass (one pass over memory instead of two).
    public var zeroesGradients = false

    /// An Adam optimizer for parameters laid out as `parameters`, moments zero.
    public init(parameters: ParameterStore, learningRate: Double = 0.001, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double = 1e-8, factors: LearningRateFactors = .init()) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.factors = factors
        m = parameters.zerosLike()
        v = parameters.zerosLike()
    }

    public func update(parameters: ParameterStore, gradients: ParameterStore) {
        precondition(parameters.entries == m.entries && gradients.entries == m.entries,
                     "Adam: parameters and gradients must have the layout the optimizer was created for")
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - _pow(beta1, t)
        let bc2Sqrt = (1 - _pow(beta2, t)).squareRoot()
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let c1 = 1 - b1, c2 = 1 - b2
        let sqrtBc2 = Float(bc2Sqrt)
        // Elementwise, so large tensors split over two threads when two are in effect (the update
        // is memory-bound: 7 floats moved per parameter); the result does not depend on the split.
        for e in parameters.entries {
            let stepSize = Float(learningRate * factors.factor(for: e.name) / bc1)
            let p = parameters.view(e), g = gradients.view(e), mv = m.view(e), vv = v.view(e)
            splitWork(e.count, costPerItem: 4, align: 8) { lo, hi in
                Kernels.adamUpdate(p + lo, g + lo, mv + lo, vv + lo, count: hi - lo,
                                   stepSize: stepSize, b1: b1, b2: b2, c1: c1, c2: c2, sqrtBc2: sqrtBc2, eps: eps,
                                   zeroGradient: zeroesGradients)
            }
        }
    }

    public var stateStores: [(prefix: String, store: ParameterStore)] { [("m.", m), ("v.", v)] }

    public var stateMetadata: [String: String] {
        ["optimizer": kind, "step": String(stepCount), "beta1": "\(beta1)", "beta2": "\(beta2)", "epsilon": "\(epsilon)"]
    }

    public func restoreMetadata(_ metadata: [String: String], file: String) throws {
        guard let s = metadata["step"], let n = Int(s), n >= 0 else {
            throw StorageError(file, "Adam state has no valid \"step\" in its metadata")
        }
        stepCount = n
    }
}

/// Plain stochastic gradient descent, the paper's optimizer (Ranzato et al., 2016,
/// https://arxiv.org/abs/1511.06732: lr 0.2, no momentum): `p -= lr·f·g`.
/// Pair it with ``PlateauSchedule`` (÷1.2 when validation stops improving, stop below
/// `--min-lr`), as the trainer does.
/// - Complexity: O(parameter count) per update; no state besides the learning rate.
public final class SGD: Optimizer {
    public let kind = "sgd"
    public var learningRate: Double
    public var factors: LearningRateFactors

    public init(learningRate: Double = 0.2, factors: LearningRateFactors = .init()) {
        self.learningRate = learningRate
        self.factors = factors
    }

    public func update(parameters: ParameterStore, gradients: ParameterStore) {
        precondition(parameters.entries == gradients.entries, "SGD: gradients must have the parameters' layout")
        for e in parameters.entries {
            let rate = Float(learningRate * factors.factor(for: e.name))
            let p = parameters.view(e), g = gradients.view(e)
            for i in 0..<e.count { p[i] -= rate * g[i] }
        }
    }

    public var stateStores: [(prefix: String, store: ParameterStore)] { [] }
    public var stateMetadata: [String: String] { ["optimizer": kind] }
    public func restoreMetadata(_ metadata: [String: String], file: String) throws {}
}

/// Global gradient-norm clipping (Pascanu et al., 2013, https://arxiv.org/abs/1211.5063):
/// with n = √(Σ g²) over every gradient, scale all gradients by `maxNorm / n` when n > maxNorm.
public enum GradientClipping {
    /// What `clip` saw.
    public struct Result: Equatable, Sendable {
        /// The global norm before clipping (accumulated in Double); NaN or ∞ when a gradient is.
        public var norm: Double
        /// False when some gradient is NaN or ±∞: the caller should skip the update.
        public var isFinite: Bool { norm.isFinite }
        /// Whether the gradients were scaled down.
        public var clipped: Bool
    }

    /// The global L2 norm √(Σ g²) of every value in `gradients`, summed in Double.
    /// Non-finite when, and only when, some gradient is non-finite (Float values squared
    /// cannot overflow a Double). - Complexity: O(count).
    public static func globalNorm(_ gradients: ParameterStore) -> Double {
        var sum = 0.0
        let g = gradients.storage
        for i in 0..<gradients.count {
            let x = Double(g[i])
            sum += x * x
        }
        return sum.squareRoot()
    }

    /// Clips `gradients` in place to global norm `maxNorm` (nil: never clip) and returns the
    /// norm before clipping. Gradients with a non-finite norm are left as they are.
    /// - Complexity: O(count).
    @discardableResult
    public static func clip(_ gradients: ParameterStore, maxNorm: Double?) -> Result {
        let n = globalNorm(gradients)
        guard n.isFinite, let maxNorm, n > maxNorm else { return Result(norm: n, clipped: false) }
        let scale = Float(maxNorm / n)
        let g = gradients.storage
        for i in 0..<gradients.count { g[i] *= scale }
        return Result(norm: n, clipped: true)
    }

    /// The first non-finite value's tensor and element index, or nil when all are finite.
    public static func firstNonFinite(_ store: ParameterStore) -> (name: String, index: Int)? {
        for e in store.entries {
            let p = store.view(e)
            for i in 0..<e.count where !p[i].isFinite { return (e.name, i) }
        }
        return nil
    }
}

/// The paper's learning-rate schedule: divide by `decayFactor` (1.2) when the validation
/// metric stops improving; training stops once the rate falls below `minimumLearningRate`
/// (Ranzato et al., 2016, and the reference code, facebookarchive/MIXER). The trainer's
/// schedule is this one, built from the options (`--lr-decay`, `--min-lr`:
/// ``init(_:)``); a `decayFactor` ≤ 1 turns it off (Adam's default): the rate never changes
/// and never stops the run.
public struct PlateauSchedule: Codable, Equatable, Sendable {
    public var decayFactor: Double
    public var minimumLearningRate: Double

    /// - Parameter minimumLearningRate: defaults to `TrainerOptions`' `--min-lr` default, the
    ///   one minimum of the project.
    public init(decayFactor: Double = 1.2, minimumLearningRate: Double = TrainerOptions().minimumLearningRate) {
        self.decayFactor = decayFactor
        self.minimumLearningRate = minimumLearningRate
    }

    /// The run's schedule: `options.effectiveDecay` (1.2 for SGD, off for Adam, or
    /// `--lr-decay`) and `options.minimumLearningRate` (`--min-lr`).
    public init(_ options: TrainerOptions) {
        self.init(decayFactor: options.effectiveDecay, minimumLearningRate: options.minimumLearningRate)
    }

    /// Whether the schedule ever changes the rate (`decayFactor` > 1).
    public var isActive: Bool { decayFactor > 1 }

    /// The rate after an epoch: unchanged when validation improved or the schedule is off,
    /// else divided by `decayFactor`.
    public func next(_ learningRate: Double, improved: Bool) -> Double {
        improved || !isActive ? learningRate : learningRate / decayFactor
    }

    /// Whether training should stop at this rate: the schedule is on and the rate is below
    /// the minimum.
    public func shouldStop(_ learningRate: Double) -> Bool { isActive && learningRate < minimumLearningRate }
}

/// The best validation metric so far and the early-stopping counter.
///
/// `record` returns whether an epoch improved on the best (strictly; a non-finite metric
/// never improves); after `patience` epochs in a row without improvement,
/// `patienceExhausted` is true.
public struct ValidationTracker: Codable, Equatable, Sendable {
    /// True for BLEU/ROUGE, false for loss or perplexity.
    public var higherIsBetter: Bool
    /// The best value seen, nil before the first finite one.
    public var best: Double?
    /// The epoch of `best`.
    public var bestEpoch: Int?
    /// Epochs since the last improvement.
    public var epochsWithoutImprovement: Int

    public init(higherIsBetter: Bool) {
        self.higherIsBetter = higherIsBetter
        best = nil
        bestEpoch = nil
        epochsWithoutImprovement = 0
    }

    /// Records `metric` for `epoch`; returns true when it is a new best.
    public mutating func record(_ metric: Double, epoch: Int) -> Bool {
        let improved = metric.isFinite && (best.map { higherIsBetter ? metric > $0 : metric < $0 } ?? true)
        if improved {
            best = metric
            bestEpoch = epoch
            epochsWithoutImprovement = 0
        } else {
            epochsWithoutImprovement += 1
        }
        return improved
    }

    /// Whether `patience` epochs in a row have passed without improvement.
    public func patienceExhausted(patience: Int) -> Bool { epochsWithoutImprovement >= patience }
}

/// The divergence guard: decides which updates to skip, and when a run must stop.
///
/// An update is skipped when
/// - the loss, the model's gradient or the baseline regressors' gradient is not finite;
/// - the loss (token-mean NLL) is far above what a model of this vocabulary can reach by
///   chance or has shown lately: `loss > max(2·ln V + 5, 10 · max(recent losses))` — a finite
///   explosion (a learning rate of 10^6 gives losses of 10^7 after one update);
/// - a gradient norm (before clipping) is more than 10^4 times the median of its recent
///   values (at least 8 of them).
///
/// "Recent" is the last ``window`` good steps, saved with the trainer state so that a resumed
/// run decides exactly as an uninterrupted one. Each skip multiplies the learning rate by
/// `learningRateFactor`; `maximumConsecutive` skips in a row stop the run.
public struct DivergenceGuard: Codable, Equatable, Sendable {
    public var maximumConsecutive: Int
    public var learningRateFactor: Double
    /// Skips in a row, reset by a good step.
    public private(set) var consecutive = 0
    /// Skips in the whole run.
    public private(set) var total = 0
    /// Losses of the last ``window`` good steps that had XENT tokens.
    public private(set) var recentLosses: [Double] = []
    /// Model gradient norms (before clipping) of the last ``window`` good steps.
    public private(set) var recentNorms: [Double] = []
    /// Baseline-regressor gradient norms of the last ``window`` good steps (MIXER).
    public private(set) var recentAuxiliaryNorms: [Double] = []
    /// How many good steps the recent range covers.
    public static let window = 32

    public init(maximumConsecutive: Int = 5, learningRateFactor: Double = 0.5) {
        self.maximumConsecutive = maximumConsecutive
        self.learningRateFactor = learningRateFactor
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maximumConsecutive = try c.decode(Int.self, forKey: .maximumConsecutive)
        learningRateFactor = try c.decode(Double.self, forKey: .learningRateFactor)
        consecutive = try c.decode(Int.self, forKey: .consecutive)
        total = try c.decode(Int.self, forKey: .total)
        recentLosses = try c.decodeIfPresent([Double].self, forKey: .recentLosses) ?? []
        recentNorms = try c.decodeIfPresent([Double].self, forKey: .recentNorms) ?? []
        recentAuxiliaryNorms = try c.decodeIfPresent([Double].self, forKey: .recentAuxiliaryNorms) ?? []
    }

    /// Why the step with these figures must not update the parameters, or nil when it may.
    /// - Parameters:
    ///   - loss: the step's token-mean XENT loss, nil when it had no XENT tokens.
    ///   - gradientNorm: the model's global gradient norm before clipping.
    ///   - auxiliaryNorm: the baseline regressors' gradient norm, nil without them.
    ///   - vocabularySize: V of the output layer.
    public func problem(loss: Double?, gradientNorm: Double, auxiliaryNorm: Double?, vocabularySize: Int) -> String? {
        if let loss, !loss.isFinite { return "non-finite loss" }
        if !gradientNorm.isFinite { return "non-finite gradient" }
        if let a = auxiliaryNorm, !a.isFinite { return "non-finite baseline-regressor gradient" }
        if let loss {
            let chance = 2 * Foundation.log(Double(max(vocabularySize, 2))) + 5
            let limit = max(chance, 10 * (recentLosses.max() ?? 0))
            if loss > limit {
                return "loss \(Self.short(loss)) is far above its recent range (limit \(Self.short(limit)))"
            }
        }
        if let m = Self.median(recentNorms), gradientNorm > 1e4 * m {
            return "gradient norm \(Self.short(gradientNorm)) is more than 10^4 times its recent median \(Self.short(m))"
        }
        if let a = auxiliaryNorm, let m = Self.median(recentAuxiliaryNorms), a > 1e4 * m {
            return "baseline-regressor gradient norm \(Self.short(a)) is more than 10^4 times its recent median \(Self.short(m))"
        }
        return nil
    }

    /// Records a skipped update, lowering `optimizer`'s rate; returns true when the run must
    /// stop (`maximumConsecutive` skips in a row).
    public mutating func recordSkip(_ optimizer: Optimizer) -> Bool {
        consecutive += 1
        total += 1
        optimizer.learningRate *= learningRateFactor
        return consecutive >= maximumConsecutive
    }

    /// Records a good step and its figures.
    public mutating func recordGoodStep(loss: Double? = nil, gradientNorm: Double? = nil, auxiliaryNorm: Double? = nil) {
        consecutive = 0
        func push(_ a: inout [Double], _ v: Double?) {
            // A zero norm (no gradient: baselines before REINFORCE starts) is no range.
            guard let v, v.isFinite, v > 0 else { return }
            a.append(v)
            if a.count > Self.window { a.removeFirst(a.count - Self.window) }
        }
        push(&recentLosses, loss)
        push(&recentNorms, gradientNorm)
        push(&recentAuxiliaryNorms, auxiliaryNorm)
    }

    /// Checks the saved fields' ranges.
    /// - Throws: ``StorageError`` naming `file` and the field.
    public func validate(file: String) throws {
        func fail(_ s: String) -> StorageError { StorageError(file, "divergence.\(s)") }
        guard (1...1_000_000).contains(maximumConsecutive) else { throw fail("maximumConsecutive \(maximumConsecutive) is out of range (1 to 10^6)") }
        guard learningRateFactor > 0 && learningRateFactor <= 1 else { throw fail("learningRateFactor \(learningRateFactor) must be in (0, 1]") }
        guard consecutive >= 0 && consecutive <= total else { throw fail("consecutive \(consecutive) must be between 0 and total \(total)") }
        for (name, a) in [("recentLosses", recentLosses), ("recentNorms", recentNorms), ("recentAuxiliaryNorms", recentAuxiliaryNorms)] {
            guard a.count <= Self.window, a.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw fail("\(name) must hold at most \(Self.window) finite, non-negative values")
            }
        }
    }

    static func median(_ a: [Double]) -> Double? {
        guard a.count >= 8 else { return nil }
        let s = a.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func short(_ x: Double) -> String { String(format: "%.4g", x) }
}

@usableFromInline func _pow(_ x: Double, _ y: Double) -> Double {
    #if canImport(Darwin)
    return Darwin.pow(x, y)
    #else
    return Glibc.pow(x, y)
    #endif
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
