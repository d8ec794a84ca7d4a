import ArgumentParser
import Foundation

// The option groups and checks shared by mixer-cli and the benchmark drivers (mixer-bench,
// decode-bench): one spelling and one validation for one option (docs/cli.md).

/// One option of a command, as swift-argument-parser describes it (its `--experimental-dump-help`
/// JSON, read through `_dumpHelp()`): every name, whether it takes a value, and whether it may
/// be repeated (an array option).
public struct OptionSpec: Equatable, Sendable {
    /// As typed: `--epochs`, `-o`, `-tok`.
    public var names: [String]
    public var takesValue: Bool
    public var repeatable: Bool
    /// Shown in help (false for the hidden old names).
    public var visible: Bool

    /// The long name, `--epochs` (else the first name).
    public var canonical: String { names.first { $0.hasPrefix("--") } ?? names[0] }
}

public enum OptionSurface {
    private struct Dump: Decodable {
        struct Command: Decodable { var arguments: [Argument]? }
        struct Argument: Decodable {
            struct Name: Decodable { var kind: String; var name: String }
            var kind: String
            var names: [Name]?
            var isRepeating: Bool
            var shouldDisplay: Bool
        }
        var command: Command
    }

    /// Every named option and flag of `command` (positional arguments left out).
    ///
    /// - Complexity: one help dump (JSON) of the command, O(options).
    public static func specs(of command: ParsableArguments.Type) -> [OptionSpec] {
        guard let dump = try? JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8)) else { return [] }
        return (dump.command.arguments ?? []).compactMap { a in
            guard a.kind == "option" || a.kind == "flag", let names = a.names, !names.isEmpty else { return nil }
            let spelled = names.map { n in n.kind == "long" ? "--" + n.name : "-" + n.name }
            return OptionSpec(names: spelled, takesValue: a.kind == "option", repeatable: a.isRepeating, visible: a.shouldDisplay)
        }
    }

    /// The spec named by `token` (`--epochs`, `--epochs=3`, `-o`), if any.
    public static func spec(for token: String, in specs: [OptionSpec]) -> OptionSpec? {
        let name = token.hasPrefix("--") ? String(token.split(separator: "=", maxSplits: 1)[0]) : token
        return specs.first { $0.names.contains(name) }
    }

    /// Throws `--NAME given twice` when an option that takes one value appears more than once
    /// in `arguments` (under any of its names): swift-argument-parser would keep the last one
    /// silently. Repeatable options (`--reference`), flags and everything after `--` are left alone.
    ///
    /// - Complexity: O(arguments × options).
    public static func checkRepeated(_ arguments: [String], specs: [OptionSpec]) throws {
        var seen: Set<String> = []
        var i = 0
        while i < arguments.count {
            let token = arguments[i]
            i += 1
            if token == "--" { break }
            guard token.hasPrefix("-"), let spec = spec(for: token, in: specs), spec.takesValue else { continue }
            if !token.contains("=") { i += 1 }  // its value
            if spec.repeatable { continue }
            if !seen.insert(spec.canonical).inserted {
                let names = spec.names.count > 1 ? " (under any of its names: \(spec.names.joined(separator: ", ")))" : ""
                throw ValidationError("\(spec.canonical) given twice\(names): give it once.")
            }
        }
    }

    /// Whether any of `spec`'s names is given in `arguments` (before `--`).
    public static func isGiven(_ spec: OptionSpec, in arguments: [String]) -> Bool {
        for token in arguments {
            if token == "--" { return false }
            if token.hasPrefix("-"), let s = self.spec(for: token, in: [spec]), s == spec { return true }
        }
        return false
    }

    /// `arguments` as one shell command line: each word single-quoted unless it is made of
    /// characters that need no quoting.
    public static func shellQuoted(_ arguments: [String]) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        return arguments.map { a in
            if !a.isEmpty && a.allSatisfy({ plain.contains($0) }) { return a }
            return "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

extension ParsableCommand {
    /// Parses and runs the command as `main()` does, after refusing a single-valued option
    /// given twice (``OptionSurface/checkRepeated(_:specs:)``): for commands without
    /// subcommands (the benchmark drivers).
    public static func mainRefusingRepeatedOptions() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            try OptionSurface.checkRepeated(arguments, specs: OptionSurface.specs(of: Self.self))
        } catch {
            exit(withError: error)
        }
        main(arguments)
    }
}

/// The model's sizes and dropout: the same options, names and defaults in `mixer-cli train` and
/// `mixer-bench train` (256 everywhere, dropout 0.2: the reference configuration).
public struct ModelShapeArguments: ParsableArguments {
    @Option(help: "Embedding size.") public var embeddingSize = 256
    @Option(help: "Decoder hidden size (and attentional vector size).") public var hiddenSize = 256
    @Option(help: "Encoder hidden size per direction (bilstm).") public var encoderHiddenSize = 256
    @Option(help: "Dropout probability.") public var dropout: Float = 0.2

    public init() {}

    public func validate() throws {
        for (name, v) in [("--embedding-size", embeddingSize), ("--hidden-size", hiddenSize), ("--encoder-hidden-size", encoderHiddenSize)] where v < 1 {
            throw ValidationError("\(name) must be at least 1, got \(v)")
        }
        if !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
    }
}
