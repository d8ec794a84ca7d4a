// mixer-bench: benchmark modes for bench/train.sh (not part of the product; bench/gemm.sh has
// its own driver, gemm-bench, the one that links the system BLAS). Each mode is a
// subcommand that prints one JSON line; add a mode by adding its type to `subcommands`.
import ArgumentParser

struct MixerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixer-bench",
        abstract: "Benchmarks of mixer's model code (used by bench/*.sh).",
        subcommands: [TrainBench.self]
    )
}

MixerBench.main()
