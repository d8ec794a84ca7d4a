import CKernels
/// Luong attention (Luong, Pham & Manning 2015, https://arxiv.org/abs/1508.04025) with the
/// attentional vector h̃_t = tanh(W_c [c_t ; h_t]).
///
/// Scores: `general` s_j = h_tᵀ W_a k_j, `dot` s_j = h_tᵀ k_j. Weights a = softmax over the real
/// positions j < L (padding gets weight 0; a sequence with L = 0 gets all zeros), context
/// c_t = Σ_j a_j v_j. Shapes: keys k [B, S, Dk], values v [B, S, Dv], h_t [B, H],
/// W_a [H, Dk] (general only), W_c [H, Dv + H], no biases.
///
/// W_a is applied once per source batch (`projectKeys`: K' = K·W_aᵀ, [B, S, H]), so each step
/// only takes dot products with K'.
public struct LuongAttention {
    /// The score function.
    public enum Score: String, Codable, Sendable, CaseIterable { case general, dot }
    public let score: Score
    /// W_a [H, Dk] (nil for `dot`).
    public let keyProjection: Linear?
    /// W_c [H, Dv + H].
    public let combine: Linear
    public let hiddenSize: Int
    public let keySize: Int
    public let valueSize: Int

    /// Registers `name.keys.weight` (general only) and `name.combine.weight`.
    /// - Precondition: for `dot`, keySize == hiddenSize.
    public init(_ store: ParameterStore, name: String, score: Score, hiddenSize: Int, keySize: Int, valueSize: Int) {
        precondition(score == .general || keySize == hiddenSize, "Dot attention needs keys of the hidden size \(hiddenSize), not \(keySize)")
        self.score = score
        self.hiddenSize = hiddenSize
        self.keySize = keySize
        self.valueSize = valueSize
        keyProjection = score == .general
            ? Linear(store, name: name + ".keys", inputSize: keySize, outputSize: hiddenSize, bias: false) : nil
        combine = Linear(store, name: name + ".combine", inputSize: valueSize + hiddenSize, outputSize: hiddenSize, bias: false)
    }

    /// K' [rows, H] = K [rows, Dk]·W_aᵀ for general; a copy of K for dot.
    /// `packed`: W_a already packed (an inference snapshot, `keyProjection.packed`).
    public func projectKeys(_ p: ParameterStore, keys: FloatBuffer, rows: Int, packed: PackedMatrix? = nil) -> FloatBuffer {
        let out = FloatBuffer(count: rows * hiddenSize)
        if let packed {
            packed.multiply(m: rows, keys.pointer, out.pointer)
        } else if let kp = keyProjection { kp.forward(p, x: keys.pointer, rows: rows, y: out.pointer) } else {
            out.pointer.update(from: keys.pointer, count: rows * hiddenSize)
        }
        return out
    }

    /// dW_a += dK'ᵀ·K and dK += dK'·W_a (general); dK += dK' (dot).
    public func projectKeysBackward(_ p: ParameterStore, _ g: ParameterStore, keys: FloatBuffer, rows: Int,
                                    dProjected: UnsafePointer<Float>, dKeys: UnsafeMutablePointer<Float>) {
        if let kp = keyProjection { kp.backward(p, g, x: keys.pointer, rows: rows, dy: dProjected, dx: dKeys) } else {
            Kernels.add(dProjected, into: dKeys, rows * hiddenSize)
        }
    }

    /// One step for B rows. Row b attends over encoder row `encoderRows?[b] ?? b` of the
    /// projected keys K' [·, S, H] and values [·, S, Dv]. Writes weights [B, S] and the context
    /// into `context` (row stride `contextStride`).
    /// Rows are independent: they split over the threads in effect (same results on any count).
    ///
    /// With `coverage` (See, Liu & Manning 2017, §2.3, https://arxiv.org/abs/1704.04368) the
    /// scores are s_j = score(h_t, k_j) + w_c·cov_j, cov [B, S] the decoder row's coverage
    /// vector (row b at `coverage + b·S`, whatever its encoder row) and w_c = `coverageWeight`
    /// one learned scalar: both score functions here have no hidden layer in which See et al.'s
    /// vector w_c would live (their e_i = vᵀ tanh(W_h h_i + W_s s_t + w_c c_i + b)).
    /// - Complexity: O(B·S·(H + Dv)).
    @inline(__always)
    public func attend(
        h: UnsafePointer<Float>, projectedKeys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        lengths: [Int], encoderRows: [Int]?, sourceLength S: Int, rows B: Int,
        weights: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>, contextStride: Int,
        coverage: UnsafePointer<Float>? = nil, coverageWeight: Float = 0
    ) {
        let H = hiddenSize, Dv = valueSize
        splitWork(B, costPerItem: S * (H + Dv)) { lo, hi in
            for b in lo..<hi {
                let e = encoderRows?[b] ?? b
                let L = lengths[e]
                let a = weights + b * S
                a.update(repeating: 0, count: S)
                let ctx = context + b * contextStride
                if L == 0 { ctx.update(repeating: 0, count: Dv); continue }
                gemv(m: L, n: H, projectedKeys + e * S * H, h + b * H, a)
                if let coverage {
                    let cov = coverage + b * S
                    for j in 0..<L { a[j] += coverageWeight * cov[j] }
                }
                Kernels.softmaxRows(a, rows: 1, cols: L)
                gemv(trans: true, m: L, n: Dv, values + e * S * Dv, UnsafePointer(a), ctx)
            }
        }
    }

