import Tokenize

extension SequenceDecoder {
    /// Beam search, batched across inputs: the K live hypotheses of every unfinished input are
    /// rows of one batch (B·K rows; one row per input at the first step).
    ///
    /// Each step scores every continuation (k, w) of an input by log p(prefix_k) + log p(w | …),
    /// takes the best 2K (ties: lower k·V + w), and walks them best first: a `</s>` continuation
    /// becomes a finished hypothesis (set aside, ranked by its length-penalised score), any other
    /// joins the next live beam until K are live. Live hypotheses that reach `maxLength` steps
    /// finish there (`ended == false`). An input stops when it has no live hypothesis, or when it
    /// holds `nBest` finished ones and no live one can still beat the n-th: since log-probabilities
    /// only fall, a live prefix with log-probability s and n tokens can at best score
    /// s / max(lp(n + 1), lp(maxLength)), an exact bound under any ``LengthPenalty``. So with a
    /// beam wide enough never to prune, the result is the exact best sequence.
    ///
    /// - Returns: per source, up to `nBest` finished hypotheses sorted by score (best first;
    ///   equal scores in the order they finished), all distinct.
    /// - Precondition: `beam.validate()` and `options.validate()` do not throw.
    /// - Complexity: the model's step over at most B·K rows per step, plus O(K·V) per input and
    ///   step for the candidate selection (a heap of 2K entries) and O(K·t) to extend prefixes.
    /// With `copy` (a model with copy attention), the search runs over the extended vocabulary
    /// (see ``greedy(sources:options:copy:)``).
    public func beamSearch(sources: [[Int32]], beam: BeamOptions, options: DecodingOptions,
                           copy: [CopySource]? = nil) -> [[Hypothesis]] {
        checked(options)
        do { try beam.validate() } catch { preconditionFailure("\(error)") }
        let B = sources.count
        if B == 0 { return [] }
        let V = width(copy, sources: B), K = beam.beamSize, penalty = beam.lengthPenalty, maxLength = options.maxLength
        let enc = encode(sources)
        var state = model.initialState(enc)

        struct Live { var ids: [Int32]; var attn: [Int]; var logProb: Double }
        var live = [[Live]](repeating: [Live(ids: [], attn: [], logProb: 0)], count: B)
        var finished = [[Hypothesis]](repeating: [], count: B)
        var active = Array(0..<B)          // unfinished inputs, in row order
        var input = [Int32](repeating: Vocabulary.bos, count: B)
        var heap = CandidateHeap(capacity: 2 * K)

        func finish(_ b: Int, _ h: Hypothesis) {
            // Sorted by score descending; a newcomer goes after equal scores; keep the best K.
            var i = finished[b].count
            while i > 0 && finished[b][i - 1].score < h.score { i -= 1 }
            if i >= K { return }
            finished[b].insert(h, at: i)
            if finished[b].count > K { finished[b].removeLast() }
        }
        func bestPossible(_ l: Live) -> Double {
            l.logProb / max(penalty.divisor(length: l.ids.count + 1), penalty.divisor(length: maxLength))
        }
        func finishAsIs(_ b: Int, _ l: Live) {
            finish(b, Hypothesis(ids: l.ids, ended: false, logProb: l.logProb,
                                 score: penalty.score(logProb: l.logProb, length: l.ids.count), attentionArgmax: l.attn))
        }

        for t in 0..<maxLength {
            var (lp, weights, next) = model.step(state, input: input, weights: weights, copy: copy)
            var parents: [Int] = [], nextActive: [Int] = [], nextInput: [Int32] = []
            var rowBase = 0
            lp.withUnsafeMutableBufferPointer { lpb in
                for b in active {
                    let prefixes = live[b], n = prefixes.count
                    heap.reset()
                    var argmaxes: [Int] = []
                    for k in 0..<n {
                        let row = lpb.baseAddress! + (rowBase + k) * V
                        Constraints.mask(row, vocabSize: V, history: prefixes[k].ids, options: options)
                        heap.offer(row: row, count: V, base: prefixes[k].logProb, offset: k * V)
                        argmaxes.append(Constraints.attentionArgmax(weights, row: rowBase + k, sourceLength: enc.sourceLength,
                                                                    length: enc.lengths[b]))
                    }
                    let candidates = heap.sorted()
                    var survivors: [Live] = [], rows: [Int] = []
                    for c in candidates {
                        let k = c.flat / V, w = Int32(c.flat % V)
                        let p = prefixes[k]
                        if w == Vocabulary.eos && !options.ignoreEOS {
                            finish(b, Hypothesis(ids: p.ids, ended: true, logProb: c.score,
                                                 score: penalty.score(logProb: c.score, length: p.ids.count + 1),
                                                 attentionArgmax: p.attn + [argmaxes[k]]))
                        } else {
                            survivors.append(Live(ids: p.ids + [w], attn: p.attn + [argmaxes[k]], logProb: c.score))
                            rows.append(rowBase + k)
                            if survivors.count == K { break }
                        }
                    }
                    // Every continuation forbidden: the prefixes stop as they are.
                    if candidates.isEmpty { for p in prefixes { finishAsIs(b, p) } }
                    rowBase += n
                    if t + 1 == maxLength {
                        for s in survivors { finishAsIs(b, s) }
                        survivors = []
                    }
                    live[b] = survivors
                    let nBest = beam.nBest
                    let done = survivors.isEmpty
                        || (finished[b].count >= nBest && survivors.allSatisfy { bestPossible($0) <= finished[b][nBest - 1].score })
                    if done { live[b] = []; continue }
                    nextActive.append(b)
                    parents.append(contentsOf: rows)
                    nextInput.append(contentsOf: survivors.map { $0.ids.last! })
                }
            }
            if nextActive.isEmpty { break }
            state = next.select(rows: parents)
            active = nextActive
            input = nextInput
        }
        return finished.map { Array($0.prefix(beam.nBest)) }
    }
}

