/// A fully connected layer y = x·Wᵀ + b.
///
/// Shapes: W [out, in] (PyTorch's layout), b [out], x [N, in], y [N, out].
/// Forward is one GEMM; backward is two (dW += dyᵀ·x, dx += dy·W) plus a row sum for db.
public struct Linear {
    /// The weight entry, shape [outputSize, inputSize].
    public let weight: ParameterStore.Entry
    /// The bias entry, shape [outputSize], or nil for a layer without bias.
    public let bias: ParameterStore.Entry?
    public let inputSize: Int
    public let outputSize: Int

    /// Registers `name.weight` (and `name.bias`) in `store`.
    public init(_ store: ParameterStore, name: String, inputSize: Int, outputSize: Int, bias: Bool = true) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = store.add(name + ".weight", shape: [outputSize, inputSize])
        self.bias = bias ? store.add(name + ".bias", shape: [outputSize]) : nil
    }

    /// y [rows, out] = x [rows, in] · Wᵀ + b (`beta` = 1 adds into y instead of overwriting).
    /// - Complexity: O(rows·in·out).
    public func forward(_ p: ParameterStore, x: UnsafePointer<Float>, rows: Int,
                        y: UnsafeMutablePointer<Float>, beta: Float = 0) {
        gemm(transB: true, m: rows, n: outputSize, k: inputSize, x, p.view(weight), beta: beta, y)
        if let b = bias { Kernels.addBiasRows(y, p.view(b), rows: rows, cols: outputSize) }
    }

    /// `forward` with W already packed (`packed()`, a snapshot): y = x·Wᵀ + b for few rows.
    /// - Complexity: O(rows·in·out).
    func forward(_ p: ParameterStore, packed: PackedMatrix, x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>) {
        packed.multiply(m: rows, x, y)
        if let b = bias { Kernels.addBiasRows(y, p.view(b), rows: rows, cols: outputSize) }
    }

    /// W [out, in] packed for `forward(_:packed:x:rows:y:)`.
    func packed(_ p: ParameterStore) -> PackedMatrix {
        PackedMatrix(p.view(weight), rows: outputSize, cols: inputSize)
    }

    /// dW += dyᵀ·x, db += Σ dy, and dx += dy·W when `dx` is given.
    /// - Complexity: O(rows·in·out).
    public func backward(_ p: ParameterStore, _ g: ParameterStore, x: UnsafePointer<Float>, rows: Int,
                         dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
        gemm(transA: true, m: outputSize, n: inputSize, k: rows, dy, x, beta: 1, g.view(weight))
        if let b = bias { Kernels.sumRowsInto(dy, g.view(b), rows: rows, cols: outputSize) }
        if let dx { gemm(m: rows, n: inputSize, k: outputSize, dy, p.view(weight), beta: 1, dx) }
    }
}

/// A lookup table: row `id` of E [vocab, dim] for every id.
///
/// The backward pass adds each output gradient row into the row of its id only, so the
/// gradient touches only the rows that were used.
public struct Embedding {
    /// The table entry, shape [vocabSize, dim].
    public let table: ParameterStore.Entry
    public let vocabSize: Int
    public let dim: Int

    /// Registers `name.weight` [vocabSize, dim] in `store`.
    public init(_ store: ParameterStore, name: String, vocabSize: Int, dim: Int) {
        self.vocabSize = vocabSize
        self.dim = dim
        table = store.add(name + ".weight", shape: [vocabSize, dim])
    }

    /// out [n, dim] = E[ids[i]] for each of the n ids; out rows of ids < 0 are zeros.
    /// - Precondition: every id is below `vocabSize`.
    /// - Complexity: O(n·dim).
    public func forward(_ p: ParameterStore, ids: UnsafePointer<Int32>, count n: Int, out: UnsafeMutablePointer<Float>) {
        let e = p.view(table)
        for i in 0..<n {
            let id = Int(ids[i])
            precondition(id < vocabSize, "Token id \(id) is outside the vocabulary of \(vocabSize)")
            if id < 0 { (out + i * dim).update(repeating: 0, count: dim) } else {
                (out + i * dim).update(from: e + id * dim, count: dim)
            }
        }
    }

    /// dE[ids[i]] += dOut[i] for each i (ids < 0 are skipped).
    /// - Complexity: O(n·dim).
    public func backward(_ g: ParameterStore, ids: UnsafePointer<Int32>, count n: Int, dOut: UnsafePointer<Float>) {
        let de = g.view(table)
        for i in 0..<n where ids[i] >= 0 {
            Kernels.add(dOut + i * dim, into: de + Int(ids[i]) * dim, dim)
        }
    }
}

/// Inverted dropout: y = x · m with m_i = 1/(1−p) with probability 1−p and 0 otherwise
/// (Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html).
///
/// The mask is drawn from the caller's seeded generator and kept, so backward is dx = dy · m.
public enum Dropout {
    /// A mask of `n` values in {0, 1/(1−p)} drawn from `rng`, or nil when `p` is 0.
    public static func mask(count n: Int, p: Float, rng: inout RandomGenerator) -> FloatBuffer? {
        guard p > 0 else { return nil }
        let m = FloatBuffer(count: n)
        let scale = 1 / (1 - p)
        for i in 0..<n { m[i] = rng.nextUniform() < p ? 0 : scale }
        return m
    }

    /// x [n] *= mask [n] in place (forward and backward are the same product).
    @inline(__always)
    public static func apply(_ mask: FloatBuffer?, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
        guard let m = mask else { return }
        Kernels.multiply(m.pointer, into: x, n)
    }
}
