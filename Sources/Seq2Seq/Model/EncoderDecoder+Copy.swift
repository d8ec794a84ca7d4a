import Foundation
import Tokenize

/// Copy attention: the pointer-generator of See, Liu & Manning, "Get To The Point:
/// Summarization with Pointer-Generator Networks", ACL 2017 (https://arxiv.org/abs/1704.04368).
///
/// At decoder step t of row b, with the attention distribution a_t over the L_b source
/// positions (``LuongAttention``), the context c_t [D], the decoder state h_t [H] and the input
/// embedding e_t [E] (after dropout, the part of the LSTM input x_t that is the embedding):
///
///     p_gen = σ(w·[c_t ; h_t ; e_t] + b)                   w [1, D + H + E], b [1]
///     P(w)  = p_gen·P_vocab(w) + (1 − p_gen)·Σ_{i: x_i = w} a_{t,i}
///
/// over the row's *extended* vocabulary: the V target ids, then V, V + 1, … for the source's
/// words that the target vocabulary lacks, in first-occurrence order (``CopySource``). A copied
/// rare word is then itself, not `<unk>`; the decoder's next input for an extended id is
/// `<unk>`'s embedding (``CopySource/decoderInput(_:vocabularySize:)``).
///
/// Cost over a decoder without copy: one [D + H + E] dot product per row and step for p_gen
/// and one pass over the L_b attention weights for the copy mass, O(T·B·(D + H + E + S)) —
/// small beside the output layer's O(T·B·V·H).
public struct CopySource: Equatable, Sendable {
    /// ids[i]: source token i in the extended target vocabulary (a target id, or V + k for the
    /// row's k-th out-of-vocabulary word).
    public var ids: [Int32]
    /// The row's out-of-vocabulary words: extended id V + k spells oovs[k].
    public var oovs: [String]

    public init(ids: [Int32], oovs: [String]) {
        self.ids = ids
        self.oovs = oovs
    }

    /// The extended ids of a source's words: words in `target` get their target id; the others
    /// get V + k in first-occurrence order (the same word twice gets the same id).
    /// - Complexity: O(n) hash lookups.
    public init(words: [String], target: Vocabulary) {
        var oovs: [String] = [], index: [String: Int32] = [:]
        let V = Int32(target.count)
        ids = words.map { w in
            if target.contains(w) { return target.id(w) }
            if let k = index[w] { return V + k }
            let k = Int32(oovs.count)
            index[w] = k
            oovs.append(w)
            return V + k
        }
        self.oovs = oovs
    }

    /// A target's ids in this row's extended vocabulary (See et al. §2.2: a target word absent
    /// from the vocabulary but present in the source is trained on its extended id); a word in
    /// neither stays `<unk>`.
    public func extendedTarget(words: [String], target: Vocabulary) -> [Int32] {
        let V = Int32(target.count)
        return words.map { w in
            if target.contains(w) { return target.id(w) }
            if let k = oovs.firstIndex(of: w) { return V + Int32(k) }
            return Vocabulary.unk
        }
    }

    /// The word an extended id spells: a target token, or the row's copied word.
    public func word(_ id: Int32, target: Vocabulary) -> String {
        let V = Int32(target.count)
        if id >= V, Int(id - V) < oovs.count { return oovs[Int(id - V)] }
        return target.token(id)
    }

    /// The id the decoder reads for an emitted id: itself below V, `<unk>` for an extended id.
    @inline(__always)
    public static func decoderInput(_ id: Int32, vocabularySize V: Int) -> Int32 { Int(id) < V ? id : Vocabulary.unk }
}

/// The gradient the copy mixture sends into the decoder (``EncoderDecoder/backward(_:dOutputs:consumeCaches:copy:)``),
/// besides the one at the logits: `dGate` [T·B] at p_gen's pre-activation z (p_gen = σ(z)),
/// `dWeights` [T, B, S] at the attention weights a.
public struct CopyGradient {
    public let dGate: FloatBuffer
    public let dWeights: FloatBuffer
    public init(dGate: FloatBuffer, dWeights: FloatBuffer) {
        self.dGate = dGate
        self.dWeights = dWeights
    }
}

