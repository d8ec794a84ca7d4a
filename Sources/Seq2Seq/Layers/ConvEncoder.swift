/// The convolutional attentive encoder of MIXER's reference code (Ranzato et al. 2016,
/// https://arxiv.org/abs/1511.06732; after Rush et al. 2015's attention-based encoder).
///
/// Each position j of a sequence of length L is a = word embedding + position embedding,
/// e_j = W[x_j] + P[min(j, P−1)] (dropout applied to e). Attention keys are the embeddings
/// averaged over a centred window of `window` (5) positions clipped to the sequence,
/// k_j = (1/|N_j|) Σ_{q∈N_j} e_q with N_j = {q : |q − j| ≤ window/2, 0 ≤ q < L}; the values
/// are e_j themselves. Keys and values are [B, S, E], zero on padding. The decoder's bridge
/// reads the mean of the values over the real positions, [B, E] (used for both h and c).
public struct ConvEncoder {
    public let wordEmbedding: Embedding
    public let positionEmbedding: Embedding
    /// The averaging window (odd).
    public let window: Int
    public var outputSize: Int { wordEmbedding.dim }

    /// Registers `name.embedding` [V, E] and `name.positions` [maxPositions, E].
    public init(_ store: ParameterStore, name: String, vocabSize: Int, embeddingSize: Int, maxPositions: Int, window: Int = 5) {
        wordEmbedding = Embedding(store, name: name + ".embedding", vocabSize: vocabSize, dim: embeddingSize)
        positionEmbedding = Embedding(store, name: name + ".positions", vocabSize: maxPositions, dim: embeddingSize)
        self.window = window
    }

    /// What backward needs.
    public final class Cache {
        let lengths: [Int]
        let steps: Int
        let ids: [Int32]        // [B, S], −1 on padding
        let positions: [Int32]  // [B, S], −1 on padding
        let dropMask: FloatBuffer?
        init(lengths: [Int], steps: Int, ids: [Int32], positions: [Int32], dropMask: FloatBuffer?) {
            self.lengths = lengths; self.steps = steps; self.ids = ids; self.positions = positions; self.dropMask = dropMask
        }
    }

    /// Encodes `source`; returns keys, values [B, S, E], the bridge input (mean of values)
    /// [B, E] and the cache.
    /// - Complexity: O(B·S·E·window).
    /// `shard`: `source` is these rows of a larger batch (data parallelism): the dropout mask
    /// is that batch's, restricted to them.
    public func forward(
        _ p: ParameterStore, source: [[Int32]], dropout: Float, rng: inout RandomGenerator, shard: RowShard? = nil
    ) -> (keys: FloatBuffer, values: FloatBuffer, mean: FloatBuffer, cache: Cache) {
        let B = source.count, E = wordEmbedding.dim, P = positionEmbedding.vocabSize
        let lengths = source.map(\.count)
        let S = max(1, lengths.max() ?? 1)
        var ids = [Int32](repeating: -1, count: B * S), pos = [Int32](repeating: -1, count: B * S)
        for b in 0..<B { for j in 0..<lengths[b] { ids[b * S + j] = source[b][j]; pos[b * S + j] = Int32(min(j, P - 1)) } }
        let values = FloatBuffer(count: B * S * E), tmp = FloatBuffer(count: B * S * E)
        wordEmbedding.forward(p, ids: ids, count: B * S, out: values.pointer)
        positionEmbedding.forward(p, ids: pos, count: B * S, out: tmp.pointer)
        Kernels.add(tmp.pointer, into: values.pointer, B * S * E)
        let dropMask = shard.map { Dropout.mask(p: dropout, rng: &rng, shard: $0, outer: S, globalOuter: $0.globalSourceLength, inner: E, batchMajor: true) }
            ?? Dropout.mask(count: B * S * E, p: dropout, rng: &rng)
        Dropout.apply(dropMask, values.pointer, B * S * E)
        let keys = FloatBuffer(count: B * S * E), mean = FloatBuffer(count: B * E)
        let r = window / 2
        for b in 0..<B {
            let L = lengths[b]
            for j in 0..<L {
                let lo = max(0, j - r), hi = min(L - 1, j + r)
                let k = keys.pointer + (b * S + j) * E
                for q in lo...hi { Kernels.add(values.pointer + (b * S + q) * E, into: k, E) }
                let inv = 1 / Float(hi - lo + 1)
                for i in 0..<E { k[i] *= inv }
                Kernels.add(values.pointer + (b * S + j) * E, into: mean.pointer + b * E, E)
            }
            if L > 0 { let inv = 1 / Float(L); for i in 0..<E { mean[b * E + i] *= inv } }
        }
        return (keys, values, mean, Cache(lengths: lengths, steps: S, ids: ids, positions: pos, dropMask: dropMask))
    }

    /// Backpropagates dKeys, dValues [B, S, E] and dMean [B, E] into the embeddings.
    public func backward(
        _ g: ParameterStore, cache: Cache, dKeys: UnsafePointer<Float>, dValues: UnsafePointer<Float>, dMean: UnsafePointer<Float>
    ) {
        let B = cache.lengths.count, S = cache.steps, E = wordEmbedding.dim, r = window / 2
        let de = FloatBuffer(count: B * S * E)
        de.pointer.update(from: dValues, count: B * S * E)
        for b in 0..<B {
            let L = cache.lengths[b]
            for j in 0..<L {
                let lo = max(0, j - r), hi = min(L - 1, j + r)
                let inv = 1 / Float(hi - lo + 1)
                let dk = dKeys + (b * S + j) * E
                for q in lo...hi {
                    let d = de.pointer + (b * S + q) * E
                    for i in 0..<E { d[i] += dk[i] * inv }
                }
                let invL = 1 / Float(L)
                let d = de.pointer + (b * S + j) * E
                for i in 0..<E { d[i] += dMean[b * E + i] * invL }
            }
        }
        Dropout.apply(cache.dropMask, de.pointer, B * S * E)
        wordEmbedding.backward(g, ids: cache.ids, count: B * S, dOut: de.pointer)
        positionEmbedding.backward(g, ids: cache.positions, count: B * S, dOut: de.pointer)
    }
}
