extension EncoderDecoder {
    /// Backpropagates a gradient at the pre-softmax logits through the decoder, attention,
    /// bridge and encoder, adding into `grads`.
    ///
    /// The model names no loss: the objectives form dLogits (`Sources/Seq2Seq/Objectives`:
    /// XENT's w·(p − onehot(target)) in `CrossEntropy`, REINFORCE's w·(r − b)(p − onehot(sample))
    /// in `PolicyGradient`, Ranzato et al. 2016, §3.2).
    /// - Parameters:
    ///   - dLogits: [T, B, V], the gradient of the loss at the logits of every step.
    /// - Complexity: about twice the forward pass; the weight gradients of the output layer,
    ///   the combine layer and the decoder LSTM are one GEMM each over all T·B rows.
    ///   - copy: copy attention's gradients at p_gen and the attention weights (``CopyGradient``).
    ///   - coverage: the coverage loss to add (``CoveragePenalty``), for a model with coverage;
    ///     nil adds none (the coverage vector's own gradient through the scores is always there).
    public func backward(_ trace: DecoderTrace, dLogits: UnsafePointer<Float>, copy: CopyGradient? = nil,
                         coverage: CoveragePenalty? = nil) {
        let T = trace.steps, B = trace.batchSize, H = config.hiddenSize
        // Output layer over all steps: dO = dLogits·W_o, dW_o += dLogitsᵀ·O.
        let dOut = FloatBuffer(count: T * B * H)
        output.backward(params, grads, x: trace.outputs.pointer, rows: T * B, dy: dLogits, dx: dOut.pointer)
        gradientsReady?(.outputLayer)
        backward(trace, dOutputs: dOut, copy: copy, coverage: coverage)
    }

