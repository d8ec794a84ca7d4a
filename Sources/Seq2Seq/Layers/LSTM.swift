import CKernels

/// A long short-term memory layer (Hochreiter & Schmidhuber 1997), PyTorch's gate layout.
///
/// Gates a = x·Wihᵀ + h_{t−1}·Whhᵀ + b, split into blocks [i | f | g | o] of H each:
/// i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o); c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t).
/// Shapes: Wih [4H, I], Whh [4H, H], b [4H]. The four gates are one product; over a sequence
/// the input projections of all time steps are one GEMM ([T·B, I] × [I, 4H]).
///
/// A row mask m_{t,b} ∈ {0, 1} lets a padded step carry the state unchanged
/// (h_t = h_{t−1}, c_t = c_{t−1}), so padding never affects a sequence's results.
public struct LSTM {
    public let wih: ParameterStore.Entry
    public let whh: ParameterStore.Entry
    public let bias: ParameterStore.Entry
    public let inputSize: Int
    public let hiddenSize: Int

    /// Registers `name.wih` [4H, I], `name.whh` [4H, H] and `name.bias` [4H].
    public init(_ store: ParameterStore, name: String, inputSize: Int, hiddenSize: Int) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        wih = store.add(name + ".wih", shape: [4 * hiddenSize, inputSize])
        whh = store.add(name + ".whh", shape: [4 * hiddenSize, hiddenSize])
        bias = store.add(name + ".bias", shape: [4 * hiddenSize])
    }

    /// The pointwise part of one step for B rows: turns gate pre-activations `gates` [B, 4H]
    /// into activations in place and writes c, h, tanh(c) [B, H]. Rows with mask 0 copy
    /// cPrev/hPrev instead.
    /// - Complexity: O(B·H).
    @inline(__always)
    public static func cellForward(
        gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>,
        rows B: Int, hidden H: Int, mask: UnsafePointer<Float>? = nil
    ) {
        // Vectorised in C (`mk_lstm_cell_forward`: AVX-512 / AVX2 / portable; relative error ≈ 3e-7).
        mk_lstm_cell_forward(gates, cPrev, hPrev, c, h, tanhC, Int32(B), Int32(H), mask)
    }

    /// The pointwise backward of one step. In: `dh` [B, H] (total gradient at h_t), `dc` [B, H]
    /// (gradient at c_t from later steps). Out: `dGates` [B, 4H] at the pre-activations, `dc`
    /// overwritten with the gradient at c_{t−1}, and for masked rows `dh` is left as the
    /// gradient passed straight to h_{t−1} (it is zeroed for unmasked rows).
    /// (`mk_lstm_cell_backward`: vectorised in C, the same bits on every instruction set.)
    /// - Complexity: O(B·H).
    @inline(__always)
    public static func cellBackward(
        gates: UnsafePointer<Float>, cPrev: UnsafePointer<Float>, tanhC: UnsafePointer<Float>,
        dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>, dGates: UnsafeMutablePointer<Float>,
        rows B: Int, hidden H: Int, mask: UnsafePointer<Float>? = nil
    ) {
        mk_lstm_cell_backward(gates, cPrev, tanhC, dh, dc, dGates, Int32(B), Int32(H), mask)
    }

    /// Whh [4H, H] packed for the per-step products h_{t−1}·Whhᵀ (a snapshot of `p`).
    public func packedRecurrent(_ p: ParameterStore) -> PackedMatrix {
        PackedMatrix(p.view(whh), rows: 4 * hiddenSize, cols: hiddenSize)
    }

    /// Wih [4H, I] packed for per-step products x_t·Wihᵀ (a snapshot of `p`).
    public func packedInput(_ p: ParameterStore) -> PackedMatrix {
        PackedMatrix(p.view(wih), rows: 4 * hiddenSize, cols: inputSize)
    }

    /// Both weights packed (a snapshot of `p`), for `forwardSequence` at inference.
    public func packed(_ p: ParameterStore) -> Packed {
        Packed(input: packedInput(p), recurrent: packedRecurrent(p))
    }

    /// Wih and Whh packed once for many sequences (`packed(_:)`).
    public struct Packed {
        /// Wih [4H, I] (`packedInput`).
        public let input: PackedMatrix
        /// Whh [4H, H] (`packedRecurrent`).
        public let recurrent: PackedMatrix
    }

    /// What `backwardSequence` needs from `forwardSequence`.
    public final class SequenceCache {
        public let steps: Int
        public let rows: Int
        /// Inputs x [T, B, I] (shared, not copied).
        public let x: FloatBuffer
        /// Gate activations [T, B, 4H].
        public let gates: FloatBuffer
        /// Cell states c_0…c_T [T+1, B, H]; c_0 is the initial state.
        public let c: FloatBuffer
        /// Hidden states h_0…h_T [T+1, B, H]; h_t for t ≥ 1 are the outputs.
        public let h: FloatBuffer
        /// tanh(c_t) for t = 1…T, [T, B, H].
        public let tanhC: FloatBuffer
        /// Row masks [T, B] (1 = real step, 0 = padding), or nil for all real.
        public let mask: FloatBuffer?
        init(steps: Int, rows: Int, hidden: Int, x: FloatBuffer, mask: FloatBuffer?) {
            self.steps = steps; self.rows = rows; self.x = x; self.mask = mask
            // The gates are written whole by the input projections, tanh(c) by every step's cell
            // (zero on masked rows): neither needs zeroing first.
            gates = FloatBuffer(uninitializedCount: steps * rows * 4 * hidden)
            c = FloatBuffer(count: (steps + 1) * rows * hidden)
            h = FloatBuffer(count: (steps + 1) * rows * hidden)
            tanhC = FloatBuffer(uninitializedCount: steps * rows * hidden)
        }
        /// h_t for t in 1…T, [B, H].
        public func output(_ t: Int, hidden: Int) -> UnsafeMutablePointer<Float> { h.pointer + (t + 1) * rows * hidden }
    }

    /// Runs T steps over x [T, B, I] (time-major) from h0, c0 [B, H] (zeros when nil).
    /// The final state is h_T, c_T (masked steps carry the state, so it is each row's last real
    /// step).
    /// - Parameters:
    ///   - packed: Wih and Whh already packed (inference snapshots, `packed(_:)`). When nil,
    ///     Whh is packed here once per call, so the T per-step products never repack it, and
    ///     the input projections go through `gemm`.
    /// - Complexity: O(T·B·4H·(I + H)); one GEMM for all input projections, one packed product
    ///   per step for the recurrence.
    public func forwardSequence(
        _ p: ParameterStore, x: FloatBuffer, steps T: Int, rows B: Int, mask: FloatBuffer? = nil,
        h0: UnsafePointer<Float>? = nil, c0: UnsafePointer<Float>? = nil, packed: Packed? = nil
    ) -> SequenceCache {
        let H = hiddenSize
        let cache = SequenceCache(steps: T, rows: B, hidden: H, x: x, mask: mask)
        if let h0 { cache.h.pointer.update(from: h0, count: B * H) }
        if let c0 { cache.c.pointer.update(from: c0, count: B * H) }
        let G = cache.gates.pointer
        if let packed {
            packed.input.multiply(m: T * B, x.pointer, G)
        } else {
            gemm(transB: true, m: T * B, n: 4 * H, k: inputSize, x.pointer, p.view(wih), G)
        }
        Kernels.addBiasRows(G, p.view(bias), rows: T * B, cols: 4 * H)
        let whhPacked = packed?.recurrent ?? packedRecurrent(p)
        for t in 0..<T {
            let gt = G + t * B * 4 * H
            let hp = cache.h.pointer + t * B * H
            whhPacked.multiply(m: B, hp, beta: 1, gt)
            LSTM.cellForward(gates: gt, cPrev: cache.c.pointer + t * B * H, hPrev: hp,
                             c: cache.c.pointer + (t + 1) * B * H, h: cache.h.pointer + (t + 1) * B * H,
                             tanhC: cache.tanhC.pointer + t * B * H, rows: B, hidden: H,
                             mask: mask.map { UnsafePointer($0.pointer + t * B) })
        }
        return cache
    }

    /// Backpropagates through a sequence. `dOut` [T, B, H] is the gradient at the outputs
    /// h_1…h_T, `dhT`/`dcT` [B, H] at the final state (each optional). Adds into the weight
    /// gradients and into `dx` [T, B, I]; writes the gradient at the initial state into
    /// `dh0`/`dc0` [B, H] when given.
    /// - Complexity: O(T·B·4H·(I + H)); the weight gradients and dx are one GEMM each.
    public func backwardSequence(
        _ p: ParameterStore, _ g: ParameterStore, cache: SequenceCache, dOut: UnsafePointer<Float>?,
        dhT: UnsafePointer<Float>? = nil, dcT: UnsafePointer<Float>? = nil,
        dx: UnsafeMutablePointer<Float>?, dh0: UnsafeMutablePointer<Float>? = nil, dc0: UnsafeMutablePointer<Float>? = nil
    ) {
        backwardSequence(p, g, cache: cache, dOut: dOut, dhT: dhT, dcT: dcT, dx: dx, dh0: dh0, dc0: dc0, consumeCache: false)
    }

    /// `backwardSequence`; with `consumeCache` the gate gradients overwrite the cached gate
    /// activations (step t's are read just before they are replaced), saving a [T, B, 4H]
    /// buffer, and the cache cannot be used again.
    func backwardSequence(
        _ p: ParameterStore, _ g: ParameterStore, cache: SequenceCache, dOut: UnsafePointer<Float>?,
        dhT: UnsafePointer<Float>?, dcT: UnsafePointer<Float>?,
        dx: UnsafeMutablePointer<Float>?, dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?,
        consumeCache: Bool
    ) {
        let H = hiddenSize, T = cache.steps, B = cache.rows
        let dG = consumeCache ? cache.gates : FloatBuffer(count: T * B * 4 * H)
        let dh = FloatBuffer(count: B * H), dc = FloatBuffer(count: B * H), tmp = FloatBuffer(count: B * H)
        if let dhT { dh.pointer.update(from: dhT, count: B * H) }
        if let dcT { dc.pointer.update(from: dcT, count: B * H) }
        // dh_{t−1} = dGates·Whh at every step: Whh packed once (as the transpose of Whhᵀ).
        let whhT = PackedMatrix(transposeOf: p.view(whh), k: 4 * H, n: H)
        for t in stride(from: T - 1, through: 0, by: -1) {
            if let dOut { Kernels.add(dOut + t * B * H, into: dh.pointer, B * H) }
            let dgt = dG.pointer + t * B * 4 * H
            LSTM.cellBackward(gates: cache.gates.pointer + t * B * 4 * H, cPrev: cache.c.pointer + t * B * H,
                              tanhC: cache.tanhC.pointer + t * B * H, dh: dh.pointer, dc: dc.pointer,
                              dGates: dgt, rows: B, hidden: H,
                              mask: cache.mask.map { UnsafePointer($0.pointer + t * B) })
            // dh_{t−1} = dGates·Whh (+ the carried gradient left in dh for masked rows).
            whhT.multiply(m: B, dgt, tmp.pointer)
            Kernels.add(tmp.pointer, into: dh.pointer, B * H)
        }
        if let dh0 { dh0.update(from: dh.pointer, count: B * H) }
        if let dc0 { dc0.update(from: dc.pointer, count: B * H) }
        gemmSharedTransposedA(m: 4 * H, k: T * B, dG.pointer, [(inputSize, UnsafePointer(cache.x.pointer), 1, g.view(wih)),
                                                              (H, UnsafePointer(cache.h.pointer), 1, g.view(whh))])
        Kernels.sumRowsInto(dG.pointer, g.view(bias), rows: T * B, cols: 4 * H)
        if let dx { gemm(m: T * B, n: inputSize, k: 4 * H, dG.pointer, p.view(wih), beta: 1, dx) }
    }
}
