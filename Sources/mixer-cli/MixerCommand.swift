import ArgumentParser
import Metrics

@main
struct MixerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixer-cli",
        abstract: "Sequence-level training of text generators (MIXER, Ranzato et al. 2016).",
        version: mixerVersion,
        subcommands: [
            TokenizeCommand.self, DetokenizeCommand.self, VocabCommand.self,
            ScoreCommand.self,
            TrainCommand.self,
            DecodeCommand.self, EvaluateCommand.self,
            ReportCommand.self,
        ]
    )
}
