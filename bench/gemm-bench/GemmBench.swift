import ArgumentParser
import Dispatch
import Seq2Seq
import SystemBLAS

/// `gemm-bench`: mixer's matrix products against OpenBLAS `cblas_sgemm` on the shapes of
/// the reference model (batch 32, source length 50, target length 15, hidden 256, vocabulary
/// 10,000). Per-step products x·Wᵀ with few rows run on `PackedMatrix` (W packed once); the
/// training products (all time steps at once, forward, and both backward products) run on
/// `gemm`. OpenBLAS runs one thread (`SystemBLAS`), so "2 threads" applies to mixer only.
/// Prints one JSON line per shape with the median µs of each (`mixer`, `peer_value` =
/// OpenBLAS; ratio = OpenBLAS / mixer) and mixer's GFLOP/s.
struct GemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm-bench",
        abstract: "Time the model's matrix products: mixer (PackedMatrix, gemm) vs OpenBLAS sgemm.",
        discussion: "Example: gemm-bench --threads 1")

    @Option(help: "Threads for mixer's products.") var threads = 1
    @Option(help: "Timed repetitions per shape.") var repeats = 50
    @Option(help: "Only the shapes whose name contains this.") var only: String?

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1.") }
    }

    func run() throws {
        setComputeThreads(threads)
        // (name, packed, transA, transB, m, n, k): C [m, n] = op(A) [m, k] · op(B) [k, n].
        let shapes: [(String, Bool, Bool, Bool, Int, Int, Int)] = [
            ("output-32", true, false, true, 32, 10_000, 256), ("output-160", true, false, true, 160, 10_000, 256),
            ("recurrent-32", true, false, true, 32, 1_024, 256), ("decoder-input-32", true, false, true, 32, 1_024, 512),
            ("combine-32", true, false, true, 32, 256, 768), ("output-1", true, false, true, 1, 10_000, 256),
            // Training: y = x·Wᵀ (NT), dW += dyᵀ·x (TN), dx = dy·W (NN).
            ("train-output-forward", false, false, true, 480, 10_000, 256),
            ("train-output-dW", false, true, false, 10_000, 256, 480),
            ("train-output-dx", false, false, false, 480, 256, 10_000),
            ("train-encoder-input-forward", false, false, true, 1_600, 1_024, 256),
            ("train-encoder-dW", false, true, false, 1_024, 256, 1_600),
            ("train-encoder-dx", false, false, false, 1_600, 256, 1_024),
        ]
        var rng = RandomGenerator(seed: 1)
        for (name, usePacked, ta, tb, m, n, k) in shapes where only.map({ name.contains($0) }) ?? true {
            let a = FloatBuffer(count: m * k), b = FloatBuffer(count: n * k), c = FloatBuffer(count: m * n)
            for i in 0..<a.count { a[i] = rng.nextUniform() - 0.5 }
            for i in 0..<b.count { b[i] = rng.nextUniform() - 0.5 }
            func time(_ f: () -> Void) -> Double {
                f()
                var t: [Double] = []
                for _ in 0..<repeats {
                    let s = DispatchTime.now().uptimeNanoseconds
                    f()
                    t.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e3)
                }
                return t.sorted()[t.count / 2]
            }
            let blas = time { systemGemm(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, b.pointer, c.pointer) }
            let mine: Double
            if usePacked {
                let packed = PackedMatrix(b.pointer, rows: n, cols: k)
                mine = time { packed.multiply(m: m, a.pointer, c.pointer) }
            } else {
                mine = time { gemm(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, b.pointer, c.pointer) }
            }
            let gflops = 2 * Double(m * n * k) / mine / 1e3
            let fields: [(String, String)] = [
                ("bench", "\"gemm-\(name)-\(threads)thread\""), ("unit", "\"µs\""), ("mixer", "\(mine.rounded())"),
                ("peer", "\"openblas-sgemm\""), ("peer_value", "\(blas.rounded())"), ("ratio", "\(((blas / mine) * 100).rounded() / 100)"),
                ("m", "\(m)"), ("n", "\(n)"), ("k", "\(k)"), ("trans", "\"\(ta ? "T" : "N")\(tb ? "T" : "N")\""),
                ("mixer_path", "\"\(usePacked ? "PackedMatrix" : "gemm")\""), ("mixer_gflops", "\((gflops * 10).rounded() / 10)"),
                ("packed_kernel", "\"\(PackedMatrix.kernelName)\""), ("blas_core", "\"\(blasCoreName)\""),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        }
    }
}