/// The best `capacity` candidates (score, flat index) seen, under the order "higher score, then
/// lower flat index"; a min-heap whose root is the worst kept candidate.
struct CandidateHeap {
    struct Candidate { var score: Double; var flat: Int }
    let capacity: Int
    private(set) var items: [Candidate] = []

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(capacity)
    }

    mutating func reset() { items.removeAll(keepingCapacity: true) }

    @inline(__always)
    static func worse(_ a: Candidate, _ b: Candidate) -> Bool {
        a.score < b.score || (a.score == b.score && a.flat > b.flat)
    }

    /// Offers base + row[w] for every w with row[w] > −∞ (flat index offset + w).
    /// Once the heap is full, a cheap Float threshold (slightly below the worst kept score)
    /// skips most entries without the exact Double comparison.
    /// - Complexity: O(count + m log capacity) for m entries that enter the heap.
    @inline(__always)
    mutating func offer(row: UnsafePointer<Float>, count: Int, base: Double, offset: Int) {
        var threshold = -Float.infinity
        if items.count == capacity { threshold = floatThreshold(base) }
        for w in 0..<count {
            let x = row[w]
            if x < threshold || x == -.infinity { continue }
            let c = Candidate(score: base + Double(x), flat: offset + w)
            if items.count < capacity {
                push(c)
                if items.count == capacity { threshold = floatThreshold(base) }
            } else if CandidateHeap.worse(items[0], c) {
                items[0] = c
                siftDown(0)
                threshold = floatThreshold(base)
            }
        }
    }

    /// A Float below which base + x certainly loses to the root.
    private func floatThreshold(_ base: Double) -> Float {
        let d = items[0].score - base
        return Float(d - 1e-6 * (1 + abs(d)))
    }

    private mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if CandidateHeap.worse(items[i], items[p]) { items.swapAt(i, p); i = p } else { break }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var s = i
            if l < items.count && CandidateHeap.worse(items[l], items[s]) { s = l }
            if r < items.count && CandidateHeap.worse(items[r], items[s]) { s = r }
            if s == i { return }
            items.swapAt(i, s); i = s
        }
    }

    /// The kept candidates, best first.
    func sorted() -> [Candidate] {
        items.sorted { CandidateHeap.worse($1, $0) }
    }
}
