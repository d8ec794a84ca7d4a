import ArgumentParser
import Foundation
import Metrics
import MixerOptions
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
    /// (see ``OutputFile/reserveStandardDescriptors()``), refuses an option given twice
    /// (``OptionSurface/checkRepeated(_:specs:)``), reads `train --config FILE`
    /// (``TrainConfigFile``), then parses and runs the command.
    static func main() {
        OutputFile.reserveStandardDescriptors()
        let given = Array(CommandLine.arguments.dropFirst())
        guard let name = given.first,
              var command = configuration.subcommands.first(where: { $0.configuration.commandName == name }) else {
            main(nil)
            return
        }
        // A command's own subcommand (`subword train`) is the command whose options count.
        var path = [name]
        var arguments = Array(given.dropFirst())
        while let next = arguments.first,
              let sub = command.configuration.subcommands.first(where: { $0.configuration.commandName == next }) {
            command = sub
            path.append(next)
            arguments.removeFirst()
        }
        var config: TrainConfigFile? = nil
        do {
            let specs = OptionSurface.specs(of: command)
            try OptionSurface.checkRepeated(arguments, specs: specs)
            if command == TrainCommand.self, let file = try TrainConfigFile.extract(from: &arguments, specs: specs) {
                arguments = file.arguments + arguments
                config = file
            }
        } catch {
            exitWithUsage(command, error)
        }
        invocationArguments = path + arguments
        guard let config else {
            main(invocationArguments)
            return
        }
        // With a config file, a bad value is reported with the file, line and key it came from.
        do {
            var parsed = try parseAsRoot(invocationArguments)
            try parsed.run()
        } catch {
            if exitCode(for: error) == .validationFailure, let located = config.locate(message(for: error)) {
                exitWithUsage(command, ValidationError(located))
            }
            exit(withError: error)
        }
    }

    /// Prints `error` as swift-argument-parser prints a subcommand's usage error (`Error: …`,
    /// `Usage: mixer-cli NAME …`) and exits with its status (64 for a validation error).
    private static func exitWithUsage(_ command: ParsableCommand.Type, _ error: Error) -> Never {
        let name = command.configuration.commandName ?? ""
        fputs("Error: \(command.message(for: error))\nUsage: mixer-cli \(command.usageString())\n  See 'mixer-cli \(name) --help' for more information.\n", stderr)
        Foundation.exit(command.exitCode(for: error).rawValue)
    }
}
