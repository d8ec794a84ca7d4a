/// Everything one training-time decoding pass computed: per-step inputs, probabilities,
/// attentional vectors and attention weights, plus the caches `backward` needs.
///
/// Shapes (T steps, B rows, V target vocabulary, S source length, H hidden size):
/// `probs` and `logits` [T, B, V], `logZ` [T, B] (so log p = logit − logZ exactly),
/// `outputs` [T, B, H] (o_t, the vector fed to the softmax: h̃_t after dropout; what MIXER's
/// baseline regressors read, detached), `attention` [T, B, S], `inputs[t]` the B input ids
/// of step t. With coverage (``ModelConfig/coverage``), `coverage` [T + 1, B, S] holds
/// c_t = Σ_{t'<t} a_{t'} (c_0 = 0; empty without coverage).
public final class DecoderTrace {
    public let steps: Int
    public let batchSize: Int
    public let vocabSize: Int
    /// The encoder output this pass attended to (its caches are needed by backward).
    public let encoder: EncoderOutput
    /// inputs[t][b]: the id fed at step t (inputs[0] is firstInput).
    public internal(set) var inputs: [[Int32]]
    public let probs: FloatBuffer
    public let logits: FloatBuffer
    public let logZ: FloatBuffer
    public let outputs: FloatBuffer
    public let attention: FloatBuffer
    /// c_t of every step and c_T, [T + 1, B, S] (empty without coverage).
    public let coverage: FloatBuffer
    // Caches.
    let x: FloatBuffer          // [T, B, I] LSTM inputs
    let embMask: FloatBuffer?   // [T, B, E]
    let outMask: FloatBuffer?   // [T, B, H]
    let gates: FloatBuffer      // [T, B, 4H]
    let c: FloatBuffer          // [T+1, B, H]
    let h: FloatBuffer          // [T+1, B, H]
    let tanhC: FloatBuffer      // [T, B, H]
    let ch: FloatBuffer         // [T, B, D + H]: [context ; h_t]
    let htilde: FloatBuffer     // [T, B, H] before dropout

    init(steps T: Int, batchSize B: Int, vocab V: Int, encoder: EncoderOutput, I: Int, E: Int, H: Int, D: Int,
         embMask: FloatBuffer?, outMask: FloatBuffer?, storeSoftmax: Bool = true, coverage: Bool = false) {
        steps = T; batchSize = B; vocabSize = V; self.encoder = encoder
        inputs = []
        let S = encoder.sourceLength
        probs = FloatBuffer(count: storeSoftmax ? T * B * V : 0); logZ = FloatBuffer(count: T * B)
        logits = FloatBuffer(count: storeSoftmax ? T * B * V : 0)
        outputs = FloatBuffer(count: T * B * H); attention = FloatBuffer(count: T * B * S)
        self.coverage = FloatBuffer(count: coverage ? (T + 1) * B * S : 0)
        x = FloatBuffer(count: T * B * I); self.embMask = embMask; self.outMask = outMask
        gates = FloatBuffer(count: T * B * 4 * H); c = FloatBuffer(count: (T + 1) * B * H); h = FloatBuffer(count: (T + 1) * B * H)
        tanhC = FloatBuffer(count: T * B * H); ch = FloatBuffer(count: T * B * (D + H)); htilde = FloatBuffer(count: T * B * H)
    }

    /// The softmax of step t, [B, V].
    public func probabilities(step t: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: probs.pointer + t * batchSize * vocabSize, count: batchSize * vocabSize)
    }

    /// log p_t(w | row b), exact (logit − log-partition).
    public func logProb(step t: Int, row b: Int, token w: Int32) -> Float {
        let r = t * batchSize + b
        return logits[r * vocabSize + Int(w)] - logZ[r]
    }

    /// The attentional vector o_t of step t, [B, H] (detached: a copy).
    public func output(step t: Int) -> [Float] {
        let H = outputs.count / max(1, steps * batchSize)
        return outputs.slice(t * batchSize * H, batchSize * H)
    }
}

