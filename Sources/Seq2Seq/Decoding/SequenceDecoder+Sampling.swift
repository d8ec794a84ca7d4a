import Foundation
import Tokenize

extension SequenceDecoder {
    /// Ancestral sampling: `numSamples` outputs per source, each token drawn from the model's
    /// distribution under temperature, top-k and top-p (see ``SamplingOptions``), for all
    /// sources and samples in one batch of B·N rows; a row leaves the batch at `</s>`.
    ///
    /// Randomness: sample n of the source with index i draws from its own stream,
    /// `RandomGenerator(seed: seed).split("sample i n")`, so an output depends only on the seed,
    /// the source and its index, never on the batch it was decoded in. `inputIndices` gives the
    /// indices (default 0..<B).
    /// - Returns: per source, its N samples sorted by `logProb`, best first (ties keep draw order).
    /// - Precondition: `sampling.validate()` and `options.validate()` do not throw.
    /// - Complexity: the model's step over at most B·N rows per step, plus O(V) per row and step
    ///   (O(V log V) in the worst case of top-p, usually O(V + c log c) for a nucleus of c tokens).
    public func sample(sources: [[Int32]], sampling: SamplingOptions, options: DecodingOptions,
                       seed: UInt64, inputIndices: [Int]? = nil, copy: [CopySource]? = nil) -> [[Hypothesis]] {
        checked(options)
        do { try sampling.validate() } catch { preconditionFailure("\(error)") }
        let B = sources.count, N = sampling.numSamples
        if B == 0 { return [] }
        let indices = inputIndices ?? Array(0..<B)
        precondition(indices.count == B, "inputIndices has \(indices.count) entries for \(B) sources")
        let V = width(copy, sources: B), R = B * N
        let enc = encode(sources)
        var state = model.initialState(enc).repeatRows(N)
        let root = RandomGenerator(seed: seed)
        var rngs = (0..<R).map { root.split("sample \(indices[$0 / N]) \($0 % N)") }
        var sampler = TokenSampler(vocabSize: V, options: sampling)
        var rowOutput = Array(0..<R)  // the output (b·N + n) each live row decodes
        var ids = [[Int32]](repeating: [], count: R)
        var attn = [[Int]](repeating: [], count: R)
        var logProb = [Double](repeating: 0, count: R)
        var ended = [Bool](repeating: false, count: R)
        var input = [Int32](repeating: Vocabulary.bos, count: R)
        for t in 0..<options.maxLength {
            var (lp, weights, next) = model.step(state, input: input, weights: weights, copy: copy)
            var keep: [Int] = []
            lp.withUnsafeMutableBufferPointer { lpb in
                for (r, o) in rowOutput.enumerated() {
                    let row = lpb.baseAddress! + r * V
                    Constraints.mask(row, vocabSize: V, history: ids[o], options: options)
                    guard let w = sampler.draw(row, rng: &rngs[o]) else { continue }
                    logProb[o] += Double(row[w])
                    attn[o].append(Constraints.attentionArgmax(weights, row: r, sourceLength: enc.sourceLength,
                                                               length: enc.lengths[o / N]))
                    if w == Int(Vocabulary.eos) && !options.ignoreEOS {
                        ended[o] = true
                    } else {
                        ids[o].append(Int32(w))
                        if t + 1 < options.maxLength { keep.append(r) }
                    }
                }
            }
            if keep.isEmpty { break }
            if keep.count != rowOutput.count {
                next = next.select(rows: keep)
                rowOutput = keep.map { rowOutput[$0] }
            }
            input = rowOutput.map { ids[$0].last! }
            state = next
        }
        return (0..<B).map { b in
            let hs = (0..<N).map { n -> Hypothesis in
                let o = b * N + n
                return Hypothesis(ids: ids[o], ended: ended[o], logProb: logProb[o], score: logProb[o], attentionArgmax: attn[o])
            }
            // A stable sort: equal scores keep draw order.
            return hs.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }.map(\.element)
        }
    }
}

