import ArgumentParser
import Dispatch
import Seq2Seq

/// `mixer-bench gemm`: x·Wᵀ with few rows of x, OpenBLAS `cblas_sgemm` (which repacks W at
/// every call) against `PackedMatrix` (W packed once), on the shapes of the reference model's
/// per-step products. Prints one JSON line per shape with the median µs of each
/// (`mixer` = PackedMatrix, `peer_value` = OpenBLAS, ratio = OpenBLAS / PackedMatrix).
struct GemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Time per-step products x·Wᵀ: OpenBLAS sgemm vs PackedMatrix.",
        discussion: "Example: mixer-bench gemm --threads 1")

    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Timed repetitions per shape.") var repeats = 50

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1.") }
    }

    func run() throws {
        setBLASThreads(threads)
        // (name, m rows of x, n rows of W, k)
        let shapes = [("output-32", 32, 10_000, 256), ("output-160", 160, 10_000, 256), ("recurrent-32", 32, 1_024, 256),
                      ("decoder-input-32", 32, 1_024, 512), ("combine-32", 32, 256, 768), ("output-1", 1, 10_000, 256),
                      ("train-output-480", 480, 10_000, 256), ("train-input-1600", 1_600, 1_024, 256)]
        var rng = RandomGenerator(seed: 1)
        for (name, m, n, k) in shapes {
            let w = FloatBuffer(count: n * k), x = FloatBuffer(count: m * k), y = FloatBuffer(count: m * n)
            for i in 0..<w.count { w[i] = rng.nextUniform() - 0.5 }
            for i in 0..<x.count { x[i] = rng.nextUniform() - 0.5 }
            let packed = PackedMatrix(w.pointer, rows: n, cols: k)
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
            let blas = time { gemm(transB: true, m: m, n: n, k: k, x.pointer, w.pointer, y.pointer) }
            let mine = time { packed.multiply(m: m, x.pointer, y.pointer) }
            let gflops = 2 * Double(m * n * k) / mine / 1e3
            let fields: [(String, String)] = [
                ("bench", "\"gemm-\(name)-\(threads)thread\""), ("unit", "\"µs\""), ("mixer", "\(mine.rounded())"),
                ("peer", "\"openblas-sgemm\""), ("peer_value", "\(blas.rounded())"), ("ratio", "\(((blas / mine) * 100).rounded() / 100)"),
                ("m", "\(m)"), ("n", "\(n)"), ("k", "\(k)"), ("mixer_gflops", "\((gflops * 10).rounded() / 10)"),
                ("packed_kernel", "\"\(PackedMatrix.kernelName)\""), ("blas_core", "\"\(blasCoreName)\""),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        }
    }
}
