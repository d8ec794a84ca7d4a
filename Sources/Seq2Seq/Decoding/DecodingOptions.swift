import Foundation

/// How a finished hypothesis's total log-probability is normalised for length before
/// hypotheses of different lengths are compared (beam search ranks by this score).
///
/// With |Y| the number of scored steps (the output tokens plus `</s>` when it was produced):
/// - `none`: score = log p(Y | X).
/// - `gnmt(alpha:)`: score = log p(Y | X) / lp(Y), lp(Y) = ((5 + |Y|) / 6)^α (Wu et al. 2016,
///   "Google's Neural Machine Translation System", eq. 14, https://arxiv.org/abs/1609.08144);
///   α = 0 is `none`, larger α favours longer outputs.
/// - `average`: score = log p(Y | X) / |Y|, the mean log-probability per step.
public enum LengthPenalty: Equatable, Sendable {
    case none
    case gnmt(alpha: Double)
    case average

    /// The divisor lp(|Y|) for a hypothesis of `length` scored steps (1 for `none`).
    /// - Complexity: O(1).
    @inlinable
    public func divisor(length: Int) -> Double {
        switch self {
        case .none: return 1
        case .gnmt(let alpha): return alpha == 0 ? 1 : pow((5 + Double(length)) / 6, alpha)
        case .average: return Double(max(length, 1))
        }
    }

    /// The normalised score of a hypothesis: logProb / lp(length).
    /// - Complexity: O(1).
    @inlinable
    public func score(logProb: Double, length: Int) -> Double { logProb / divisor(length: length) }
}

/// Limits and constraints shared by every decoding strategy.
public struct DecodingOptions: Equatable, Sendable {
    /// The most decoder steps a hypothesis may take, `</s>` included (a hypothesis that reaches it
    /// without `</s>` stops there, with `ended == false`). For a trained model the usual value is
    /// its `maxTargetLength + 1`.
    public var maxLength: Int
    /// `</s>` is forbidden until this many tokens have been produced. Default 0.
    public var minLength: Int
    /// When positive, no n-gram of this size may occur twice in one output: a token that would
    /// complete an n-gram already present is forbidden (fairseq's `--no-repeat-ngram-size`).
    /// Default 0 (off).
    public var noRepeatNgramSize: Int
    /// For benchmarks: `</s>` becomes an ordinary token, so every hypothesis runs exactly
    /// `maxLength` steps and nothing leaves the batch early. Default false.
    public var ignoreEOS: Bool

    /// Options with the given limits (all constraints off by default).
    public init(maxLength: Int, minLength: Int = 0, noRepeatNgramSize: Int = 0, ignoreEOS: Bool = false) {
        self.maxLength = maxLength
        self.minLength = minLength
        self.noRepeatNgramSize = noRepeatNgramSize
        self.ignoreEOS = ignoreEOS
    }

    /// Checks that the options can be honoured: the one place of these range rules (`mixer-cli
    /// decode` and `evaluate` call it). A message names the option by its key, the long option
    /// name of `decode` (`--max-length`), and gives the value.
    public func validate() throws {
        if maxLength < 1 { throw DecodingOptionError("--max-length must be at least 1, got \(maxLength)") }
        if minLength < 0 { throw DecodingOptionError("--min-length must not be negative, got \(minLength)") }
        if minLength >= maxLength {
            throw DecodingOptionError("--min-length (\(minLength)) must be below --max-length (\(maxLength)), which counts </s>")
        }
        if noRepeatNgramSize < 0 { throw DecodingOptionError("--no-repeat-ngram-size must be 0 (off) or more, got \(noRepeatNgramSize)") }
    }
}

/// Options of ancestral sampling: each step draws the next token from the model's distribution
/// reshaped by temperature, then truncated by top-k and top-p, in that order.
///
/// q(w) ∝ exp(log p(w) / T); top-k keeps the k most probable tokens (Fan et al. 2018,
/// https://arxiv.org/abs/1805.04833); top-p keeps the smallest set of most probable tokens whose
/// renormalised mass is at least p (nucleus sampling, Holtzman et al. 2020,
/// https://arxiv.org/abs/1904.09751). Ties are broken towards the lower id.
public struct SamplingOptions: Equatable, Sendable {
    /// T > 0. Default 1 (the model's distribution).
    public var temperature: Double
    /// Keep only the k most probable tokens; 0 keeps all. Default 0.
    public var topK: Int
    /// Keep the nucleus of mass p ∈ (0, 1]; 1 keeps all. Default 1.
    public var topP: Double
    /// Independent samples drawn for every input. Default 1.
    public var numSamples: Int

    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, numSamples: Int = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.numSamples = numSamples
    }

    /// Checks the ranges: T > 0 and finite, k ≥ 0, p ∈ (0, 1], at least one sample (messages
    /// name the options as `decode` does).
    public func validate() throws {
        if !(temperature > 0 && temperature.isFinite) { throw DecodingOptionError("--temperature must be a positive number, got \(temperature)") }
        if topK < 0 { throw DecodingOptionError("--top-k must be 0 (off) or more, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw DecodingOptionError("--top-p must be in (0, 1], got \(topP)") }
        if numSamples < 1 { throw DecodingOptionError("--num-samples must be at least 1, got \(numSamples)") }
    }
}

/// Options of beam search.
public struct BeamOptions: Equatable, Sendable {
    /// K, the live hypotheses kept per input. Default 5.
    public var beamSize: Int
    /// How many finished hypotheses to return per input, best first (1 ≤ nBest ≤ K). Default 1.
    public var nBest: Int
    /// The length normalisation finished hypotheses are ranked by. Default `.none`.
    public var lengthPenalty: LengthPenalty

    public init(beamSize: Int = 5, nBest: Int = 1, lengthPenalty: LengthPenalty = .none) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
    }

    /// Checks K ≥ 1, 1 ≤ nBest ≤ K and a finite α (messages name the options as `decode` does).
    public func validate() throws {
        if beamSize < 1 { throw DecodingOptionError("--beam-size must be at least 1, got \(beamSize)") }
        if nBest < 1 { throw DecodingOptionError("--n-best must be at least 1, got \(nBest)") }
        if nBest > beamSize { throw DecodingOptionError("--n-best (\(nBest)) cannot exceed the beam size (\(beamSize))") }
        if case .gnmt(let a) = lengthPenalty, !a.isFinite { throw DecodingOptionError("--length-penalty must be a finite number, got \(a)") }
    }
}

/// Which search produces the outputs.
public enum DecodingStrategy: Equatable, Sendable {
    /// The most probable token at every step (one output per input).
    case greedy
    /// Ancestral sampling (`numSamples` outputs per input, best score first).
    case sample(SamplingOptions)
    /// Beam search (`nBest` outputs per input, best score first).
    case beam(BeamOptions)

    /// Checks the strategy's own options.
    public func validate() throws {
        switch self {
        case .greedy: break
        case .sample(let s): try s.validate()
        case .beam(let b): try b.validate()
        }
    }

    /// The most outputs one input gets.
    public var outputsPerInput: Int {
        switch self {
        case .greedy: return 1
        case .sample(let s): return s.numSamples
        case .beam(let b): return b.nBest
        }
    }
}

/// Decoding options that cannot be honoured; `description` is one plain-English line.
public struct DecodingOptionError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
