/// A bidirectional LSTM encoder over padded batches (Schuster & Paliwal 1997; as in Luong et
/// al. 2015, https://arxiv.org/abs/1508.04025, and Bahdanau et al. 2015).
///
/// Source ids are embedded ([S, B, E], time-major, dropout applied once), then a forward LSTM
/// reads each sequence left to right and a backward LSTM right to left, each starting at the
/// sequence's own last real token; padded steps carry the state, so padding never changes a
/// result. The memory is M [B, S, 2H] with M[b, j] = [→h_j ; ←h_j] for real positions and 0 on
/// padding; the final state for the bridge is [→h_last ; ←h_first] (and likewise c), [B, 2H].
public struct BiLSTMEncoder {
    public let embedding: Embedding
    public let forwardLSTM: LSTM
    public let backwardLSTM: LSTM
    public var hiddenSize: Int { forwardLSTM.hiddenSize }
    /// The width of the memory and of the final state: 2H.
    public var outputSize: Int { 2 * forwardLSTM.hiddenSize }

    /// Registers `name.embedding`, `name.fwd`, `name.bwd`.
    public init(_ store: ParameterStore, name: String, vocabSize: Int, embeddingSize: Int, hiddenSize: Int) {
        embedding = Embedding(store, name: name + ".embedding", vocabSize: vocabSize, dim: embeddingSize)
        forwardLSTM = LSTM(store, name: name + ".fwd", inputSize: embeddingSize, hiddenSize: hiddenSize)
        backwardLSTM = LSTM(store, name: name + ".bwd", inputSize: embeddingSize, hiddenSize: hiddenSize)
    }

    /// What backward needs.
    public final class Cache {
        let lengths: [Int]
        let steps: Int
        let ids: [Int32]  // [S, B] time-major, −1 on padding
        let dropMask: FloatBuffer?
        let fwd: LSTM.SequenceCache
        let bwd: LSTM.SequenceCache
        init(lengths: [Int], steps: Int, ids: [Int32], dropMask: FloatBuffer?, fwd: LSTM.SequenceCache, bwd: LSTM.SequenceCache) {
            self.lengths = lengths; self.steps = steps; self.ids = ids; self.dropMask = dropMask
            self.fwd = fwd; self.bwd = bwd
        }
    }

    /// Encodes `source` (B sequences of ids, S = the longest, at least 1).
    /// Returns the memory M [B, S, 2H], final h and c [B, 2H], and the cache.
    /// - Complexity: O(S·B·8H·(E + H)).
    /// `packed`: both directions' weights already packed (inference snapshots, `LSTM.packed`).
    /// `shard`: `source` is these rows of a larger batch (data parallelism): the dropout mask
    /// is that batch's, restricted to them (``Dropout/mask(p:rng:shard:outer:globalOuter:inner:batchMajor:)``).
    public func forward(
        _ p: ParameterStore, source: [[Int32]], dropout: Float, rng: inout RandomGenerator,
        packed: (forward: LSTM.Packed, backward: LSTM.Packed)? = nil, shard: RowShard? = nil
    ) -> (memory: FloatBuffer, finalH: FloatBuffer, finalC: FloatBuffer, cache: Cache) {
        let B = source.count, E = embedding.dim, H = hiddenSize
        let lengths = source.map(\.count)
        let S = max(1, lengths.max() ?? 1)
        var ids = [Int32](repeating: -1, count: S * B)
        for b in 0..<B { for j in 0..<lengths[b] { ids[j * B + b] = source[b][j] } }
        let x = FloatBuffer(count: S * B * E)
        embedding.forward(p, ids: ids, count: S * B, out: x.pointer)
        let dropMask = shard.map { Dropout.mask(p: dropout, rng: &rng, shard: $0, outer: S, globalOuter: $0.globalSourceLength, inner: E, batchMajor: false) }
            ?? Dropout.mask(count: S * B * E, p: dropout, rng: &rng)
        Dropout.apply(dropMask, x.pointer, S * B * E)
        // Per-sequence reversal: xr[s, b] = x[len_b − 1 − s, b].
        let xr = FloatBuffer(count: S * B * E)
        let mask = FloatBuffer(count: S * B)
        for b in 0..<B {
            for s in 0..<lengths[b] {
                (xr.pointer + (s * B + b) * E).update(from: x.pointer + ((lengths[b] - 1 - s) * B + b) * E, count: E)
                mask[s * B + b] = 1
            }
        }
        var fcOpt: LSTM.SequenceCache?, bcOpt: LSTM.SequenceCache?
        runPair({ fcOpt = forwardLSTM.forwardSequence(p, x: x, steps: S, rows: B, mask: mask, packed: packed?.forward) },
                { bcOpt = backwardLSTM.forwardSequence(p, x: xr, steps: S, rows: B, mask: mask, packed: packed?.backward) })
        let fc = fcOpt!, bc = bcOpt!
        let D = 2 * H
        let memory = FloatBuffer(count: B * S * D)
        for b in 0..<B {
            let L = lengths[b]
            for j in 0..<L {
                let m = memory.pointer + (b * S + j) * D
                m.update(from: fc.output(j, hidden: H) + b * H, count: H)
                (m + H).update(from: bc.output(L - 1 - j, hidden: H) + b * H, count: H)
            }
        }
        let finalH = FloatBuffer(count: B * D), finalC = FloatBuffer(count: B * D)
        for b in 0..<B {
            (finalH.pointer + b * D).update(from: fc.h.pointer + (S * B + b) * H, count: H)
            (finalH.pointer + b * D + H).update(from: bc.h.pointer + (S * B + b) * H, count: H)
            (finalC.pointer + b * D).update(from: fc.c.pointer + (S * B + b) * H, count: H)
            (finalC.pointer + b * D + H).update(from: bc.c.pointer + (S * B + b) * H, count: H)
        }
        return (memory, finalH, finalC, Cache(lengths: lengths, steps: S, ids: ids, dropMask: dropMask, fwd: fc, bwd: bc))
    }

