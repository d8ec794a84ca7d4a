import ArgumentParser
import Tokenize

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Join space-separated tokens back into text (for model output).",
        discussion: """
            Each line's tokens (separated by spaces) are joined with English punctuation \
            rules: no space before . , ; : ! ? ) and the like, none after ( [ {, paired \
            quotes, hyphens and slashes joined inside compounds. One line in, one line out.

            Example:
              $ echo "a command - line tool ( for tests ) ." | mixer-cli detokenize
              a command-line tool (for tests).
            """
    )

    @OptionGroup var files: TextFileOptions

    func run() throws {
        try reportingErrors {
            let writer = try LineWriter(path: files.output, inputs: [files.input ?? "-"])
            let reader = try LineReader(path: files.input, replaceInvalid: files.replaceInvalid)
            _ = try Detokenizer().detokenize(from: reader, to: writer)
            try writer.close()
        }
    }
}
