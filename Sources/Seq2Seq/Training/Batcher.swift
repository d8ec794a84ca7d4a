/// A batch of training pairs: raw id sequences (no padding) and their corpus indices.
/// Padding masks are built by the model from the lengths.
public struct Batch: Equatable, Sendable {
    /// Index of each pair in the corpus given to the ``Batcher``.
    public var indices: [Int]
    /// Source ids, already truncated.
    public var sources: [[Int32]]
    /// Target ids, already truncated.
    public var targets: [[Int32]]
    /// With copy attention, each pair's ``CopySource`` (and `targets` are extended ids).
    public var copy: [CopySource]? = nil
    /// The number of pairs.
    public var count: Int { indices.count }
    /// Total source tokens.
    public var sourceTokens: Int { sources.reduce(0) { $0 + $1.count } }
    /// Total target tokens (the throughput unit: target tokens/s).
    public var targetTokens: Int { targets.reduce(0) { $0 + $1.count } }
    /// The longest source.
    public var maxSourceLength: Int { sources.map(\.count).max() ?? 0 }
    /// The longest target.
    public var maxTargetLength: Int { targets.map(\.count).max() ?? 0 }
}

/// Cuts a parallel corpus of id sequences into batches of similar source length, in an order
/// fixed by (generator, epoch).
///
/// Each epoch: shuffle all pairs, cut the shuffled list into chunks of
/// `batchSize × chunkBatches` pairs, sort each chunk by source length (then target length,
/// stable), cut it into batches of `batchSize`, and shuffle the order of all batches. Every
/// pair appears exactly once per epoch; only a chunk's last batch can be short. The order
/// depends only on the generator's state and the epoch number (the generator is `split` per
/// epoch, never advanced), so a run resumed at (epoch, batch index) sees exactly the batches
/// the uninterrupted run would have.
///
/// The shuffles are Fisher–Yates with Lemire's multiply-shift reduction on
/// ``RandomGenerator``, written here so the order never depends on the standard library's
/// version.
public struct Batcher: Sendable {
    /// Source id sequences after truncation.
    public let sources: [[Int32]]
    /// Target id sequences after truncation.
    public let targets: [[Int32]]
    /// Pairs per batch.
    public let batchSize: Int
    /// Batches per length-sorting chunk.
    public let chunkBatches: Int
    /// How many sources were longer than `maxSourceLength` and cut.
    public let truncatedSources: Int
    /// How many targets were longer than `maxTargetLength` and cut.
    public let truncatedTargets: Int
    /// With copy attention, each pair's ``CopySource`` (cut with its source).
    public let copy: [CopySource]?

    /// Truncates and stores the corpus.
    /// - Parameters:
    ///   - sources, targets: parallel id sequences (same count).
    ///   - batchSize: pairs per batch (≥ 1).
    ///   - maxSourceLength, maxTargetLength: keep at most this many ids (nil: no limit; ≥ 1).
    ///   - chunkBatches: batches per sorting chunk (≥ 1); larger gives more uniform lengths
    ///     within a batch and less randomness in which pairs share one.
    /// - Throws: ``BatcherError`` on mismatched counts or out-of-range sizes.
    /// - Complexity: O(total tokens).
    public init(sources: [[Int32]], targets: [[Int32]], batchSize: Int, maxSourceLength: Int? = nil,
                maxTargetLength: Int? = nil, chunkBatches: Int = 100, copy: [CopySource]? = nil) throws {
        guard sources.count == targets.count else {
            throw BatcherError("\(sources.count) sources but \(targets.count) targets")
        }
        if let copy {
            guard copy.count == sources.count, zip(copy, sources).allSatisfy({ $0.ids.count == $1.count }) else {
                throw BatcherError("the copy sources do not match the sources")
            }
        }
        guard batchSize >= 1 else { throw BatcherError("batch size must be at least 1, got \(batchSize)") }
        guard chunkBatches >= 1 else { throw BatcherError("chunk size must be at least 1 batch, got \(chunkBatches)") }
        if let m = maxSourceLength, m < 1 { throw BatcherError("maximum source length must be at least 1, got \(m)") }
        if let m = maxTargetLength, m < 1 { throw BatcherError("maximum target length must be at least 1, got \(m)") }
        func truncate(_ xs: [[Int32]], _ limit: Int?) -> ([[Int32]], Int) {
            guard let limit else { return (xs, 0) }
            var cut = 0
            let out = xs.map { x -> [Int32] in
                if x.count > limit { cut += 1; return Array(x.prefix(limit)) }
                return x
            }
            return (out, cut)
        }
        (self.sources, truncatedSources) = truncate(sources, maxSourceLength)
        (self.targets, truncatedTargets) = truncate(targets, maxTargetLength)
        self.copy = copy.map { cs in
            cs.map { c in
                guard let m = maxSourceLength, c.ids.count > m else { return c }
                return CopySource(ids: Array(c.ids.prefix(m)), oovs: c.oovs)
            }
        }
        self.batchSize = batchSize
        self.chunkBatches = chunkBatches
    }