    /// Backpropagates dMemory [B, S, 2H] and the final-state gradients dFinalH, dFinalC
    /// [B, 2H] into the LSTMs and the embedding (+= into `g`).
    public func backward(
        _ p: ParameterStore, _ g: ParameterStore, cache: Cache,
        dMemory: UnsafePointer<Float>, dFinalH: UnsafePointer<Float>, dFinalC: UnsafePointer<Float>
    ) {
        backward(p, g, cache: cache, dMemory: dMemory, dFinalH: dFinalH, dFinalC: dFinalC, consumeCache: false)
    }

    /// `backward`; with `consumeCache` the LSTMs' gate caches become their gate gradients
    /// (`LSTM.backwardSequence(consumeCache:)`) and the cache cannot be used again.
    func backward(
        _ p: ParameterStore, _ g: ParameterStore, cache: Cache,
        dMemory: UnsafePointer<Float>, dFinalH: UnsafePointer<Float>, dFinalC: UnsafePointer<Float>, consumeCache: Bool
    ) {
        let B = cache.lengths.count, S = cache.steps, H = hiddenSize, E = embedding.dim, D = 2 * H
        let dOutF = FloatBuffer(count: S * B * H), dOutB = FloatBuffer(count: S * B * H)
        for b in 0..<B {
            let L = cache.lengths[b]
            for j in 0..<L {
                let m = dMemory + (b * S + j) * D
                (dOutF.pointer + (j * B + b) * H).update(from: m, count: H)
                (dOutB.pointer + ((L - 1 - j) * B + b) * H).update(from: m + H, count: H)
            }
        }
        let dhF = FloatBuffer(count: B * H), dcF = FloatBuffer(count: B * H)
        let dhB = FloatBuffer(count: B * H), dcB = FloatBuffer(count: B * H)
        for b in 0..<B {
            (dhF.pointer + b * H).update(from: dFinalH + b * D, count: H)
            (dhB.pointer + b * H).update(from: dFinalH + b * D + H, count: H)
            (dcF.pointer + b * H).update(from: dFinalC + b * D, count: H)
            (dcB.pointer + b * H).update(from: dFinalC + b * D + H, count: H)
        }
        let dx = FloatBuffer(count: S * B * E), dxr = FloatBuffer(count: S * B * E)
        // The directions write disjoint gradient tensors and buffers: they may run concurrently.
        runPair({ forwardLSTM.backwardSequence(p, g, cache: cache.fwd, dOut: dOutF.pointer, dhT: dhF.pointer, dcT: dcF.pointer,
                                               dx: dx.pointer, dh0: nil, dc0: nil, consumeCache: consumeCache) },
                { backwardLSTM.backwardSequence(p, g, cache: cache.bwd, dOut: dOutB.pointer, dhT: dhB.pointer, dcT: dcB.pointer,
                                                dx: dxr.pointer, dh0: nil, dc0: nil, consumeCache: consumeCache) })
        for b in 0..<B {
            let L = cache.lengths[b]
            for s in 0..<L {
                Kernels.add(dxr.pointer + (s * B + b) * E, into: dx.pointer + ((L - 1 - s) * B + b) * E, E)
            }
        }
        Dropout.apply(cache.dropMask, dx.pointer, S * B * E)
        embedding.backward(g, ids: cache.ids, count: S * B, dOut: dx.pointer)
    }
}
