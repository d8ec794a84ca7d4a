import ArgumentParser
import Foundation

/// The arguments of this invocation after the subcommand's name, as parsed: the command line,
/// with `train --config FILE` replaced by the file's settings (see ``TrainConfigFile``). What
/// `train` saves with a run and compares on `--resume`.
nonisolated(unsafe) var invocationArguments: [String] = Array(CommandLine.arguments.dropFirst())

/// One option of a command, as swift-argument-parser describes it (its `--experimental-dump-help`
/// JSON, read through `_dumpHelp()`): every name, whether it takes a value, and whether it may
/// be repeated (an array option).
struct OptionSpec: Equatable {
    /// As typed: `--epochs`, `-o`, `-tok`.
    var names: [String]
    var takesValue: Bool
    var repeatable: Bool
    /// Shown in help (false for the hidden old names).
    var visible: Bool

    /// The long name, `--epochs` (else the first name).
    var canonical: String { names.first { $0.hasPrefix("--") } ?? names[0] }
}

enum OptionSurface {
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
    static func specs(of command: ParsableArguments.Type) -> [OptionSpec] {
        guard let dump = try? JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8)) else { return [] }
        return (dump.command.arguments ?? []).compactMap { a in
            guard a.kind == "option" || a.kind == "flag", let names = a.names, !names.isEmpty else { return nil }
            let spelled = names.map { n in n.kind == "long" ? "--" + n.name : "-" + n.name }
            return OptionSpec(names: spelled, takesValue: a.kind == "option", repeatable: a.isRepeating, visible: a.shouldDisplay)
        }
    }

    /// The spec named by `token` (`--epochs`, `--epochs=3`, `-o`), if any.
    static func spec(for token: String, in specs: [OptionSpec]) -> OptionSpec? {
        let name = token.hasPrefix("--") ? String(token.split(separator: "=", maxSplits: 1)[0]) : token
        return specs.first { $0.names.contains(name) }
    }

    /// Throws `--NAME given twice` when an option that takes one value appears more than once
    /// in `arguments` (under any of its names): swift-argument-parser would keep the last one
    /// silently. Repeatable options (`--reference`), flags and everything after `--` are left alone.
    ///
    /// - Complexity: O(arguments × options).
    static func checkRepeated(_ arguments: [String], specs: [OptionSpec]) throws {
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
    static func isGiven(_ spec: OptionSpec, in arguments: [String]) -> Bool {
        for token in arguments {
            if token == "--" { return false }
            if token.hasPrefix("-"), let s = self.spec(for: token, in: [spec]), s == spec { return true }
        }
        return false
    }

    /// `arguments` as one shell command line: each word single-quoted unless it is made of
    /// characters that need no quoting.
    static func shellQuoted(_ arguments: [String]) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        return arguments.map { a in
            if !a.isEmpty && a.allSatisfy({ plain.contains($0) }) { return a }
            return "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