/// Pointers for one decoder step over B rows (scratch or slices of a trace).
struct DecoderStepBuffers {
    var x, emb, gates, c, h, tanhC, weights, ch, htilde, out: UnsafeMutablePointer<Float>
    var hPrev, cPrev: UnsafePointer<Float>
    var feedPrev: UnsafePointer<Float>?
    var embMask, outMask: UnsafePointer<Float>?
    /// With coverage: c_t [B, S] read by the attention, and c_{t+1} = c_t + a_t written.
    var coverage: UnsafePointer<Float>? = nil
    var nextCoverage: UnsafeMutablePointer<Float>? = nil
}

extension EncoderDecoder {
    /// One decoder step (shared by training and inference, so both compute the same numbers).
    @inline(__always)
    func decoderStep(ids: UnsafePointer<Int32>, rows B: Int, encoder enc: EncoderOutput, encoderRows: [Int]?,
                     weights w: DecoderStepWeights, _ s: DecoderStepBuffers) {
        let E = config.embeddingSize, H = config.hiddenSize, D = config.memorySize, I = decoderInputSize
        targetEmbedding.forward(params, ids: ids, count: B, out: s.emb)
        if let m = s.embMask { Kernels.multiply(m, into: s.emb, B * E) }  // dropout
        Kernels.copyColumns(s.emb, srcStride: E, s.x, dstStride: I, rows: B, cols: E)
        if config.inputFeeding {
            if let f = s.feedPrev {
                Kernels.copyColumns(f, srcStride: H, s.x, dstStride: I, dstOffset: E, rows: B, cols: H)
            } else {
                for b in 0..<B { (s.x + b * I + E).update(repeating: 0, count: H) }
            }
        }
        w.wih.multiply(m: B, s.x, s.gates)
        w.whh.multiply(m: B, s.hPrev, beta: 1, s.gates)
        Kernels.addBiasRows(s.gates, params.view(decoderLSTM.bias), rows: B, cols: 4 * H)
        LSTM.cellForward(gates: s.gates, cPrev: s.cPrev, hPrev: s.hPrev, c: s.c, h: s.h, tanhC: s.tanhC, rows: B, hidden: H)
        attention.attend(h: s.h, projectedKeys: enc.projectedKeys.pointer, values: enc.values.pointer, lengths: enc.lengths,
                         encoderRows: encoderRows, sourceLength: enc.sourceLength, rows: B,
                         weights: s.weights, context: s.ch, contextStride: D + H,
                         coverage: s.coverage, coverageWeight: coverageWeight.map { params.view($0)[0] } ?? 0)
        if let cov = s.coverage, let next = s.nextCoverage {
            let n = B * enc.sourceLength
            for i in 0..<n { next[i] = cov[i] + s.weights[i] }
        }
        Kernels.copyColumns(s.h, srcStride: H, s.ch, dstStride: D + H, dstOffset: D, rows: B, cols: H)
        attention.combine.forward(params, packed: w.combine, x: s.ch, rows: B, y: s.htilde)
        Kernels.tanhInPlace(s.htilde, B * H)
        s.out.update(from: s.htilde, count: B * H)
        if let m = s.outMask { Kernels.multiply(m, into: s.out, B * H) }
    }

    /// Training-time decoding with caches, where each step's input may be chosen on the fly
    /// (teacher forcing, or the model's own samples).
    ///
    /// Step 0 reads `firstInput` (B ids, usually <s>); after step t < T−1 computed its softmax
    /// p_t [B, V], `nextInput(t, p_t)` returns the B ids fed at step t+1.
    /// - Parameters:
    ///   - training: draw dropout masks from `rng` (embeddings and h̃).
    /// - Complexity: O(T·B·(4H·(I + H) + S·(H + D) + H·(D + H) + V·H)); allocates the trace once.
    public func decodeForTraining(
        _ enc: EncoderOutput, steps: Int, firstInput: [Int32],
        nextInput: (_ t: Int, _ probs: UnsafePointer<Float>) -> [Int32],
        training: Bool, rng: inout RandomGenerator
    ) -> DecoderTrace {
        decodeCore(enc, steps: steps, firstInput: firstInput, teacher: nil, nextInput: { t, p, _ in nextInput(t, p) },
                   training: training, rng: &rng)
    }

