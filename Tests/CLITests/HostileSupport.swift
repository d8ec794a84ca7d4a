import Foundation
import XCTest
@testable import Seq2Seq

/// Checks shared by the hostile-input tests.
enum Hostile {
    /// The run failed cleanly: exit status 1 (an error while running) or 64 (a usage error),
    /// never a trap or a signal; standard error's first line is the error and contains every
    /// string of `mentions`; runtime errors (`error: …`) are exactly one line.
    static func assertCleanFailure(_ r: CLI.Result, mentions: [String], _ what: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(r.status == 1 || r.status == 64, "\(what): exit status \(r.status), stderr: \(r.stderr)", file: file, line: line)
        for bad in ["Fatal error", "Stack dump", "Illegal instruction", "Segmentation fault", "Trace/breakpoint"] {
            XCTAssertFalse(r.stderr.contains(bad), "\(what): \(r.stderr)", file: file, line: line)
        }
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        // Progress notes may precede a runtime error; the error is the last line.
        let errorLine = lines.first { $0.hasPrefix("Error: ") } ?? lines.last { $0.hasPrefix("error: ") }
        guard let errorLine else {
            XCTFail("\(what): no error line in stderr: \(r.stderr)", file: file, line: line)
            return
        }
        if errorLine.hasPrefix("error: ") {
            XCTAssertEqual(r.status, 1, what, file: file, line: line)
            XCTAssertEqual(lines.filter { $0.hasPrefix("error: ") }.count, 1, "\(what): \(r.stderr)", file: file, line: line)
        }
        for m in mentions {
            XCTAssertTrue(errorLine.contains(m), "\(what): expected \(m.debugDescription) in \(errorLine.debugDescription)", file: file, line: line)
        }
    }

    /// Writes `bytes` to `dir/name` and returns the path.
    @discardableResult
    static func write(_ dir: URL, _ name: String, _ bytes: [UInt8]) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @discardableResult
    static func write(_ dir: URL, _ name: String, _ text: String) throws -> String {
        try write(dir, name, Array(text.utf8))
    }

    /// The first `n` lines of a bundled data file.
    static func dataLines(_ name: String, _ n: Int) throws -> [String] {
        let text = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent("data").appendingPathComponent(name), encoding: .utf8)
        return Array(text.split(separator: "\n", omittingEmptySubsequences: false).prefix(n).map(String.init))
    }

    /// SHA-256 of `bytes`, lowercase hex, to re-write a checkpoint's checksums.
    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
}
