/// MIXER's annealing schedule: which output steps are trained with XENT and which with
/// REINFORCE in a given epoch (Ranzato et al., ICLR 2016, Algorithm 1,
/// [arXiv:1511.06732](https://arxiv.org/abs/1511.06732)).
///
/// With T = `maxTargetLength`, the first `xentEpochs` epochs are pure XENT (s = T). Then, for
/// k = 1, 2, …, stage k lasts `epochsPerStep` epochs with
///
///     s_k = max(T − k·Δ, 0)
///
/// teacher-forced XENT steps (output positions 0 ..< s) followed by T − s steps that feed the
/// model's own samples and are trained with REINFORCE. Once s reaches 0 the training is pure
/// REINFORCE on the whole sequence and stays so for the remaining epochs.
///
/// Indexing: s counts *output positions* trained with XENT, 0-based. The reference Lua code
/// counts from 1 and stops at s = 1, which is this schedule's s = 0 (every output token
/// sampled after `<s>`).
public struct MixerSchedule: Codable, Equatable, Sendable {
    /// T: the maximum number of output steps (target length including `</s>`).
    public var maxTargetLength: Int
    /// Epochs of pure XENT before the first REINFORCE stage (reference default 25).
    public var xentEpochs: Int
    /// Δ: how many steps each stage moves from XENT to REINFORCE (reference default 3).
    public var delta: Int
    /// Epochs per stage (reference `nepochs`, default 5).
    public var epochsPerStep: Int

    public init(maxTargetLength: Int, xentEpochs: Int, delta: Int, epochsPerStep: Int) {
        self.maxTargetLength = maxTargetLength
        self.xentEpochs = xentEpochs
        self.delta = delta
        self.epochsPerStep = epochsPerStep
    }

    /// The number of teacher-forced XENT steps s in `epoch` (1-based); T means pure XENT.
    /// - Complexity: O(1).
    public func xentSteps(epoch: Int) -> Int {
        if epoch <= xentEpochs { return maxTargetLength }
        let stage = (epoch - xentEpochs - 1) / max(epochsPerStep, 1) + 1
        return max(maxTargetLength - stage * delta, 0)
    }

    /// The epoch at which s first reaches 0 (pure REINFORCE), 1-based.
    public var firstPureReinforceEpoch: Int {
        let stages = (maxTargetLength + delta - 1) / max(delta, 1)
        return xentEpochs + (stages - 1) * epochsPerStep + 1
    }

    /// The epochs of the whole schedule: the XENT epochs, then ⌈T/Δ⌉ stages of `epochsPerStep`
    /// epochs each, the last at s = 0 (pure REINFORCE): `firstPureReinforceEpoch + epochsPerStep − 1`.
    /// With T = 16, Δ = 2, one epoch per stage and no XENT epochs: 8 (s = 14, 12, …, 0).
    public var wholeScheduleEpochs: Int { firstPureReinforceEpoch + max(epochsPerStep, 1) - 1 }
}
