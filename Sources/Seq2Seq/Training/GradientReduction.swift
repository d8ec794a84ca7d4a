import Foundation

/// The sum of a gradient store over the ranks of a data-parallel step, in buckets that can be
/// reduced while backward still runs, with the embedding tables reduced by their non-zero rows
/// only (docs/distributed.md, "The reduction").
///
/// **Buckets** (as PyTorch's DDP): the parameters whose gradients backward completes first —
/// the output layer (``BackwardStage/outputLayer``), then the decoder's LSTM, embedding and
/// attention combine layer (``BackwardStage/decoder``) — and the rest (bridges, attention keys,
/// encoder). Each bucket is reduced exactly once per step, in that order on every rank, by
/// whichever thread (``OverlappedReduction``), so the calls match across ranks whatever the
/// timing, and the result is the same bits as reducing after backward.
///
/// **Rows.** An embedding table's gradient [V, E] has non-zero rows only for the ids the batch
/// used (source words; decoder inputs, ground truth or samples; a convolutional encoder's
/// positions), a few hundred of V. So a bucket:
///
/// 1. flags each of its table rows whose gradient has any non-zero bit on this rank (one byte
///    per row, an OR over the row's bits: O(V·E) reads, vectorized);
/// 2. ORs the flags over the ranks (one `MPI_Allreduce` of ΣV bytes, `MPI_BOR`): the union U;
/// 3. sums its other parameters in place (one `MPI_Allreduce` per contiguous range) and the
///    rows of U packed together (one `MPI_Allreduce` of |U|·E floats), then unpacks them.
///
/// A row outside U is +0 in every bit on every rank, so its sum is the +0 it holds: every
/// parameter gets the dense allreduce's value (for N = 2 the same bits, a + b being
/// commutative; for any N the same on every rank and across repeats, every rank making the
/// same calls with the same counts). Bytes sent per rank: ~2·4·(P − ΣV·E + |U|·E) + 2·ΣV
/// instead of ~2·4·P.
public final class GradientReduction: @unchecked Sendable {
    /// One bucket's layout and scratch (a class: the bucket list never changes after `init`,
    /// and each bucket is written by the one thread that reduces it).
    final class Bucket {
        /// The embedding tables reduced by rows, in storage order.
        var tables: [ParameterStore.Entry] = []
        /// The storage ranges summed whole.
        var dense: [Range<Int>] = []
        var flags: [UInt8] = []
        var packed: [Float] = []
    }

    let buckets: [Bucket]

    /// The reduction of `store`'s layout: bucket i of `early` (entries whose gradients backward
    /// completes at ``BackwardStage`` i), then the rest. Every 2-D entry named
    /// `….embedding.weight` or `….positions.weight` is reduced by rows.
    public init(_ store: ParameterStore, early: [[ParameterStore.Entry]] = []) {
        var taken = Set<Int>()
        var groups: [[ParameterStore.Entry]] = []
        for group in early {
            groups.append(group.filter { taken.insert($0.offset).inserted })
        }
        groups.append(store.entries.filter { !taken.contains($0.offset) })
        buckets = groups.map { entries in
            let b = Bucket()
            var ranges: [Range<Int>] = []
            for e in entries.sorted(by: { $0.offset < $1.offset }) where e.count > 0 {
                if e.shape.count == 2 && (e.name.hasSuffix("embedding.weight") || e.name.hasSuffix("positions.weight")) {
                    b.tables.append(e)
                } else if let last = ranges.last, last.upperBound == e.offset {
                    ranges[ranges.count - 1] = last.lowerBound..<(e.offset + e.count)
                } else {
                    ranges.append(e.offset..<(e.offset + e.count))
                }
            }
            b.dense = ranges
            b.flags = [UInt8](repeating: 0, count: b.tables.reduce(0) { $0 + $1.shape[0] })
            return b
        }
    }

    /// Sums every bucket, in order.
    public func sum(_ gradients: ParameterStore, over group: ProcessGroup) {
        for i in buckets.indices { sum(bucket: i, gradients, over: group) }
    }

