import Foundation
import XCTest

/// What a user reads first: every command's `--help`, checked as a person would read it, and
/// the README's flags checked against them so that the two cannot drift.
final class HelpTextTests: XCTestCase {
    static let commands = ["tokenize", "detokenize", "vocab", "subword", "subword train", "subword encode", "subword decode",
                           "score", "train", "decode", "evaluate", "report"]

    /// `mixer-cli COMMAND --help` at 80 columns.
    func help(_ command: String) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "80"
        let r = try CLI.run(command.split(separator: " ").map(String.init) + ["--help"], environment: environment)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// The discussion (between the overview and USAGE) as lines.
    func discussion(_ text: String) -> [Substring] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let end = lines.firstIndex { $0.hasPrefix("USAGE:") } ?? lines.count
        let start = (lines.firstIndex { $0.isEmpty } ?? 0) + 1
        return Array(lines[min(start, end)..<end])
    }

    /// Examples are intact: each starts with `  mixer-cli` or `  $ `, and its continuation
    /// lines are indented and follow a line that ends with ` \`; none is wrapped by the
    /// parser (which would start a line at column 0 in the middle of a command).
    func testExamplesAreIntactAndFitTheTerminal() throws {
        for command in Self.commands {
            let lines = discussion(try help(command))
            guard let start = lines.firstIndex(where: { $0.hasPrefix("Example") }) else {
                XCTFail("\(command) --help has no examples")
                continue
            }
            var previousContinues = false
            for line in lines[(start + 1)...] where !line.isEmpty {
                if previousContinues {
                    XCTAssertTrue(line.hasPrefix("    "), "\(command): continuation not indented: \(line)")
                } else {
                    XCTAssertTrue(line.hasPrefix("  mixer-cli ") || line.hasPrefix("  $ ") || line.hasPrefix("  "),
                                  "\(command): an example line broken by wrapping: \(line)")
                }
                XCTAssertLessThanOrEqual(line.count, 80, "\(command): \(line)")
                previousContinues = line.hasSuffix(" \\")
            }
            XCTAssertFalse(previousContinues, "\(command): the last example ends with a continuation")
        }
    }

    /// Every paragraph and list item of the discussion ends its sentence, and list items are
    /// hand-wrapped with a hanging indent (a wrapped item's next line is never at column 0).
    func testNoCutSentencesAndNoWrappedListItems() throws {
        for command in Self.commands {
            let lines = discussion(try help(command))
            let examples = lines.firstIndex { $0.hasPrefix("Example") } ?? lines.count
            var item: [Substring] = []
            var itemIndented = false
            func finish() {
                guard let last = item.last else { return }
                let text = last.trimmingCharacters(in: .whitespaces)
                XCTAssertTrue([".", ":", ")"].contains { text.hasSuffix($0) },
                              "\(command): a sentence is cut: \(item.joined(separator: " / "))")
                item = []
            }
            for (i, line) in lines[..<examples].enumerated() {
                if line.isEmpty { finish(); itemIndented = false; continue }
                // Prose is wrapped by the parser at 80 columns; a line that the next line's first
                // word would still have fitted on was cut by a hard newline in the source.
                if !line.hasPrefix(" "), i + 1 < examples, !lines[i + 1].isEmpty, !lines[i + 1].hasPrefix(" "),
                   !line.hasSuffix(":"), let word = lines[i + 1].split(separator: " ").first {
                    XCTAssertGreaterThanOrEqual(line.count + 1 + word.count, 80,
                                         "\(command): a paragraph is broken by a hard newline after: \(line)")
                }
                let indented = line.hasPrefix(" ")
                if indented && line.hasPrefix("  ") && !line.hasPrefix("   ") { finish() }
                if !indented && itemIndented {
                    XCTFail("\(command): a list item was wrapped at column 0: \(line)")
                }
                if item.isEmpty { itemIndented = indented }
                item.append(line)
            }
            finish()
        }
    }

    /// Each option states its default once (the parser's `(default: …)` or the text's own).
    func testEachOptionStatesItsDefaultOnce() throws {
        for command in Self.commands {
            let text = try help(command)
            guard let options = text.range(of: "OPTIONS:") else { continue }
            var entries: [String] = []
            for line in text[options.upperBound...].split(separator: "\n") {
                if line.hasPrefix("  -") { entries.append(String(line)) }
                else if !entries.isEmpty { entries[entries.count - 1] += " " + line.trimmingCharacters(in: .whitespaces) }
            }
            XCTAssertFalse(entries.isEmpty, command)
            for e in entries {
                let count = e.components(separatedBy: "default").count - 1
                XCTAssertLessThanOrEqual(count, 1, "\(command): \(e)")
            }
        }
    }

    /// Every flag the README names exists in some command's --help (the benchmark driver's
    /// included): the README cannot document a flag that is not there.
    func testTheReadmeNamesOnlyRealFlags() throws {
        var known = Set<String>()
        let pattern = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]*[a-z0-9]")
        func flags(_ text: String) -> Set<String> {
            Set(pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) })
        }
        for command in Self.commands { known.formUnion(flags(try help(command))) }
        let bench = CLI.executable.deletingLastPathComponent().appendingPathComponent("mixer-bench")
        if FileManager.default.fileExists(atPath: bench.path) {
            let p = Process()
            p.executableURL = bench
            p.arguments = ["train", "--help"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            known.formUnion(flags(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)))
            p.waitUntilExit()
        }
        let readme = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        // Placeholders and other tools' flags that the README quotes on purpose.
        let quoted: Set<String> = ["--option"]
        let unknown = flags(readme).subtracting(known).subtracting(quoted)
        XCTAssertTrue(unknown.isEmpty, "README.md names flags that no command has: \(unknown.sorted())")
    }

    /// The side-by-side table of docs/scoring.md: every flag in mixer's column is one of
    /// `score --help`'s, and rouge-score's and sacreBLEU's features it names as covered are in
    /// the help (file patterns, aggregate CSV, sentence splitting, line numbers, one scale).
    func testScoringSideBySideTableMatchesScoresHelp() throws {
        let doc = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent("docs/scoring.md"), encoding: .utf8)
        let start = try XCTUnwrap(doc.range(of: "## mixer, sacreBLEU and rouge-score side by side"))
        let rows = doc[start.upperBound...].split(separator: "\n").drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        XCTAssertGreaterThan(rows.count, 10)
        let helpText = try help("score")
        let pattern = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]*[a-z0-9]")
        var checked = 0
        for row in rows.dropFirst(2) {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard cells.count > 2 else { continue }
            let mixer = cells[2]
            for m in pattern.matches(in: mixer, range: NSRange(mixer.startIndex..., in: mixer)) {
                let flag = String(mixer[Range(m.range, in: mixer)!])
                XCTAssertTrue(helpText.contains(flag), "docs/scoring.md's table names \(flag) for mixer; score --help lacks it")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 8)
        for feature in ["--target-filepattern", "--prediction-filepattern", "--split-summaries", "csv (rouge-score's",
                        "all on 0-100", "low/mid/high"] {
            XCTAssertTrue(helpText.contains(feature), "score --help does not mention \(feature)")
        }
    }

    /// docs/cli.md is every command's --help as the executable prints it now
    /// (`scripts/cli-reference.sh` writes it).
    func testCLIReferenceIsCurrent() throws {
        let reference = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        for command in Self.commands {
            let text = try help(command)
            XCTAssertTrue(reference.contains("## \(command)\n\n```text\n" + text + "```"),
                          "docs/cli.md is out of date for \(command): run scripts/cli-reference.sh")
        }
    }
}