extension EncoderDecoder {
    /// The floor under the mixed probability of a target before its log (a target that the
    /// model gives exactly 0 in Float, i.e. below ~1e-38, would make the loss infinite): the
    /// loss is −log max(P, 1e-30), and a floored position sends no gradient.
    public static let copyProbabilityFloor: Float = 1e-30

    /// Rows [T·B, D + H + E] of the gate's input [c_t ; h_t ; e_t] from a trace.
    /// - Complexity: O(T·B·(D + H + E)).
    func copyGateInput(_ tr: DecoderTrace) -> FloatBuffer {
        let rows = tr.steps * tr.batchSize
        let E = config.embeddingSize, H = config.hiddenSize, D = config.memorySize, I = decoderInputSize, G = D + H + E
        let input = FloatBuffer(uninitializedCount: rows * G)
        Kernels.copyColumns(tr.ch.pointer, srcStride: D + H, input.pointer, dstStride: G, rows: rows, cols: D + H)
        Kernels.copyColumns(tr.x.pointer, srcStride: I, input.pointer, dstStride: G, dstOffset: D + H, rows: rows, cols: E)
        return input
    }

    /// p_gen [T·B] of every step of a trace, σ(w·[c_t ; h_t ; e_t] + b).
    /// Each row is one dot product summed in index order (``copyGateRow``), the same as in
    /// decoding and on any thread count.
    /// - Precondition: the model has copy (``ModelConfig/copy``).
    /// - Complexity: O(T·B·(D + H + E)).
    public func copyGates(_ tr: DecoderTrace) -> FloatBuffer {
        precondition(copyGate != nil, "copyGates needs a model with copy attention")
        let rows = tr.steps * tr.batchSize
        let G = config.memorySize + config.hiddenSize + config.embeddingSize
        let g = FloatBuffer(count: rows)
        let input = copyGateInput(tr)
        for r in 0..<rows { g[r] = copyGateRow(input.pointer + r * G, input.pointer + r * G + config.memorySize + config.hiddenSize) }
        return g
    }

    /// σ(w·[c ; h ; e] + b) of one row from its [c ; h] (D + H floats) and e (E floats), the
    /// sum in index order.
    @inline(__always)
    func copyGateRow(_ ch: UnsafePointer<Float>, _ e: UnsafePointer<Float>) -> Float {
        let cg = copyGate!, w = params.view(cg.weight), DH = config.memorySize + config.hiddenSize
        var z: Float = 0
        for i in 0..<DH { z += w[i] * ch[i] }
        for i in 0..<config.embeddingSize { z += w[DH + i] * e[i] }
        return 1 / (1 + exp(-(z + params.view(cg.bias!)[0])))
    }

    /// p_gen of one inference step for B rows from the step's [c ; h] rows (stride D + H) and
    /// LSTM inputs x (stride I, the embedding first).
    /// - Complexity: O(B·(D + H + E)).
    func copyGateStep(ch: UnsafePointer<Float>, x: UnsafePointer<Float>, rows B: Int, into gate: UnsafeMutablePointer<Float>) {
        let H = config.hiddenSize, D = config.memorySize, I = decoderInputSize
        for b in 0..<B { gate[b] = copyGateRow(ch + b * (D + H), x + b * I) }
    }

    /// The backward of the gate: from dz [T·B] (at p_gen's pre-activation) adds
    /// dw += Σ_r dz_r·[c ; h ; e]_r and db += Σ_r dz_r into `grads` (sums over rows in row
    /// order: the same bits on any thread count) and returns d[c ; h ; e] = dz ⊗ w
    /// [T·B, D + H + E] for `backward` to route.
    /// - Complexity: O(T·B·(D + H + E)).
    func copyGateBackward(_ tr: DecoderTrace, dGate: FloatBuffer) -> FloatBuffer {
        let rows = tr.steps * tr.batchSize
        let G = config.memorySize + config.hiddenSize + config.embeddingSize
        let input = copyGateInput(tr)
        let dInput = FloatBuffer(count: rows * G)
        let cg = copyGate!, w = params.view(cg.weight), dw = grads.view(cg.weight), db = grads.view(cg.bias!)
        for r in 0..<rows {
            let dz = dGate[r], x = input.pointer + r * G, dx = dInput.pointer + r * G
            if dz == 0 { continue }
            for j in 0..<G { dw[j] += dz * x[j]; dx[j] = dz * w[j] }
            db[0] += dz
        }
        return dInput
    }
}