    /// Sums bucket `i` of `gradients` over `group`'s ranks, in place. Touches bucket `i`'s
    /// scratch alone, so two threads may reduce two buckets (never at once: MPI is serialized).
    /// - Complexity: O(the bucket's parameters) local work; the bytes above.
    func sum(bucket i: Int, _ gradients: ParameterStore, over group: ProcessGroup) {
        guard group.size > 1 else { return }
        let g = gradients.storage, b = buckets[i]
        var base = 0
        for t in b.tables {
            let rows = t.shape[0], width = t.shape[1]
            let bits = UnsafeRawPointer(g + t.offset).assumingMemoryBound(to: UInt32.self)
            for r in 0..<rows {
                // An OR over the row's bits (no early exit: the loop vectorizes, and most rows
                // are zero and read whole anyway).
                let row = bits + r * width
                var any: UInt32 = 0
                for j in 0..<width { any |= row[j] }
                b.flags[base + r] = any != 0 ? 1 : 0
            }
            base += rows
        }
        group.union(&b.flags)
        for r in b.dense { group.sum(g + r.lowerBound, count: r.count) }
        var floats = 0
        base = 0
        for t in b.tables {
            for r in 0..<t.shape[0] where b.flags[base + r] != 0 { floats += t.shape[1] }
            base += t.shape[0]
        }
        guard floats > 0 else { return }
        if b.packed.count < floats { b.packed = [Float](repeating: 0, count: floats) }
        let tables = b.tables, flags = b.flags
        b.packed.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            Self.move(tables, flags, g, p, toPacked: true)
            group.sum(p, count: floats)
            Self.move(tables, flags, g, p, toPacked: false)
        }
    }

    /// Copies the flagged rows of `tables` into `p` in order (or back from it).
    private static func move(_ tables: [ParameterStore.Entry], _ flags: [UInt8], _ g: UnsafeMutablePointer<Float>,
                             _ p: UnsafeMutablePointer<Float>, toPacked: Bool) {
        var at = 0, base = 0
        for t in tables {
            let width = t.shape[1]
            for r in 0..<t.shape[0] where flags[base + r] != 0 {
                let row = g + t.offset + r * width
                if toPacked { (p + at).update(from: row, count: width) } else { row.update(from: p + at, count: width) }
                at += width
            }
            base += t.shape[0]
        }
    }
}

/// Where a backward pass has completed the gradients of a group of parameters (the model calls
/// ``EncoderDecoder/gradientsReady`` with it): the output layer's, then the decoder's (its
/// LSTM, target embedding and the attention's combine layer). Nothing writes them afterwards
/// in the same pass.
enum BackwardStage: Int, CaseIterable {
    case outputLayer
    case decoder
}

/// A step's reduction overlapped with backward: when the model says a ``BackwardStage`` is
/// complete, the buckets up to it are handed to a communication thread, which reduces them
/// while backward goes on; ``finish(_:over:)`` waits for it and reduces the buckets still left,
/// on the calling thread. The main thread makes no MPI call between ``arm()`` and ``finish``
/// (the objectives' gathers and counts come before backward), so MPI is called by one thread
/// at a time (`MPI_THREAD_SERIALIZED`). Buckets go in order, each once: a rank whose backward
/// never ran (no rows) reduces them all in ``finish``, in the same order.
///
/// Only for a step with exactly one backward pass and no change to the gradients after it
/// (the trainer decides: ``Trainer/overlapsReduction(s:shard:)``).
final class OverlappedReduction: @unchecked Sendable {
    let reduction: GradientReduction
    let gradients: ParameterStore
    let group: ProcessGroup
    /// The reduction's bucket count (read without touching its buckets, which the other
    /// thread may be writing).
    let count: Int
    private let condition = NSCondition()
    private var queue: [Int] = []
    private var busy = false
    /// The next bucket not yet handed over.
    private var next = 0

    init(_ reduction: GradientReduction, gradients: ParameterStore, group: ProcessGroup) {
        self.reduction = reduction
        self.gradients = gradients
        self.group = group
        count = reduction.buckets.count
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "mixer-allreduce"
        thread.start()
    }

    /// Starts a step: no bucket handed over yet.
    func arm() {
        next = 0
    }

    /// The model's callback: hands every bucket up to `stage`'s to the communication thread.
    func ready(_ stage: BackwardStage) {
        condition.lock()
        while next <= stage.rawValue && next < count - 1 {
            queue.append(next)
            next += 1
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the communication thread, then reduces the buckets not handed over.
    func finish() {
        condition.lock()
        while !queue.isEmpty || busy { condition.wait() }
        condition.unlock()
        for i in next..<count { reduction.sum(bucket: i, gradients, over: group) }
        next = count
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let i = queue.removeFirst()
            busy = true
            condition.unlock()
            reduction.sum(bucket: i, gradients, over: group)
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