    /// ``decodeForTraining(_:steps:firstInput:nextInput:training:rng:)`` whose callback also reads
    /// the trace as far as step t (its attention weights, [c ; h] and LSTM inputs at t: copy
    /// attention's mixed distribution needs them to choose the next input).
    func decodeForTraining(
        _ enc: EncoderOutput, steps: Int, firstInput: [Int32],
        nextInputReadingTrace nextInput: (_ t: Int, _ probs: UnsafePointer<Float>, _ trace: DecoderTrace) -> [Int32],
        training: Bool, rng: inout RandomGenerator
    ) -> DecoderTrace {
        decodeCore(enc, steps: steps, firstInput: firstInput, teacher: nil, nextInput: nextInput, training: training, rng: &rng)
    }

    /// Teacher-forced training-time decoding: step t reads inputs[t] (T arrays of B ids).
    /// The same numbers as `decodeForTraining` with a callback returning inputs[t+1], but the
    /// output projection of all steps is one GEMM ([T·B, H] × [H, V]).
    /// - Parameters:
    ///   - deferOutputLayer: stop at the outputs o_t: the trace's `logits` and `probs` stay
    ///     empty (no [T, B, V] buffers) and the caller runs the output layer block by block with
    ///     `outputLayerBackward` (the lean XENT step, `CrossEntropy.teacherForcedStep`).
    public func decodeForTraining(
        _ enc: EncoderOutput, inputs: [[Int32]], training: Bool, rng: inout RandomGenerator,
        deferOutputLayer: Bool = false
    ) -> DecoderTrace {
        precondition(!inputs.isEmpty, "Cannot decode zero steps")
        return decodeCore(enc, steps: inputs.count, firstInput: inputs[0], teacher: inputs, nextInput: { t, _, _ in inputs[t + 1] },
                          training: training, rng: &rng, skipOutputLayer: deferOutputLayer)
    }

