/// The rows of a global batch that one rank computes, and what it must know of the whole batch
/// so that its shard gives exactly its rows' share of the one-process step: the global counts
/// that normalize the losses, and the global shapes that fix where each row's random draws fall
/// in the one-process streams.
///
/// Rank r of N takes rows ⌊r·B/N⌋ ..< ⌊(r+1)·B/N⌋ of the global batch of B rows (batches are
/// sorted by source length, so the shards are alike; a short batch may leave a rank none).
///
/// Random draws: the streams are SplitMix64, whose state advances by a constant per draw, so a
/// rank jumps over the draws of other rows in O(1) (``RandomGenerator/skip(_:)``): a dropout mask
/// of the global shape [S, B, E] is never drawn whole, each rank draws its rows' values at their
/// global positions (``Dropout/mask(p:rng:shard:outer:globalOuter:inner:batchMajor:)``) and
/// leaves the stream where one process leaves it. Sampled tokens (one uniform per unfinished row
/// and step, rows in order) need the other ranks' unfinished rows at each step: one
/// `MPI_Allgather` of a count per decoder step (``Rollout``). So every row gets the draws it
/// gets in one process, and the streams' states after a step are the same on every rank and
/// in one process: a checkpoint does not depend on N.
public struct RowShard: Equatable, Sendable {
    /// The first global row of the shard.
    public var offset: Int
    /// The shard's rows.
    public var rows: Int
    /// B, the global batch's rows.
    public var globalRows: Int
    /// The global batch's padded source length: max(1, longest source).
    public var globalSourceLength: Int
    /// The global batch's teacher-forced decoder steps: max(1, longest target).
    public var globalTargetLength: Int
    /// The global batch's target tokens (XENT's N).
    public var globalTargetTokens: Int
    /// Each global row's target length (ids, `</s>` included): where the rows of other ranks
    /// draw (DAD's coins, ``RowShard`` replays them without their probabilities).
    public var globalTargetLengths: [Int]

    /// The shard of `rank` of `size` in `batch`.
    /// - Precondition: 0 ≤ rank < size.
    public init(batch: Batch, rank: Int, size: Int) {
        precondition(rank >= 0 && rank < size, "Rank \(rank) is outside a group of \(size)")
        let lo = rank * batch.count / size, hi = (rank + 1) * batch.count / size
        offset = lo
        rows = hi - lo
        globalRows = batch.count
        globalSourceLength = max(1, batch.maxSourceLength)
        globalTargetLength = max(1, batch.maxTargetLength)
        globalTargetTokens = batch.targetTokens
        globalTargetLengths = batch.targets.map(\.count)
    }

    /// A shard given by its numbers (``repeated(_:)``, the candidates of minimum risk training).
    public init(offset: Int, rows: Int, globalRows: Int, globalSourceLength: Int, globalTargetLength: Int,
                globalTargetTokens: Int, globalTargetLengths: [Int] = []) {
        self.offset = offset
        self.rows = rows
        self.globalRows = globalRows
        self.globalSourceLength = globalSourceLength
        self.globalTargetLength = globalTargetLength
        self.globalTargetTokens = globalTargetTokens
        self.globalTargetLengths = globalTargetLengths
    }

    /// The same shard of the batch whose every row is repeated `k` times in place (row i's
    /// copies are rows i·k ..< (i+1)·k: SCST's and minimum risk training's k samples per
    /// source): rows offset·k ..< (offset + rows)·k of B·k.
    public func repeated(_ k: Int) -> RowShard {
        RowShard(offset: offset * k, rows: rows * k, globalRows: globalRows * k, globalSourceLength: globalSourceLength,
                 globalTargetLength: globalTargetLength, globalTargetTokens: globalTargetTokens * k,
                 globalTargetLengths: globalTargetLengths.flatMap { Array(repeating: $0, count: k) })
    }

    /// The shard's rows of `batch` (the global batch).
    public func slice(_ batch: Batch) -> Batch {
        let r = offset..<(offset + rows)
        return Batch(indices: Array(batch.indices[r]), sources: Array(batch.sources[r]), targets: Array(batch.targets[r]),
                     copy: batch.copy.map { Array($0[r]) })
    }

    /// The dropout draws of one training pass over the global batch, with `decoderSteps` decoder
    /// steps: [S, B, E] for the encoder's embeddings, then [B, E] and [B, H] per decoder step
    /// (0 when `p` is 0). A rank with no rows advances its stream by this much.
    func dropoutDraws(_ config: ModelConfig, p: Float, decoderSteps: Int) -> Int {
        guard p > 0 else { return 0 }
        return globalSourceLength * globalRows * config.embeddingSize
            + decoderSteps * globalRows * (config.embeddingSize + config.hiddenSize)
    }
}

extension RandomGenerator {
    /// Jumps over `n` draws of ``next()`` in O(1): SplitMix64's state advances by the constant
    /// γ = 0x9E3779B97F4A7C15 per draw (mod 2⁶⁴), so n draws add n·γ.
    /// - Precondition: n ≥ 0.
    public mutating func skip(_ n: Int) {
        precondition(n >= 0, "Cannot skip a negative number of draws")
        state &+= UInt64(n) &* 0x9E37_79B9_7F4A_7C15
    }
}

extension Dropout {
    /// The shard's part of the mask ``mask(count:p:rng:)`` draws for the global batch: the
    /// global mask has `globalOuter` × B × `inner` values (time-major: [S, B, inner]; with
    /// `batchMajor`, [B, S, inner]), drawn in that order; this returns the values of the shard's
    /// rows and first `outer` positions, in the same layout with the shard's rows, and leaves
    /// `rng` after the whole global mask. So a row is masked as it is in one process.
    /// - Complexity: O(outer · rows · inner) draws (the other rows' are skipped in O(1)).
    static func mask(p: Float, rng: inout RandomGenerator, shard: RowShard, outer: Int, globalOuter: Int, inner: Int,
                     batchMajor: Bool) -> FloatBuffer? {
        guard p > 0 else { return nil }
        precondition(outer <= globalOuter, "The shard's \(outer) positions exceed the batch's \(globalOuter)")
        let B = shard.rows, Bg = shard.globalRows
        let m = FloatBuffer(count: outer * B * inner)
        let scale = 1 / (1 - p)
        for o in 0..<outer {
            for b in 0..<B {
                let g = shard.offset + b
                var r = rng
                r.skip(batchMajor ? (g * globalOuter + o) * inner : (o * Bg + g) * inner)
                let dst = m.pointer + (batchMajor ? (b * outer + o) * inner : (o * B + b) * inner)
                for i in 0..<inner { dst[i] = r.nextUniform() < p ? 0 : scale }
            }
        }
        rng.skip(globalOuter * Bg * inner)
        return m
    }
}
