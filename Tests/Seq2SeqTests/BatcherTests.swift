import XCTest
@testable import Seq2Seq

final class BatcherTests: XCTestCase {
    /// n pairs with pseudo-random lengths 1...maxLength; ids encode the pair index.
    func corpus(_ n: Int, maxLength: Int = 30, seed: UInt64 = 1) -> ([[Int32]], [[Int32]]) {
        var rng = RandomGenerator(seed: seed)
        var s: [[Int32]] = [], t: [[Int32]] = []
        for i in 0..<n {
            s.append([Int32](repeating: Int32(i), count: 1 + Int(rng.next() % UInt64(maxLength))))
            t.append([Int32](repeating: Int32(-i), count: 1 + Int(rng.next() % UInt64(maxLength))))
        }
        return (s, t)
    }

    func testEveryPairExactlyOncePerEpoch() throws {
        for (n, batch, chunk) in [(1, 1, 1), (7, 3, 1), (100, 8, 4), (1000, 32, 3), (1001, 32, 100)] {
            let (s, t) = corpus(n)
            let b = try Batcher(sources: s, targets: t, batchSize: batch, chunkBatches: chunk)
            for epoch in 0..<3 {
                let order = b.order(epoch: epoch, generator: RandomGenerator(seed: 9))
                XCTAssertEqual(order.count, b.batchesPerEpoch, "n=\(n)")
                XCTAssertEqual(order.flatMap { $0 }.sorted(), Array(0..<n), "n=\(n) epoch=\(epoch)")
                XCTAssertTrue(order.allSatisfy { $0.count >= 1 && $0.count <= batch })
                for batch in b.batches(epoch: epoch, generator: RandomGenerator(seed: 9)) {
                    // Batches carry the right pairs.
                    for (k, i) in batch.indices.enumerated() {
                        XCTAssertEqual(batch.sources[k], s[i])
                        XCTAssertEqual(batch.targets[k], t[i])
                    }
                }
            }
        }
    }

    func testDeterministicGivenSeedAndEpochAndResumable() throws {
        let (s, t) = corpus(500)
        let b = try Batcher(sources: s, targets: t, batchSize: 16, chunkBatches: 5)
        let g = RandomGenerator(seed: 42)
        let e0 = b.order(epoch: 0, generator: g)
        XCTAssertEqual(e0, b.order(epoch: 0, generator: RandomGenerator(seed: 42)))
        XCTAssertEqual(e0, b.order(epoch: 0, generator: RandomGenerator(state: g.state)), "restored state gives the same order")
        XCTAssertNotEqual(e0, b.order(epoch: 1, generator: g), "epochs differ")
        XCTAssertNotEqual(e0, b.order(epoch: 0, generator: RandomGenerator(seed: 43)), "seeds differ")
        let resumed = Array(b.batches(epoch: 0, generator: g, startingAt: 13))
        XCTAssertEqual(resumed.map(\.indices), Array(e0[13...]))
        // Frozen order: guards the resume guarantee against silent changes in the algorithm.
        let tiny = try Batcher(sources: [[1], [1, 2], [1, 2, 3], [1], [1, 2, 3, 4], [1, 2]],
                               targets: Array(repeating: [5], count: 6), batchSize: 2, chunkBatches: 2)
        // Chunks of 4 pairs sorted by length: epoch 0 chunks {3,1,5,4} and {0,2}.
        XCTAssertEqual(tiny.order(epoch: 0, generator: RandomGenerator(seed: 1)), [[3, 1], [0, 2], [5, 4]])
        XCTAssertEqual(tiny.order(epoch: 5, generator: RandomGenerator(seed: 1)), [[5, 2], [3, 0], [1, 4]])
    }

    func testBatchesGroupSimilarLengths() throws {
        let (s, t) = corpus(3200, maxLength: 50)
        let b = try Batcher(sources: s, targets: t, batchSize: 32, chunkBatches: 100)
        let order = b.order(epoch: 0, generator: RandomGenerator(seed: 3))
        // With one chunk of 3200 pairs and lengths 1...50, each batch spans at most 2 lengths.
        for batch in order {
            let lengths = batch.map { s[$0].count }
            XCTAssertLessThanOrEqual(lengths.max()! - lengths.min()!, 1)
        }
        // And the batch order is shuffled, not sorted.
        let firstLengths = order.map { s[$0[0]].count }
        XCTAssertNotEqual(firstLengths, firstLengths.sorted())
        // Padding waste vs. random batches is far lower.
        let padded = order.reduce(0) { acc, batch in acc + batch.count * batch.map { s[$0].count }.max()! }
        XCTAssertLessThan(Double(padded) / Double(s.reduce(0) { $0 + $1.count }), 1.05)
    }

    func testTruncationIsCounted() throws {
        let b = try Batcher(sources: [[1, 2, 3], [1], [1, 2, 3, 4, 5]], targets: [[1, 2], [1, 2, 3], [1]],
                            batchSize: 2, maxSourceLength: 3, maxTargetLength: 2)
        XCTAssertEqual(b.truncatedSources, 1)
        XCTAssertEqual(b.truncatedTargets, 1)
        XCTAssertEqual(b.sources, [[1, 2, 3], [1], [1, 2, 3]])
        XCTAssertEqual(b.targets, [[1, 2], [1, 2], [1]])
        let seq = b.sequentialBatches()
        XCTAssertEqual(seq.map(\.indices), [[0, 1], [2]])
        XCTAssertEqual(seq[0].sourceTokens, 4)
        XCTAssertEqual(seq[0].targetTokens, 4)
        XCTAssertEqual(seq[0].maxSourceLength, 3)
    }

    func testBadArguments() {
        XCTAssertThrowsError(try Batcher(sources: [[1]], targets: [], batchSize: 1)) { e in
            XCTAssertEqual("\(e)", "1 sources but 0 targets")
        }
        XCTAssertThrowsError(try Batcher(sources: [[1]], targets: [[1]], batchSize: 0))
        XCTAssertThrowsError(try Batcher(sources: [[1]], targets: [[1]], batchSize: 1, maxSourceLength: 0))
        XCTAssertThrowsError(try Batcher(sources: [[1]], targets: [[1]], batchSize: 1, chunkBatches: 0))
        let empty = try? Batcher(sources: [], targets: [], batchSize: 4)
        XCTAssertEqual(empty?.order(epoch: 0, generator: RandomGenerator(seed: 1)), [])
        XCTAssertEqual(empty?.batchesPerEpoch, 0)
    }
}
