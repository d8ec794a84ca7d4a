import Foundation
/// The decoder's state between incremental inference steps, for B rows (beams or sentences).
///
/// Row b continues from h, c, o [B, H] and attends over row `encoderRows[b]` of `encoder`, so
/// selecting or repeating rows never copies the encoder memory.
public struct DecoderState {
    public let encoder: EncoderOutput
    /// Which encoder row each decoder row reads.
    public let encoderRows: [Int]
    public let h: FloatBuffer
    public let c: FloatBuffer
    /// o_{t−1}, the previous attentional vector (input feeding); zeros before the first step.
    public let feed: FloatBuffer
    /// With coverage (``ModelConfig/coverage``): c_t = Σ_{t'<t} a_{t'} [B, S] of each row, the
    /// sum of the attention weights of the steps it has taken; nil without coverage.
    public let coverage: FloatBuffer?
    public var batchSize: Int { encoderRows.count }

    public init(encoder: EncoderOutput, encoderRows: [Int], h: FloatBuffer, c: FloatBuffer, feed: FloatBuffer,
                coverage: FloatBuffer? = nil) {
        self.encoder = encoder; self.encoderRows = encoderRows; self.h = h; self.c = c; self.feed = feed
        self.coverage = coverage
    }

    /// The state of rows `rows` of this one, in that order (repeats allowed: beam expansion,
    /// reordering after a beam step, dropping finished rows).
    /// A row's coverage vector moves with it (a beam's c_t follows the beam).
    /// - Complexity: O(rows.count·(H + S)).
    public func select(rows: [Int]) -> DecoderState {
        let H = h.count / max(1, batchSize)
        let nh = FloatBuffer(count: rows.count * H), nc = FloatBuffer(count: rows.count * H), nf = FloatBuffer(count: rows.count * H)
        for (i, r) in rows.enumerated() {
            precondition(r >= 0 && r < batchSize, "Row \(r) is outside a state of \(batchSize) rows")
            (nh.pointer + i * H).update(from: h.pointer + r * H, count: H)
            (nc.pointer + i * H).update(from: c.pointer + r * H, count: H)
            (nf.pointer + i * H).update(from: feed.pointer + r * H, count: H)
        }
        var ncov: FloatBuffer?
        if let coverage {
            let S = encoder.sourceLength
            let out = FloatBuffer(count: rows.count * S)
            for (i, r) in rows.enumerated() { (out.pointer + i * S).update(from: coverage.pointer + r * S, count: S) }
            ncov = out
        }
        return DecoderState(encoder: encoder, encoderRows: rows.map { encoderRows[$0] }, h: nh, c: nc, feed: nf, coverage: ncov)
    }

    /// Each row repeated k times in a row (row b becomes rows b·k ..< b·k + k): K beams per input.
    public func repeatRows(_ k: Int) -> DecoderState {
        select(rows: (0..<batchSize).flatMap { Array(repeating: $0, count: k) })
    }
}

extension EncoderDecoder {
    /// The decoder state before the first step: the bridged encoder state, no feed.
    public func initialState(_ enc: EncoderOutput) -> DecoderState {
        let B = enc.batchSize, H = config.hiddenSize
        let h = FloatBuffer(count: B * H), c = FloatBuffer(count: B * H)
        h.pointer.update(from: enc.initialH.pointer, count: B * H)
        c.pointer.update(from: enc.initialC.pointer, count: B * H)
        return DecoderState(encoder: enc, encoderRows: Array(0..<B), h: h, c: c, feed: FloatBuffer(count: B * H),
                            coverage: config.coverageEnabled ? FloatBuffer(count: B * enc.sourceLength) : nil)
    }

