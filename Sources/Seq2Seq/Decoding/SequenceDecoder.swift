import CKernels
import Tokenize

/// Batched inference with an `EncoderDecoder`: greedy search, ancestral sampling and beam search
/// (see `SequenceDecoder+Sampling.swift`, `SequenceDecoder+Beam.swift`), and whole-corpus decoding in
/// length-sorted batches (`SequenceDecoder+Batches.swift`).
///
/// Every strategy runs the model's incremental `step` over one batch of rows (sentences,
/// samples or beams); rows that finish leave the batch (`DecoderState.select(rows:)`), and the
/// encoder memory is shared between the rows of one input, never copied. `<pad>` and `<s>` are
/// never produced; `</s>` ends an output (unless `DecodingOptions.ignoreEOS`).
public struct SequenceDecoder {
    /// The network; decoding never changes it.
    public let model: EncoderDecoder
    /// The model's weights packed for per-step products, a snapshot taken by `init`: a decoder
    /// made before further training steps keeps decoding with the weights it saw.
    let weights: InferenceWeights

    /// - Complexity: one pass over the model's weights (`EncoderDecoder.packedForInference`).
    public init(model: EncoderDecoder) {
        self.model = model
        weights = model.packedForInference()
    }

    /// The target vocabulary size V.
    var vocabSize: Int { model.config.targetVocabSize }

    /// Runs the encoder on a batch without dropout.
    func encode(_ sources: [[Int32]]) -> EncoderOutput {
        var unused = RandomGenerator(seed: 0)
        return model.encode(source: sources, training: false, rng: &unused, weights: weights)
    }

    /// Greedy search: y_t = argmax_w log p(w | y_<t, X) among the allowed tokens (ties go to the
    /// lower id), for every source in one batch; a row leaves the batch when it produces `</s>`.
    ///
    /// - Parameters:
    ///   - sources: B id sequences (ragged; no `<s>`/`</s>` needed).
    ///   - maxLength: the most steps, `</s>` included.
    /// - Returns: one hypothesis per source, in order (score = logProb).
    /// - Complexity: O(T·B·(4H·(I + H) + S·(H + D) + H·(D + H) + V·H)) for T ≤ maxLength steps.
    public func greedy(sources: [[Int32]], maxLength: Int) -> [Hypothesis] {
        greedy(sources: sources, options: DecodingOptions(maxLength: maxLength))
    }

    /// Greedy search under `options` (minimum length, n-gram blocking, fixed step count).
    /// - Precondition: `options.validate()` does not throw.
    /// - Parameters:
    ///   - copy: for a model with copy attention, each source's ``CopySource``: the search runs
    ///     over the mixed distribution of the extended vocabulary, and an output id ≥ V is the
    ///     source's copied word (``CopySource/word(_:target:)``).
    public func greedy(sources: [[Int32]], options: DecodingOptions, copy: [CopySource]? = nil) -> [Hypothesis] {
        checked(options)
        let B = sources.count
        if B == 0 { return [] }
        let V = width(copy, sources: B)
        let enc = encode(sources)
        var state = model.initialState(enc)
        var rowInput = Array(0..<B)           // the input each live row decodes
        var ids = [[Int32]](repeating: [], count: B)
        var attn = [[Int]](repeating: [], count: B)
        var logProb = [Double](repeating: 0, count: B)
        var ended = [Bool](repeating: false, count: B)
        var input = [Int32](repeating: Vocabulary.bos, count: B)
        for t in 0..<options.maxLength {
            var (lp, weights, next) = model.step(state, input: input, weights: weights, copy: copy)
            var keep: [Int] = []
            keep.reserveCapacity(rowInput.count)
            lp.withUnsafeMutableBufferPointer { lpb in
                // Masks and argmaxes of the rows are independent: split over the threads.
                let base = lpb.baseAddress!
                var choice = [Int](repeating: 0, count: rowInput.count)
                choice.withUnsafeMutableBufferPointer { cb in
                    let c = cb.baseAddress!
                    splitWork(rowInput.count, costPerItem: V) { lo, hi in
                        for r in lo..<hi {
                            Constraints.mask(base + r * V, vocabSize: V, history: ids[rowInput[r]], options: options)
                            c[r] = Constraints.argmax(base + r * V, V)
                        }
                    }
                }
                for (r, b) in rowInput.enumerated() {
                    let row = base + r * V
                    let w = choice[r]
                    if row[w] == -.infinity { continue }  // nothing allowed: stop as is
                    logProb[b] += Double(row[w])
                    attn[b].append(Constraints.attentionArgmax(weights, row: r, sourceLength: enc.sourceLength,
                                                               length: enc.lengths[b]))
                    if w == Int(Vocabulary.eos) && !options.ignoreEOS {
                        ended[b] = true
                    } else {
                        ids[b].append(Int32(w))
                        if t + 1 < options.maxLength { keep.append(r) }
                    }
                }
            }
            if keep.isEmpty { break }
            if keep.count != rowInput.count {
                next = next.select(rows: keep)
                rowInput = keep.map { rowInput[$0] }
            }
            input = rowInput.map { ids[$0].last! }
            state = next
        }
        return (0..<B).map { Hypothesis(ids: ids[$0], ended: ended[$0], logProb: logProb[$0], score: logProb[$0], attentionArgmax: attn[$0]) }
    }

