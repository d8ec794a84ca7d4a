/// Line counts from streaming a file through the tokenizer or detokenizer.
public struct LineStatistics: Equatable, Sendable {
    /// Lines read (and written: one line out per line in).
    public var lines = 0
    /// Tokens written (tokenize) or read (detokenize).
    public var tokens = 0
    /// Bytes read, newlines excluded.
    public var bytes = 0

    public init(lines: Int = 0, tokens: Int = 0, bytes: Int = 0) {
        self.lines = lines
        self.tokens = tokens
        self.bytes = bytes
    }
}

extension WordTokenizer {
    /// Tokenizes every line of `reader` into `writer`: one line out per line in, tokens
    /// separated by single spaces, an empty line for a line with no tokens. Does not close
    /// `writer`.
    /// - Throws: ``InputError`` for invalid input (with its line) or a failed write.
    /// - Complexity: O(n) in the input's size; memory O(longest line).
    public func tokenize(from reader: LineReader, to writer: LineWriter) throws -> LineStatistics {
        var stats = LineStatistics()
        let out = ByteBuffer(capacity: 1 << 17)
        while try reader.withNextLine({ line -> Void in
            stats.tokens += appendTokenized(utf8: line, into: out)
            stats.bytes += line.count
            out.append(0x0A)
        }) != nil {
            stats.lines += 1
            if out.count >= 1 << 16 {
                try writer.write(out.bytes)
                out.removeAll()
            }
        }
        try writer.write(out.bytes)
        return stats
    }
}

extension Detokenizer {
    /// Detokenizes every line of `reader` (tokens separated by spaces or tabs) into `writer`
    /// with ``detokenize(_:)``. Does not close `writer`.
    /// - Throws: ``InputError`` for invalid input (with its line) or a failed write.
    /// - Complexity: O(n) in the input's size.
    public func detokenize(from reader: LineReader, to writer: LineWriter) throws -> LineStatistics {
        var stats = LineStatistics()
        while let line = try reader.nextLine() {
            let tokens = Detokenizer.split(line)
            stats.lines += 1
            stats.tokens += tokens.count
            stats.bytes += line.utf8.count
            try writer.writeLine(detokenize(tokens))
        }
        return stats
    }
}

extension TokenCounter {
    /// Counts the tokens of every line of `reader`: split at spaces and tabs when `tokenizer`
    /// is nil (the output of `mixer-cli tokenize`), else tokenized by it.
    /// - Returns: the number of lines read.
    /// - Throws: ``InputError`` for invalid input (with its line).
    /// - Complexity: O(n) in the input's size.
    @discardableResult
    public mutating func addLines(from reader: LineReader, tokenizer: WordTokenizer? = nil) throws -> Int {
        var lines = 0
        while let line = try reader.nextLine() {
            lines += 1
            if let tokenizer { add(tokenizer.words(line)) } else { add(Detokenizer.split(line)) }
        }
        return lines
    }
}

extension Detokenizer {
    /// Splits a pre-tokenized line (the output of `mixer-cli tokenize`) at runs of spaces and
    /// tabs. Splits the UTF-8 bytes, not the Characters: a space followed by a combining mark
    /// or a joiner is one Character but still separates two tokens. - Complexity: O(n).
    public static func split(_ line: String) -> [String] {
        line.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { String(decoding: $0, as: UTF8.self) }
    }
}
