import XCTest
@testable import Seq2Seq

/// Data parallelism without MPI: a batch's shards (``RowShard``) computed one after the other
/// in one process give the whole batch's XENT gradient, loss and random streams, up to the
/// order of one sum (docs/distributed.md). The same steps across real ranks are
/// `CLITests.DistributedTests`.
final class RowShardTests: XCTestCase {
    func batch(_ rows: Int, seed: UInt64) -> Batch {
        var rng = RandomGenerator(seed: seed)
        let pairs: [([Int32], [Int32])] = (0..<rows).map { _ in
            let s = (0..<(1 + Int(rng.next() % 7))).map { _ in Int32(4 + rng.next() % 26) }
            let t = (0..<(1 + Int(rng.next() % 5))).map { _ in Int32(4 + rng.next() % 26) } + [3]
            return (s, t)
        }
        return Batch(indices: Array(0..<rows), sources: pairs.map(\.0), targets: pairs.map(\.1))
    }

    func testShardsPartitionTheBatch() {
        for (rows, size) in [(16, 2), (17, 2), (5, 4), (1, 2), (3, 8)] {
            let b = batch(rows, seed: UInt64(rows))
            let shards = (0..<size).map { RowShard(batch: b, rank: $0, size: size) }
            XCTAssertEqual(shards.map(\.rows).reduce(0, +), rows, "\(rows) rows over \(size)")
            XCTAssertEqual(shards.flatMap { $0.slice(b).indices }, b.indices)
            XCTAssertLessThanOrEqual(shards.map(\.rows).max()! - shards.map(\.rows).min()!, 1)
            for s in shards {
                XCTAssertEqual(s.globalRows, rows)
                XCTAssertEqual(s.globalTargetTokens, b.targetTokens)
                XCTAssertEqual(s.globalSourceLength, max(1, b.maxSourceLength))
            }
        }
    }

    /// A shard of the batch with every row repeated k times (SCST's and risk's samples) is
    /// the shard's rows' copies: the shards of B·k rows partition them in order.
    func testRepeatedShardsPartitionTheRepeatedRows() {
        for (rows, size, k) in [(16, 2, 2), (5, 4, 3), (1, 2, 4)] {
            let b = batch(rows, seed: UInt64(rows))
            let shards = (0..<size).map { RowShard(batch: b, rank: $0, size: size).repeated(k) }
            var next = 0
            for (rank, s) in shards.enumerated() {
                XCTAssertEqual(s.offset, next, "rank \(rank)")
                XCTAssertEqual(s.rows, RowShard(batch: b, rank: rank, size: size).rows * k)
                XCTAssertEqual(s.globalRows, rows * k)
                XCTAssertEqual(s.globalTargetLengths, b.targets.flatMap { Array(repeating: $0.count, count: k) })
                next += s.rows
            }
            XCTAssertEqual(next, rows * k)
        }
    }

    /// The gradient reduction's buckets cover every parameter exactly once (the embedding
    /// tables by rows, the rest in ranges), the output layer first, then the decoder, for both
    /// encoders: a parameter left out would never be summed over the ranks.
    func testReductionBucketsCoverEveryParameterOnce() {
        for encoder in [ModelConfig.EncoderKind.bilstm, .conv] {
            var config = ModelConfig(sourceVocabSize: 30, targetVocabSize: 25)
            config.embeddingSize = 8; config.hiddenSize = 8; config.encoderHiddenSize = 8; config.encoder = encoder
            let model = EncoderDecoder(config: config, seed: 1)
            let early = [[model.output.weight] + (model.output.bias.map { [$0] } ?? []),
                         [model.targetEmbedding.table, model.decoderLSTM.wih, model.decoderLSTM.whh, model.decoderLSTM.bias,
                          model.attention.combine.weight]]
            let reduction = GradientReduction(model.grads, early: early)
            XCTAssertEqual(reduction.buckets.count, 3)
            var covered = [Int](repeating: 0, count: model.grads.count)
            for b in reduction.buckets {
                for r in b.dense { for i in r { covered[i] += 1 } }
                for t in b.tables { for i in t.offset..<(t.offset + t.count) { covered[i] += 1 } }
                XCTAssertEqual(b.flags.count, b.tables.reduce(0) { $0 + $1.shape[0] })
            }
            XCTAssertEqual(Set(covered), [1], "\(encoder)")
            XCTAssertEqual(reduction.buckets[0].dense.reduce(0) { $0 + $1.count },
                           model.output.weight.count + (model.output.bias?.count ?? 0))
            XCTAssertEqual(reduction.buckets[1].tables.map(\.name), ["decoder.embedding.weight"])
            XCTAssertTrue(reduction.buckets[2].tables.map(\.name).contains("encoder.embedding.weight"), "\(encoder)")
        }
    }

