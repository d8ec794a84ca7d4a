import ArgumentParser
import Foundation
import Seq2Seq
import Tokenize

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of one or more training runs.",
        discussion: """
        Reads each RUN_DIR/log.jsonl (written by `mixer-cli train`) and draws, as inline SVG, \
        one chart per figure family: loss, validation perplexity, BLEU and ROUGE (×100), MIXER's \
        mean reward and baseline MSE, throughput, and the degeneration figures. Each run has one \
        colour in every chart, named once in the legend at the top; MIXER/REINFORCE stage \
        boundaries are dashed and labelled. Then the last epoch's figures, each run's \
        configuration as `mixer-cli train` flags (settings that differ between runs \
        highlighted) and sample outputs at several epochs. The page needs no network and runs \
        no script. A short summary is printed on standard output.

        Examples:
          mixer-cli report runs/mixer
          mixer-cli report runs/xent runs/mixer --output compare.html
        """
    )

    @Argument(help: "Run directories (each with a log.jsonl).")
    var runs: [String]

    @Option(name: [.customShort("o"), .long], help: "Where to write the HTML (default: RUN_DIR/report.html for one run, report.html for several).")
    var output: String?

    @Option(help: "The page title.")
    var title: String = "mixer run report"

    func validate() throws {
        if runs.isEmpty { throw ValidationError("Give at least one run directory.") }
    }

    func run() throws {
        try reportingErrors {
            let path = output ?? (runs.count == 1 ? URL(fileURLWithPath: runs[0]).appendingPathComponent("report.html").path : "report.html")
            let logFiles = runs.map { URL(fileURLWithPath: $0).appendingPathComponent("log.jsonl").path }
            // Both outputs are opened (and checked) before any log is read.
            let html = try LineWriter(path: path, inputs: logFiles)
            let summary = try LineWriter(path: nil, inputs: logFiles)
            let logs = try runs.map { try RunLog(directory: URL(fileURLWithPath: $0)) }
            let report = RunReport(runs: logs)
            try html.write(Array(report.html(title: title).utf8))
            try html.close()
            try summary.writeLine(report.summary())
            try summary.writeLine("wrote \(path)")
            try summary.close()
        }
    }
}