/// Draws one token from a row of log-probabilities under temperature, top-k and top-p.
///
/// q(w) ∝ exp((log p(w) − max) / T) over the allowed tokens (log p > −∞); top-k keeps the k
/// largest (lower id first on ties), top-p then keeps the shortest prefix of the remaining
/// tokens, sorted by q descending, whose mass reaches p of theirs. One uniform draw u ∈ [0, 1)
/// picks the token where the cumulative mass first exceeds u·Z, walking candidates in id order
/// (no truncation) or in sorted order (with truncation).
struct TokenSampler {
    let V: Int
    let invT: Double
    let topK: Int
    let topP: Double
    /// Scratch: q of every token, and candidate ids.
    var q: [Double]
    var order: [Int]

    init(vocabSize: Int, options: SamplingOptions) {
        V = vocabSize
        invT = 1 / options.temperature
        topK = options.topK
        topP = options.topP
        q = [Double](repeating: 0, count: vocabSize)
        order = []
        order.reserveCapacity(vocabSize)
    }

    /// The drawn token, or nil when no token is allowed.
    /// - Complexity: O(V) without truncation; O(V + k log k) with top-k; with top-p alone,
    ///   O(V + c log c) where c counts tokens with q ≥ 10⁻⁸·max (O(V log V) at worst).
    mutating func draw(_ row: UnsafePointer<Float>, rng: inout RandomGenerator) -> Int? {
        var m = -Float.infinity
        for w in 0..<V where row[w] > m { m = row[w] }
        if m == -.infinity { return nil }
        let md = Double(m)
        var total = 0.0
        for w in 0..<V {
            let e = row[w] == -.infinity ? 0 : exp((Double(row[w]) - md) * invT)
            q[w] = e
            total += e
        }
        let truncateK = topK > 0 && topK < V
        if !truncateK && topP >= 1 {
            let u = rng.nextUniformDouble() * total
            var acc = 0.0, last = 0
            for w in 0..<V where q[w] > 0 {
                acc += q[w]; last = w
                if u < acc { return w }
            }
            return last
        }
        // Candidates sorted by q descending, ids ascending on ties.
        order.removeAll(keepingCapacity: true)
        var kept = total
        if truncateK {
            selectTopK()
            kept = 0
            for w in order { kept += q[w] }
        } else {
            // Nucleus only: sort the tokens above a small cutoff; if their mass covers p, the
            // nucleus (a prefix of the full sorted order) lies within them.
            let cutoff = 1e-8
            for w in 0..<V where q[w] >= cutoff { order.append(w) }
            var mass = 0.0
            for w in order { mass += q[w] }
            if mass < topP * total {
                order.removeAll(keepingCapacity: true)
                for w in 0..<V where q[w] > 0 { order.append(w) }
            }
            sortOrder()
        }
        var count = order.count
        if topP < 1 {
            let need = topP * kept
            var acc = 0.0
            for (i, w) in order.enumerated() {
                acc += q[w]
                if acc >= need { count = i + 1; break }
            }
        }
        var z = 0.0
        for i in 0..<count { z += q[order[i]] }
        let u = rng.nextUniformDouble() * z
        var acc = 0.0
        for i in 0..<count {
            acc += q[order[i]]
            if u < acc { return order[i] }
        }
        return order[count - 1]
    }

    /// Fills `order` with the k allowed tokens of largest q (ties: lower id), sorted.
    /// - Complexity: O(V log k).
    private mutating func selectTopK() {
        // A min-heap on (q, −id): the root is the worst kept token.
        var heap: [Int] = []
        heap.reserveCapacity(topK)
        let qq = q
        func worse(_ a: Int, _ b: Int) -> Bool { qq[a] < qq[b] || (qq[a] == qq[b] && a > b) }
        for w in 0..<V where qq[w] > 0 {
            if heap.count < topK {
                heap.append(w)
                var i = heap.count - 1
                while i > 0 {
                    let p = (i - 1) / 2
                    if worse(heap[i], heap[p]) { heap.swapAt(i, p); i = p } else { break }
                }
            } else if worse(heap[0], w) {
                heap[0] = w
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var s = i
                    if l < heap.count && worse(heap[l], heap[s]) { s = l }
                    if r < heap.count && worse(heap[r], heap[s]) { s = r }
                    if s == i { break }
                    heap.swapAt(i, s); i = s
                }
            }
        }
        order.append(contentsOf: heap)
        sortOrder()
    }

    private mutating func sortOrder() {
        let qq = q
        order.sort { qq[$0] > qq[$1] || (qq[$0] == qq[$1] && $0 < $1) }
    }
}
