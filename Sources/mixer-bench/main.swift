// mixer-bench: benchmark modes for bench/train.sh (not part of the product; bench/gemm.sh has
// its own driver, gemm-bench, the one that links the system BLAS). Each mode is a
// subcommand that prints one JSON line; add a mode by adding its type to `subcommands`.
import ArgumentParser
import MixerOptions

struct MixerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixer-bench",
        abstract: "Benchmarks of mixer's model code (used by bench/*.sh).",
        subcommands: [TrainBench.self, RewardWordsBench.self, AllreduceBench.self]
    )
}

// A single-valued option given twice is an error, as in mixer-cli.
let arguments = Array(CommandLine.arguments.dropFirst())
if let name = arguments.first, let mode = MixerBench.configuration.subcommands.first(where: { $0.configuration.commandName == name }) {
    do {
        try OptionSurface.checkRepeated(Array(arguments.dropFirst()), specs: OptionSurface.specs(of: mode))
    } catch {
        mode.exit(withError: error)
    }
}
MixerBench.main(arguments)