    /// `backward` from the gradient dO [T, B, H] at the outputs o_t (the output layer done, e.g.
    /// by `outputLayerBackward`); `dOut` is used as scratch (input feeding adds into its earlier
    /// steps). With `consumeCaches` the encoder's gate caches are overwritten by their gradients
    /// (the trace cannot be backpropagated again).
    /// With copy attention, `copy` carries the mixture's gradients at p_gen's pre-activation z
    /// and at the attention weights a (``CopyGradient``): z = w·[c ; h ; e] + b adds w·dz to the
    /// context's, the state's and the input embedding's gradients (dw += dz·[c ; h ; e]), and
    /// da joins the context's da_j = dc·v_j before the softmax's backward.
    /// With coverage (``ModelConfig/coverage``), c_t couples the steps: the loop carries
    /// Σ_{t'>t} dL/dc_{t'} backwards and adds it to the gradient at a_t (``CoveragePenalty``);
    /// `coverage` adds the coverage loss's own terms.
    /// - Complexity: as `backward(_:dLogits:)` less the output layer (copy adds
    ///   O(T·B·(D + H + E + S)), coverage O(T·B·S)).
    public func backward(_ trace: DecoderTrace, dOutputs dOut: FloatBuffer, consumeCaches: Bool = false,
                         copy: CopyGradient? = nil, coverage: CoveragePenalty? = nil) {
        let tr = trace, enc = trace.encoder
        let T = tr.steps, B = tr.batchSize, S = enc.sourceLength
        let E = config.embeddingSize, H = config.hiddenSize, D = config.memorySize, I = decoderInputSize
        let p = params, g = grads
        // dCH keeps every step's d[ctx ; h], and dScores every step's score gradients, for the
        // attention's key and value gradients after the loop.
        let dPre = FloatBuffer(count: T * B * H), dCHAll = FloatBuffer(uninitializedCount: T * B * (D + H))
        let dG = FloatBuffer(count: T * B * 4 * H)
        let dh = FloatBuffer(count: B * H), dc = FloatBuffer(count: B * H)
        let dKp = FloatBuffer(count: B * S * H), dV = FloatBuffer(count: B * S * D)
        let dScores = FloatBuffer(uninitializedCount: T * B * S)
        let wihP = p.view(decoderLSTM.wih)
        // The per-step products by untransposed weights, each packed once for the T steps.
        let wcT = PackedMatrix(transposeOf: p.view(attention.combine.weight), k: H, n: D + H)
        let whhT = PackedMatrix(transposeOf: p.view(decoderLSTM.whh), k: 4 * H, n: H)
        let wFeedT = config.inputFeeding && T > 1 ? PackedMatrix(transposeOf: wihP + E, k: 4 * H, n: H, ld: I) : nil
        precondition(copy == nil || copyGate != nil, "A copy gradient needs a model with copy attention")
        let dGateInput = copy.map { copyGateBackward(tr, dGate: $0.dGate) }  // [T·B, D + H + E]
        precondition(coverage == nil || coverageWeight != nil, "A coverage penalty needs a model with coverage")
        precondition(coverage.map { $0.steps.count == B } ?? true, "A coverage penalty needs one step count per row")
        // Coverage: Σ_{t'>t} dL/dc_{t'} [B, S], the gradient at a_t from outside the attention, dw_c.
        let covCarry = coverageWeight != nil ? FloatBuffer(count: B * S) : nil
        let covDWeights = coverageWeight != nil ? FloatBuffer(count: B * S) : nil
        var dwc: Float = 0
        for t in stride(from: T - 1, through: 0, by: -1) {
            // o_t = mask ⊙ h̃_t, h̃_t = tanh(pre): dpre = mask ⊙ dO ⊙ (1 − h̃²).
            let dO = dOut.pointer + t * B * H, dp = dPre.pointer + t * B * H, ht = tr.htilde.pointer + t * B * H
            let om = tr.outMask.map { $0.pointer + t * B * H }
            for i in 0..<(B * H) { dp[i] = dO[i] * (om?[i] ?? 1) * (1 - ht[i] * ht[i]) }
            // d[ctx ; h] = dpre·W_c.
            let dCH = dCHAll.pointer + t * B * (D + H)
            wcT.multiply(m: B, dp, dCH)
            if let dGateInput {
                let dz = dGateInput.pointer + t * B * (D + H + E)
                for b in 0..<B { Kernels.add(dz + b * (D + H + E), into: dCH + b * (D + H), D + H) }
            }
            for b in 0..<B { Kernels.add(dCH + b * (D + H) + D, into: dh.pointer + b * H, H) }
            var dWeights = copy.map { UnsafePointer($0.dWeights.pointer + t * B * S) }
            if let covCarry, let covDWeights {
                coverageWeightGradient(tr, step: t, extra: dWeights, carry: covCarry.pointer, penalty: coverage, into: covDWeights.pointer)
                dWeights = UnsafePointer(covDWeights.pointer)
            }
            attention.attendBackwardStep(dContext: dCH, contextStride: D + H,
                                         projectedKeys: enc.projectedKeys.pointer, values: enc.values.pointer,
                                         weights: tr.attention.pointer + t * B * S, lengths: enc.lengths, sourceLength: S,
                                         rows: B, dScores: dScores.pointer + t * B * S, dh: dh.pointer,
                                         dWeights: dWeights)
            if let covCarry {
                coverageStateGradient(tr, step: t, dScores: dScores.pointer + t * B * S, penalty: coverage,
                                      carry: covCarry.pointer, dwc: &dwc)
            }
            let dgt = dG.pointer + t * B * 4 * H
            LSTM.cellBackward(gates: tr.gates.pointer + t * B * 4 * H, cPrev: tr.c.pointer + t * B * H,
                              tanhC: tr.tanhC.pointer + t * B * H, dh: dh.pointer, dc: dc.pointer, dGates: dgt, rows: B, hidden: H)
            whhT.multiply(m: B, dgt, beta: 1, dh.pointer)
            if let wFeedT, t > 0 {
                // The feed part of x_t is o_{t−1}: dO_{t−1} += dGates·Wih[:, E...].
                wFeedT.multiply(m: B, dgt, beta: 1, dOut.pointer + (t - 1) * B * H)
            }
        }
        if let cw = coverageWeight { grads.view(cw)[0] += dwc }
        // Batched over all steps: the attention's key and value gradients, the weight gradients.
        attention.accumulateKeyValueGradients(steps: T, dContexts: dCHAll.pointer, contextStride: D + H, h: tr.h.pointer + B * H,
                                              weights: tr.attention.pointer, dScores: dScores.pointer, lengths: enc.lengths,
                                              sourceLength: S, rows: B, dProjectedKeys: dKp.pointer, dValues: dV.pointer)
        gemm(transA: true, m: H, n: D + H, k: T * B, dPre.pointer, tr.ch.pointer, beta: 1, g.view(attention.combine.weight))
        gemmSharedTransposedA(m: 4 * H, k: T * B, dG.pointer, [(I, UnsafePointer(tr.x.pointer), 1, g.view(decoderLSTM.wih)),
                                                              (H, UnsafePointer(tr.h.pointer), 1, g.view(decoderLSTM.whh))])
        Kernels.sumRowsInto(dG.pointer, g.view(decoderLSTM.bias), rows: T * B, cols: 4 * H)
        let dEmb = FloatBuffer(count: T * B * E)
        gemm(m: T * B, n: E, k: 4 * H, dG.pointer, wihP, ldb: I, dEmb.pointer)
        if let dGateInput {
            for r in 0..<(T * B) { Kernels.add(dGateInput.pointer + r * (D + H + E) + D + H, into: dEmb.pointer + r * E, E) }
        }
        if let m = tr.embMask { Dropout.apply(m, dEmb.pointer, T * B * E) }
        for t in 0..<T {
            tr.inputs[t].withUnsafeBufferPointer { targetEmbedding.backward(g, ids: $0.baseAddress!, count: B, dOut: dEmb.pointer + t * B * E) }
        }
        gradientsReady?(.decoder)   // the decoder LSTM, target embedding and combine layer are complete
        // Bridge: h_0 = tanh(W f + b).
        let dFH = FloatBuffer(count: B * D), dFC = FloatBuffer(count: B * D)
        for (bridge, h0, d, f, df) in [(bridgeH, enc.initialH, dh, enc.finalH, dFH), (bridgeC, enc.initialC, dc, enc.finalC, dFC)] {
            for i in 0..<(B * H) { d[i] *= 1 - h0[i] * h0[i] }
            bridge.backward(p, g, x: f.pointer, rows: B, dy: d.pointer, dx: df.pointer)
        }
        // Attention keys, then the encoder.
        let dK = FloatBuffer(count: B * S * D)
        attention.projectKeysBackward(p, g, keys: enc.keys, rows: B * S, dProjected: dKp.pointer, dKeys: dK.pointer)
        switch enc.cache {
        case .bilstm(let c):
            Kernels.add(dV.pointer, into: dK.pointer, B * S * D)
            bilstm!.backward(p, g, cache: c, dMemory: dK.pointer, dFinalH: dFH.pointer, dFinalC: dFC.pointer, consumeCache: consumeCaches)
        case .conv(let c):
            Kernels.add(dFC.pointer, into: dFH.pointer, B * D)  // both bridges read the same mean
            conv!.backward(g, cache: c, dKeys: dK.pointer, dValues: dV.pointer, dMean: dFH.pointer)
        }
    }
}