    func testSkipEqualsDraws() {
        for n in [0, 1, 7, 1000] {
            var a = RandomGenerator(seed: 9), b = a
            for _ in 0..<n { _ = a.next() }
            b.skip(n)
            XCTAssertEqual(a, b, "skip(\(n))")
            XCTAssertEqual(a.next(), b.next())
        }
    }

    /// Each shard's mask is the global mask's rows, and the stream ends where the global draw
    /// leaves it, in both layouts.
    func testShardMaskIsTheGlobalMasksRows() throws {
        let S = 5, B = 7, E = 3, p: Float = 0.3
        for batchMajor in [false, true] {
            var g = RandomGenerator(seed: 4)
            let global = try XCTUnwrap(Dropout.mask(count: S * B * E, p: p, rng: &g))
            let b = Batch(indices: Array(0..<B), sources: (0..<B).map { Array(repeating: 5, count: 1 + $0 % S) },
                          targets: Array(repeating: [3], count: B))
            for rank in 0..<3 {
                let shard = RowShard(batch: b, rank: rank, size: 3)
                let localS = max(1, shard.slice(b).maxSourceLength)
                var r = RandomGenerator(seed: 4)
                let m = try XCTUnwrap(Dropout.mask(p: p, rng: &r, shard: shard, outer: localS, globalOuter: S, inner: E,
                                                   batchMajor: batchMajor))
                XCTAssertEqual(r, g, "the stream after the mask")
                for o in 0..<localS { for row in 0..<shard.rows { for i in 0..<E {
                    let gRow = shard.offset + row
                    let want = batchMajor ? global[(gRow * S + o) * E + i] : global[(o * B + gRow) * E + i]
                    let got = batchMajor ? m[(row * localS + o) * E + i] : m[(o * shard.rows + row) * E + i]
                    XCTAssertEqual(got, want, "rank \(rank), position \(o), row \(row)")
                } } }
            }
        }
    }

    /// The shards' XENT gradients (with dropout, both encoders) sum to the whole batch's, their
    /// losses to its loss, and every shard leaves the dropout stream where the whole batch does.
    func testShardGradientsSumToTheBatchGradient() {
        for encoder in [ModelConfig.EncoderKind.bilstm, .conv] {
            var c = ModelConfig(sourceVocabSize: 30, targetVocabSize: 30)
            c.embeddingSize = 8; c.hiddenSize = 8; c.encoderHiddenSize = 8; c.dropout = 0.25; c.encoder = encoder
            let model = EncoderDecoder(config: c, seed: 3)
            let b = batch(11, seed: 5)
            let start = RandomGenerator(seed: 8)
            var rng = start
            model.grads.zero()
            let loss = CrossEntropy.teacherForcedStep(model, source: b.sources, target: b.targets, rng: &rng)
            let whole = Array(UnsafeBufferPointer(start: model.grads.storage, count: model.grads.count))
            let end = rng
            for size in [2, 3] {
                var sum = [Float](repeating: 0, count: whole.count)
                var shardLoss = 0.0
                for rank in 0..<size {
                    let shard = RowShard(batch: b, rank: rank, size: size)
                    let part = shard.slice(b)
                    var r = start
                    model.grads.zero()
                    model.dropoutShard = shard
                    shardLoss += CrossEntropy.teacherForcedStep(model, source: part.sources, target: part.targets, rng: &r,
                                                                tokens: shard.globalTargetTokens)
                    model.dropoutShard = nil
                    XCTAssertEqual(r, end, "\(encoder) rank \(rank) of \(size): the dropout stream after the step")
                    for i in 0..<sum.count { sum[i] += model.grads.storage[i] }
                }
                // Tolerance: one float sum in another order per element (a few ulps of the
                // largest term), far below any gradient that a different mask would give.
                let scale = whole.map { abs($0) }.max()!
                let worst = zip(whole, sum).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-5 * scale, "\(encoder), \(size) shards")
                XCTAssertEqual(shardLoss, loss, accuracy: 1e-6 * loss, "\(encoder), \(size) shards")
            }
        }
    }
}