    func decodeCore(
        _ enc: EncoderOutput, steps T: Int, firstInput: [Int32], teacher: [[Int32]]?,
        nextInput: (_ t: Int, _ probs: UnsafePointer<Float>, _ trace: DecoderTrace) -> [Int32],
        training: Bool, rng: inout RandomGenerator, skipOutputLayer: Bool = false
    ) -> DecoderTrace {
        let B = enc.batchSize, E = config.embeddingSize, H = config.hiddenSize, D = config.memorySize
        let V = config.targetVocabSize, I = decoderInputSize, S = enc.sourceLength
        precondition(T > 0, "Cannot decode zero steps")
        precondition(firstInput.count == B, "firstInput has \(firstInput.count) ids for a batch of \(B)")
        let p = training ? config.dropout : 0
        let embMask = p > 0 ? FloatBuffer(count: T * B * E) : nil
        let outMask = p > 0 ? FloatBuffer(count: T * B * H) : nil
        let tr = DecoderTrace(steps: T, batchSize: B, vocab: V, encoder: enc, I: I, E: E, H: H, D: D, embMask: embMask, outMask: outMask,
                              storeSoftmax: !(skipOutputLayer && teacher != nil), coverage: config.coverageEnabled)
        tr.h.pointer.update(from: enc.initialH.pointer, count: B * H)
        tr.c.pointer.update(from: enc.initialC.pointer, count: B * H)
        let emb = FloatBuffer(count: B * E)
        // Weights multiplied at every step, packed once for this pass (the output layer too
        // when each step's softmax is needed before the next input is known).
        let stepWeights = packedStepWeights()
        let outputPacked = teacher == nil ? output.packed(params) : nil
        var ids = firstInput
        tr.inputs.reserveCapacity(T)
        for t in 0..<T {
            precondition(ids.count == B, "Step \(t) input has \(ids.count) ids for a batch of \(B)")
            tr.inputs.append(ids)
            if p > 0, let shard = dropoutShard {
                // The global batch's [Bg, E] and [Bg, H] masks of this step, at the shard's rows.
                let scale = 1 / (1 - p), Bg = shard.globalRows
                let em = embMask!.pointer + t * B * E, om = outMask!.pointer + t * B * H
                for b in 0..<B {
                    var r = rng
                    r.skip((shard.offset + b) * E)
                    for i in 0..<E { em[b * E + i] = r.nextUniform() < p ? 0 : scale }
                    r = rng
                    r.skip(Bg * E + (shard.offset + b) * H)
                    for i in 0..<H { om[b * H + i] = r.nextUniform() < p ? 0 : scale }
                }
                rng.skip(Bg * (E + H))
            } else if p > 0 {
                let scale = 1 / (1 - p)
                let em = embMask!.pointer + t * B * E, om = outMask!.pointer + t * B * H
                for i in 0..<(B * E) { em[i] = rng.nextUniform() < p ? 0 : scale }
                for i in 0..<(B * H) { om[i] = rng.nextUniform() < p ? 0 : scale }
            }
            let bufs = DecoderStepBuffers(
                x: tr.x.pointer + t * B * I, emb: emb.pointer, gates: tr.gates.pointer + t * B * 4 * H,
                c: tr.c.pointer + (t + 1) * B * H, h: tr.h.pointer + (t + 1) * B * H, tanhC: tr.tanhC.pointer + t * B * H,
                weights: tr.attention.pointer + t * B * S, ch: tr.ch.pointer + t * B * (D + H),
                htilde: tr.htilde.pointer + t * B * H, out: tr.outputs.pointer + t * B * H,
                hPrev: tr.h.pointer + t * B * H, cPrev: tr.c.pointer + t * B * H,
                feedPrev: t > 0 ? UnsafePointer(tr.outputs.pointer + (t - 1) * B * H) : nil,
                embMask: embMask.map { UnsafePointer($0.pointer + t * B * E) },
                outMask: outMask.map { UnsafePointer($0.pointer + t * B * H) },
                coverage: config.coverageEnabled ? UnsafePointer(tr.coverage.pointer + t * B * S) : nil,
                nextCoverage: config.coverageEnabled ? tr.coverage.pointer + (t + 1) * B * S : nil)
            ids.withUnsafeBufferPointer {
                decoderStep(ids: $0.baseAddress!, rows: B, encoder: enc, encoderRows: nil, weights: stepWeights, bufs)
            }
            if let teacher {
                if t + 1 < T { ids = teacher[t + 1] }
            } else {
                let lg = tr.logits.pointer + t * B * V
                output.forward(params, packed: outputPacked!, x: tr.outputs.pointer + t * B * H, rows: B, y: lg)
                let pr = tr.probs.pointer + t * B * V
                pr.update(from: lg, count: B * V)
                Kernels.softmaxRows(pr, rows: B, cols: V, logZ: tr.logZ.pointer + t * B)
                if t + 1 < T { ids = nextInput(t, pr, tr) }
            }
        }
        // A shard's teacher-forced pass may be shorter than the global batch's: the stream
        // ends where the global batch's T steps leave it.
        if p > 0, let shard = dropoutShard, shard.globalTargetLength > T {
            rng.skip((shard.globalTargetLength - T) * shard.globalRows * (E + H))
        }
        if teacher != nil && skipOutputLayer {
            // The caller runs the output layer (`outputLayerBackward`); probs and logits are empty.
        } else if teacher != nil {
            output.forward(params, x: tr.outputs.pointer, rows: T * B, y: tr.logits.pointer)
            tr.probs.pointer.update(from: tr.logits.pointer, count: T * B * V)
            Kernels.softmaxRows(tr.probs.pointer, rows: T * B, cols: V, logZ: tr.logZ.pointer)
        }
        return tr
    }
}