    /// The width of a step's log-probabilities: V, or the extended Vx with copy.
    func width(_ copy: [CopySource]?, sources B: Int) -> Int {
        precondition((copy != nil) == model.config.copyEnabled, "copy sources must be given exactly for a model with copy attention")
        guard let copy else { return vocabSize }
        precondition(copy.count == B, "Got \(copy.count) copy sources for \(B) sources")
        return model.extendedVocabularySize(copy)
    }

    func checked(_ options: DecodingOptions) {
        do { try options.validate() } catch { preconditionFailure("\(error)") }
    }
}

/// The token constraints every strategy applies before choosing, and small row helpers.
enum Constraints {
    /// Sets log p(w) = −∞ for every token that may not follow `history`: `<pad>`, `<s>`, `</s>`
    /// before the minimum length, and tokens completing a repeated n-gram.
    /// - Complexity: O(V·0 + |history|·n) (the row is not scanned).
    @inline(__always)
    static func mask(_ row: UnsafeMutablePointer<Float>, vocabSize V: Int, history: [Int32], options: DecodingOptions) {
        row[Int(Vocabulary.pad)] = -.infinity
        row[Int(Vocabulary.bos)] = -.infinity
        if !options.ignoreEOS && history.count < options.minLength { row[Int(Vocabulary.eos)] = -.infinity }
        let n = options.noRepeatNgramSize
        if n > 0 { forEachRepeatingToken(history, n: n) { row[Int($0)] = -.infinity } }
    }

    /// Calls `ban(w)` for every token w such that history + [w] would end with an n-gram that
    /// already occurs in history.
    /// - Complexity: O(|history|·n).
    static func forEachRepeatingToken(_ history: [Int32], n: Int, _ ban: (Int32) -> Void) {
        let T = history.count
        if n == 1 { for w in history { ban(w) }; return }
        if T < n { return }
        history.withUnsafeBufferPointer { h in
            let start = T - (n - 1)  // the last n−1 tokens are the prefix to match
            for i in 0...(T - n) {
                var same = true
                for j in 0..<(n - 1) where h[i + j] != h[start + j] { same = false; break }
                if same { ban(h[i + n - 1]) }
            }
        }
    }

    /// The index of the largest entry (the lowest such index on ties); 0 if all are −∞.
    /// Vectorised in C (`mk_argmax`).
    /// - Complexity: O(V).
    @inline(__always)
    static func argmax(_ row: UnsafePointer<Float>, _ V: Int) -> Int { Int(mk_argmax(row, Int32(V))) }

    /// The argmax over the `length` real positions of attention row `row` (stride S), −1 when
    /// the source is empty.
    @inline(__always)
    static func attentionArgmax(_ weights: [Float], row: Int, sourceLength S: Int, length: Int) -> Int {
        if length == 0 { return -1 }
        var best = 0
        var m = weights[row * S]
        for j in 1..<length where weights[row * S + j] > m { m = weights[row * S + j]; best = j }
        return best
    }
}