    /// The number of pairs.
    public var count: Int { sources.count }

    /// Batches in each epoch. - Complexity: O(1).
    public var batchesPerEpoch: Int {
        let chunk = batchSize * chunkBatches
        let full = count / chunk
        let rest = count % chunk
        return full * chunkBatches + (rest + batchSize - 1) / batchSize
    }

    /// The corpus indices of each batch of `epoch`, in training order.
    /// - Complexity: O(n log n) for n pairs.
    public func order(epoch: Int, generator: RandomGenerator) -> [[Int]] {
        var rng = generator.split("batch order, epoch \(epoch)")
        var all = Array(0..<count)
        Self.shuffle(&all, &rng)
        var batches: [[Int]] = []
        batches.reserveCapacity(batchesPerEpoch)
        let chunk = batchSize * chunkBatches
        var start = 0
        while start < all.count {
            let end = min(start + chunk, all.count)
            let sorted = all[start..<end].enumerated().sorted { a, b in
                let (x, y) = (a.element, b.element)
                if sources[x].count != sources[y].count { return sources[x].count < sources[y].count }
                if targets[x].count != targets[y].count { return targets[x].count < targets[y].count }
                return a.offset < b.offset
            }.map(\.element)
            var b = 0
            while b < sorted.count {
                batches.append(Array(sorted[b..<min(b + batchSize, sorted.count)]))
                b += batchSize
            }
            start = end
        }
        Self.shuffle(&batches, &rng)
        return batches
    }

    /// The batches of `epoch` from batch index `start` on (for resuming mid-epoch), built
    /// lazily one at a time.
    public func batches(epoch: Int, generator: RandomGenerator, startingAt start: Int = 0)
        -> LazyMapSequence<ArraySlice<[Int]>, Batch> {
        order(epoch: epoch, generator: generator).dropFirst(start).lazy.map { batch($0) }
    }

    /// Batches in corpus order (for validation and decoding): pair i is in batch i / batchSize.
    public func sequentialBatches() -> [Batch] {
        stride(from: 0, to: count, by: batchSize).map { batch(Array($0..<min($0 + batchSize, count))) }
    }

    /// The batch of the pairs at `indices`.
    public func batch(_ indices: [Int]) -> Batch {
        Batch(indices: indices, sources: indices.map { sources[$0] }, targets: indices.map { targets[$0] },
              copy: copy.map { c in indices.map { c[$0] } })
    }

    /// Fisher–Yates with an unbiased-enough multiply-shift draw: j = ⌊r·(i+1) / 2⁶⁴⌋.
    static func shuffle<T>(_ a: inout [T], _ rng: inout RandomGenerator) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(rng.next().multipliedFullWidth(by: UInt64(i + 1)).high)
            a.swapAt(i, j)
        }
    }
}

/// A bad argument to ``Batcher``.
public struct BatcherError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
