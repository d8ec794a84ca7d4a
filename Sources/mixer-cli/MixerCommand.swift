import ArgumentParser
import Metrics
import Tokenize

@main
struct MixerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixer-cli",
        abstract: "Sequence-level training of text generators (MIXER, Ranzato et al. 2016).",
        version: mixerVersion,
        subcommands: [
            TokenizeCommand.self, DetokenizeCommand.self, VocabCommand.self, SubwordCommand.self,
            ScoreCommand.self,
            TrainCommand.self,
            DecodeCommand.self, EvaluateCommand.self,
            ReportCommand.self,
        ]
    )

    /// Opens `/dev/null` onto any of descriptors 0-2 that is closed before anything else runs
    /// (see ``OutputFile/reserveStandardDescriptors()``), then parses and runs the command.
    static func main() {
        OutputFile.reserveStandardDescriptors()
        main(nil)
    }
}
