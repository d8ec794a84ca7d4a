/// MIXER's learned baseline: one linear regressor per output step,
///
///     b_t = w_t · x_t + c_t,     x_t ∈ ℝ^H the decoder's output (attentional) state at step t,
///
/// trained by mean squared error towards the sequence reward R (Ranzato et al., ICLR 2016,
/// §3.2; [arXiv:1511.06732](https://arxiv.org/abs/1511.06732)). The input is *detached*: the
/// regressor reads x_t but sends no gradient back into the network, so it can only reduce the
/// variance of REINFORCE's estimate, never bias it.
///
/// Parameters live in their own ``ParameterStore`` (`baseline.weight` [T, H],
/// `baseline.bias` [T]) so that the optimizer can give them their own learning-rate factor
/// (the reference code's is 0.01) and the checkpoint saves them beside the model.
///
/// Defaults follow the reference code: weights 0, bias 0.01.
public final class BaselineRegressors {
    /// T, the number of steps (one regressor each).
    public let steps: Int
    /// H, the input size.
    public let inputSize: Int
    public let params: ParameterStore
    public let grads: ParameterStore

    /// - Parameters:
    ///   - steps: T, the maximum number of output steps.
    ///   - inputSize: H, the size of the decoder state read.
    ///   - initialWeight: every weight's initial value (reference: 0).
    ///   - initialBias: every bias's initial value (reference: 0.01).
    public init(steps: Int, inputSize: Int, initialWeight: Float = 0, initialBias: Float = 0.01) {
        self.steps = steps
        self.inputSize = inputSize
        params = ParameterStore()
        params.add("baseline.weight", shape: [steps, inputSize])
        params.add("baseline.bias", shape: [steps])
        params.view("baseline.weight").update(repeating: initialWeight, count: steps * inputSize)
        params.view("baseline.bias").update(repeating: initialBias, count: steps)
        grads = params.zerosLike()
    }

    /// b_t for `rows` inputs: `out[r] = w_t · x[r] + c_t`.
    /// - Parameters:
    ///   - step: t, 0 ..< T.
    ///   - x: [rows, H] row-major.
    ///   - out: [rows].
    /// - Complexity: O(rows · H).
    public func predict(step t: Int, x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>) {
        precondition(t >= 0 && t < steps, "Baseline step \(t) outside 0..<\(steps)")
        let w = params.view("baseline.weight") + t * inputSize
        let c = params.view("baseline.bias")[t]
        for r in 0..<rows {
            var s: Float = 0
            let xr = x + r * inputSize
            for j in 0..<inputSize { s += w[j] * xr[j] }
            out[r] = s + c
        }
    }

    /// Adds the gradient of `scale · Σ_r mask[r] · (b_t[r] − R[r])²` into ``grads``; returns the
    /// unscaled sum of squared errors over the masked rows. Nothing flows back into `x`.
    /// - Parameters:
    ///   - prediction: b_t from ``predict(step:x:rows:out:)`` on the same `x`.
    ///   - reward: R per row.
    ///   - mask: 1 for rows where step t was a REINFORCE step, 0 elsewhere.
    /// - Complexity: O(rows · H).
    @discardableResult
    public func accumulateGradient(step t: Int, x: UnsafePointer<Float>, rows: Int,
                                   prediction: UnsafePointer<Float>, reward: UnsafePointer<Float>,
                                   mask: UnsafePointer<Float>, scale: Float) -> Double {
        let gw = grads.view("baseline.weight") + t * inputSize
        let gc = grads.view("baseline.bias") + t
        var sse = 0.0
        for r in 0..<rows where mask[r] != 0 {
            let e = prediction[r] - reward[r]
            sse += Double(e * e)
            let d = 2 * e * scale * mask[r]
            let xr = x + r * inputSize
            for j in 0..<inputSize { gw[j] += d * xr[j] }
            gc.pointee += d
        }
        return sse
    }
}