    /// The backward of `attend` (training rows only, identity row map): from dContext (row
    /// stride `contextStride`) adds into dh [B, H], dK' [B, S, H] and dValues [B, S, Dv].
    /// With s the scores: da_j = dc·v_j, ds_j = a_j (da_j − Σ_i a_i da_i). Rows write disjoint
    /// parts of every output, so they split over the threads; `scratch` holds B·S floats.
    /// One step of `attendBackwardStep` then `accumulateKeyValueGradients`.
    /// - Complexity: O(B·S·(H + Dv)).
    public func attendBackward(
        dContext: UnsafePointer<Float>, contextStride: Int, h: UnsafePointer<Float>,
        projectedKeys: UnsafePointer<Float>, values: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        lengths: [Int], sourceLength S: Int, rows B: Int, scratch: UnsafeMutablePointer<Float>,
        dh: UnsafeMutablePointer<Float>, dProjectedKeys: UnsafeMutablePointer<Float>, dValues: UnsafeMutablePointer<Float>
    ) {
        attendBackwardStep(dContext: dContext, contextStride: contextStride, projectedKeys: projectedKeys, values: values,
                           weights: weights, lengths: lengths, sourceLength: S, rows: B, dScores: scratch, dh: dh)
        accumulateKeyValueGradients(steps: 1, dContexts: dContext, contextStride: contextStride, h: h, weights: weights,
                                    dScores: UnsafePointer(scratch), lengths: lengths, sourceLength: S, rows: B,
                                    dProjectedKeys: dProjectedKeys, dValues: dValues)
    }

    /// The part of `attend`'s backward a decoder step needs at once: the score gradients
    /// ds_j = a_j (dc·v_j − Σ_i a_i dc·v_i) into `dScores` [B, S] (0 past each row's length) and
    /// dh += Σ_j ds_j k'_j. The key and value gradients, sums over the steps of outer products,
    /// wait for `accumulateKeyValueGradients` after the last step.
    /// `dWeights` [B, S]: a gradient at the weights a from elsewhere (copy attention's mixture),
    /// added to dc·v_j before the softmax's backward.
    /// - Complexity: O(B·S·(H + Dv)).
    public func attendBackwardStep(
        dContext: UnsafePointer<Float>, contextStride: Int,
        projectedKeys: UnsafePointer<Float>, values: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        lengths: [Int], sourceLength S: Int, rows B: Int, dScores: UnsafeMutablePointer<Float>, dh: UnsafeMutablePointer<Float>,
        dWeights: UnsafePointer<Float>? = nil
    ) {
        let H = hiddenSize, Dv = valueSize
        splitWork(B, costPerItem: 2 * S * (H + Dv)) { lo, hi in
            for b in lo..<hi {
                let L = lengths[b], da = dScores + b * S
                da.update(repeating: 0, count: S)
                if L == 0 { continue }
                let a = weights + b * S, dc = dContext + b * contextStride
                gemv(m: L, n: Dv, values + b * S * Dv, dc, da)
                if let dWeights { Kernels.add(dWeights + b * S, into: da, L) }
                var dot: Float = 0
                for j in 0..<L { dot += a[j] * da[j] }
                for j in 0..<L { da[j] = a[j] * (da[j] - dot) }  // ds_j
                gemv(trans: true, m: L, n: H, projectedKeys + b * S * H, UnsafePointer(da), beta: 1, dh + b * H)
            }
        }
    }

    /// The key and value gradients of T steps at once: for each row b,
    /// dValues_b += Σ_t a_{t,b}ᵀ ⊗ dc_{t,b} and dK'_b += Σ_t ds_{t,b}ᵀ ⊗ h_{t,b}, i.e. two products
    /// [L_b, T]·[T, Dv] and [L_b, T]·[T, H] read in place from the steps' buffers: `weights` and
    /// `dScores` [T, B, S], `dContexts` [T, B, stride] (the context's gradient in the first Dv
    /// columns of each row), `h` [T, B, H]. One pass over dValues and dK' instead of one per step.
    /// Rows split over the threads.
    /// - Complexity: O(T·B·S·(H + Dv)).
    public func accumulateKeyValueGradients(
        steps T: Int, dContexts: UnsafePointer<Float>, contextStride: Int, h: UnsafePointer<Float>,
        weights: UnsafePointer<Float>, dScores: UnsafePointer<Float>, lengths: [Int], sourceLength S: Int, rows B: Int,
        dProjectedKeys: UnsafeMutablePointer<Float>, dValues: UnsafeMutablePointer<Float>
    ) {
        let H = hiddenSize, Dv = valueSize
        splitWork(B, costPerItem: 2 * T * S * (H + Dv)) { lo, hi in
            for b in lo..<hi where lengths[b] > 0 {
                let L = lengths[b]
                gemm(transA: true, m: L, n: Dv, k: T, weights + b * S, lda: B * S, dContexts + b * contextStride,
                     ldb: B * contextStride, beta: 1, dValues + b * S * Dv, ldc: Dv)
                gemm(transA: true, m: L, n: H, k: T, dScores + b * S, lda: B * S, h + b * H, ldb: B * H,
                     beta: 1, dProjectedKeys + b * S * H, ldc: H)
            }
        }
    }
}