    /// One incremental decoder step without dropout or caches: feeds `input` (B ids) and
    /// returns log p(· | prefix) [B, V], the attention weights [B, S] and the next state.
    /// The same arithmetic as `decodeForTraining` (shared step code, packed weights).
    /// - Parameters:
    ///   - weights: the packed snapshot to multiply by (`packedForInference()`); made here when
    ///     nil, which costs a pass over the weights — pass one when taking many steps.
    ///   - copy: with copy attention, each *encoder* row's ``CopySource``: the log-probabilities
    ///     are then those of the mixed distribution P = p_gen·p_vocab + (1 − p_gen)·Σ_{x_i = w} a_i
    ///     over the extended vocabulary, [B, Vx] with Vx = V + the most out-of-vocabulary words
    ///     of any row (−∞ at a row's unused extended ids), and an extended input id reads
    ///     `<unk>`'s embedding.
    /// - Complexity: O(B·(4H·(I + H) + S·(H + D) + H·(D + H) + V·H)); copy adds O(B·(Vx + S + D + H + E)).
    public func step(_ state: DecoderState, input: [Int32], weights: InferenceWeights? = nil, copy: [CopySource]? = nil)
        -> (logProbs: [Float], attention: [Float], next: DecoderState) {
        let w = weights ?? packedForInference()
        let B = state.batchSize, E = config.embeddingSize, H = config.hiddenSize, D = config.memorySize
        let V = config.targetVocabSize, I = decoderInputSize, S = state.encoder.sourceLength
        precondition(input.count == B, "Got \(input.count) inputs for \(B) rows")
        precondition((copy != nil) == config.copyEnabled, "copy sources must be given exactly for a model with copy attention")
        let input = copy == nil ? input : input.map { CopySource.decoderInput($0, vocabularySize: V) }
        let x = FloatBuffer(count: B * I), emb = FloatBuffer(count: B * E), gates = FloatBuffer(count: B * 4 * H)
        let c = FloatBuffer(count: B * H), h = FloatBuffer(count: B * H), tanhC = FloatBuffer(count: B * H)
        let ch = FloatBuffer(count: B * (D + H)), htilde = FloatBuffer(count: B * H), out = FloatBuffer(count: B * H)
        var attn = [Float](repeating: 0, count: B * S)
        precondition((state.coverage != nil) == config.coverageEnabled, "A state's coverage must match the model's coverage option")
        let nextCoverage = state.coverage.map { _ in FloatBuffer(count: B * S) }
        // Every entry is written by the output layer: no need to zero B·V floats first.
        var logProbs = [Float](unsafeUninitializedCapacity: B * V) { _, n in n = B * V }
        attn.withUnsafeMutableBufferPointer { a in
            let bufs = DecoderStepBuffers(x: x.pointer, emb: emb.pointer, gates: gates.pointer, c: c.pointer, h: h.pointer,
                                          tanhC: tanhC.pointer, weights: a.baseAddress!, ch: ch.pointer, htilde: htilde.pointer,
                                          out: out.pointer, hPrev: state.h.pointer, cPrev: state.c.pointer,
                                          feedPrev: state.feed.pointer, embMask: nil, outMask: nil,
                                          coverage: state.coverage.map { UnsafePointer($0.pointer) }, nextCoverage: nextCoverage?.pointer)
            input.withUnsafeBufferPointer {
                decoderStep(ids: $0.baseAddress!, rows: B, encoder: state.encoder, encoderRows: state.encoderRows, weights: w.step, bufs)
            }
        }
        logProbs.withUnsafeMutableBufferPointer { lp in
            output.forward(params, packed: w.output, x: out.pointer, rows: B, y: lp.baseAddress!)
            if copy == nil { Kernels.logSoftmaxRows(lp.baseAddress!, lp.baseAddress!, rows: B, cols: V) }
        }
        if let copy {
            logProbs = mixCopy(logits: logProbs, attention: attn, ch: ch, x: x, state: state, copy: copy)
        }
        return (logProbs, attn, DecoderState(encoder: state.encoder, encoderRows: state.encoderRows, h: h, c: c, feed: out,
                                             coverage: nextCoverage))
    }

    /// The extended width Vx = V + the most out-of-vocabulary words of any row in `copy`.
    public func extendedVocabularySize(_ copy: [CopySource]) -> Int {
        config.targetVocabSize + (copy.map(\.oovs.count).max() ?? 0)
    }

    /// log P [B, Vx] of the pointer-generator mixture from one step's logits [B, V], attention
    /// weights [B, S], [c ; h] rows and LSTM inputs (``step(_:input:weights:copy:)``).
    func mixCopy(logits: [Float], attention a: [Float], ch: FloatBuffer, x: FloatBuffer, state: DecoderState,
                 copy: [CopySource]) -> [Float] {
        let B = state.batchSize, V = config.targetVocabSize, S = state.encoder.sourceLength
        let Vx = extendedVocabularySize(copy)
        let gate = FloatBuffer(count: B)
        copyGateStep(ch: ch.pointer, x: x.pointer, rows: B, into: gate.pointer)
        var mixed = [Float](repeating: 0, count: B * Vx)
        for b in 0..<B {
            let e = state.encoderRows[b]
            precondition(copy[e].ids.count == state.encoder.lengths[e], "Copy ids of row \(e) do not match its source length")
        }
        // Rows are independent: they split over the threads (the same numbers on any count).
        logits.withUnsafeBufferPointer { lg in
            mixed.withUnsafeMutableBufferPointer { m in
                let lgp = lg.baseAddress!, mp = m.baseAddress!
                splitWork(B, costPerItem: 8 * Vx) { lo, hi in
                for b in lo..<hi {
                    let row = mp + b * Vx, g = gate[b]
                    row.update(from: lgp + b * V, count: V)
                    Kernels.softmaxRows(row, rows: 1, cols: V)
                    Kernels.scale(row, V, g)
                    let src = copy[state.encoderRows[b]].ids
                    for (i, id) in src.enumerated() { row[Int(id)] += (1 - g) * a[b * S + i] }
                    for j in 0..<Vx { row[j] = log(row[j]) }
                }
                }
            }
        }
        return mixed
    }
}
