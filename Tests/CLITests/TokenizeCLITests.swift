import XCTest

final class TokenizeCLITests: XCTestCase {
    private func data(_ s: String) -> Data { Data(s.utf8) }

    func testTokenizeStdinToStdoutKeepsLines() throws {
        let r = try CLI.run(["tokenize"], stdin: data("Don't panic: it's 3.14!\n\n   \ncafé\u{FB01}\r\nlast"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Don't panic : it's 3.14 !\n\n\ncaféfi\nlast\n")
    }

    func testTokenizeOptions() throws {
        let dir = try CLI.temporaryDirectory(self)
        let input = dir.appendingPathComponent("in.txt"), output = dir.appendingPathComponent("out.txt")
        try data("İSTANBUL Straße \u{FB01}\n").write(to: input)
        var r = try CLI.run(["tokenize", "--lowercase", "--input", input.path, "--output", output.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "i\u{307}stanbul strasse fi\n")
        r = try CLI.run(["tokenize", "--normalization", "nfc", "--locale", "tr", "--input", input.path])
        XCTAssertEqual(r.stdout, "İSTANBUL Straße \u{FB01}\n")
        r = try CLI.run(["tokenize", "--normalization", "none"], stdin: data("e\u{301}!"))
        XCTAssertEqual(Array(r.stdout.unicodeScalars), ["e", "\u{301}", " ", "!", "\n"])
    }

    func testTokenizeBundledDataPreservesLineCount() throws {
        let input = CLI.repositoryRoot.appendingPathComponent("data/valid.tgt")
        let r = try CLI.run(["tokenize", "--input", input.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let inLines = try String(contentsOf: input, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(r.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, inLines.count)
    }

    func testDetokenize() throws {
        let r = try CLI.run(["detokenize"], stdin: data("a command - line tool ( for tests ) .\n\nHello , world !\n"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "a command-line tool (for tests).\n\nHello, world!\n")
        // tokenize | detokenize on ordinary text.
        let t = try CLI.run(["tokenize"], stdin: data("Parser (RSS) library for syndication - development files\n"))
        let back = try CLI.run(["detokenize"], stdin: t.stdoutData)
        XCTAssertEqual(back.stdout, "Parser (RSS) library for syndication - development files\n")
    }

    func testVocab() throws {
        let dir = try CLI.temporaryDirectory(self)
        let a = dir.appendingPathComponent("a.tok"), b = dir.appendingPathComponent("b.tok")
        let out = dir.appendingPathComponent("vocab.txt")
        try data("b a c a\n").write(to: a)
        try data("b a\nd\n").write(to: b)
        var r = try CLI.run(["vocab", "--output", out.path, a.path, b.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8),
                       "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\na\t3\nb\t2\nc\t1\nd\t1\n")
        r = try CLI.run(["vocab", "--min-count", "2", a.path, b.path])
        XCTAssertEqual(r.stdout, "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\na\t3\nb\t2\n")
        r = try CLI.run(["vocab", "--max-size", "5", "-"], stdin: data("x y y\n"))
        XCTAssertEqual(r.stdout, "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\ny\t2\n")
        r = try CLI.run(["vocab", "--tokenize", "--lowercase", "-"], stdin: data("Hello, HELLO!\n"))
        XCTAssertEqual(r.stdout, "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\nhello\t2\n!\t1\n,\t1\n")
    }

    func testHelpGivesExamples() throws {
        for command in ["tokenize", "detokenize", "vocab"] {
            let r = try CLI.run([command, "--help"])
            XCTAssertEqual(r.status, 0, command)
            XCTAssertTrue(r.stdout.contains("Example"), "\(command): \(r.stdout)")
            XCTAssertTrue(r.stdout.contains("mixer-cli \(command)"), command)
        }
    }

    // MARK: - Bad input: one line on stderr, non-zero exit, no crash.

    private func assertFails(_ args: [String], stdin: Data? = nil, mentions: [String],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args, stdin: stdin)
        XCTAssertNotEqual(r.status, 0, "\(args)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "\(args): \(r.stderr)", file: file, line: line) }
    }

    func testInvalidUTF8NamesFileAndLine() throws {
        let dir = try CLI.temporaryDirectory(self)
        let bad = dir.appendingPathComponent("bad.txt")
        try (data("fine\nalso fine\nbad ") + Data([0xC3, 0x28]) + data("\n")).write(to: bad)
        try assertFails(["tokenize", "--input", bad.path], mentions: ["error: ", "\(bad.path):3:", "invalid UTF-8"])
        let r = try CLI.run(["tokenize", "--replace-invalid", "--input", bad.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "fine\nalso fine\nbad \u{FFFD} (\n")
        try assertFails(["tokenize"], stdin: Data([0x61, 0x0A, 0xFF]), mentions: ["<stdin>:2:"])
        try assertFails(["vocab", bad.path], mentions: ["\(bad.path):3:"])
        try assertFails(["detokenize", "--input", bad.path], mentions: ["\(bad.path):3:"])
    }

    func testMissingFilesAndDirectories() throws {
        try assertFails(["tokenize", "--input", "/nonexistent/in.txt"], mentions: ["error: /nonexistent/in.txt: no such file"])
        try assertFails(["tokenize", "--input", "/tmp"], mentions: ["is a directory"])
        try assertFails(["tokenize", "--output", "/nonexistent/dir/out.txt"], stdin: data("a\n"),
                        mentions: ["error: /nonexistent/dir/out.txt: cannot write"])
        try assertFails(["vocab", "/nonexistent/a.tok"], mentions: ["no such file"])
        try assertFails(["vocab", "--output", "/nonexistent/dir/v.txt", "-"], stdin: data("a\n"), mentions: ["cannot write"])
    }

    func testOptionsOutOfRange() throws {
        try assertFails(["vocab", "--min-count", "0", "-"], mentions: ["--min-count must be at least 1"])
        try assertFails(["vocab", "--max-size", "3", "-"], mentions: ["--max-size must be at least 4"])
        try assertFails(["vocab"], mentions: ["file"])
        try assertFails(["tokenize", "--normalization", "nfd"], mentions: ["nfd"])
        try assertFails(["tokenize", "--locale", "en US"], mentions: ["--locale"])
        try assertFails(["vocab", "--min-count", "many", "-"], mentions: ["many"])
    }

    func testBinaryInput() throws {
        try assertFails(["tokenize"], stdin: Data([0x61, 0x00, 0x62, 0x0A]), mentions: ["<stdin>:1:", "NUL"])
    }
}
