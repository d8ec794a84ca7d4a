import Foundation

extension Vocabulary {
    /// Loads a vocabulary saved by ``write(to:)``: UTF-8 text, one `token<TAB>count` line per
    /// id, in id order, starting with the four specials in order.
    ///
    /// - Throws: ``InputError`` naming the file and line for: a missing file, invalid UTF-8,
    ///   a line without exactly one tab, an empty token or one containing whitespace, a count
    ///   that is not a non-negative integer, a duplicate token, specials missing or out of place.
    /// - Complexity: O(n) in the file's size.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let reader = try LineReader(path: path)
        var tokens: [String] = []
        var counts: [Int] = []
        var firstLine: [String: Int] = [:]
        while let line = try reader.nextLine() {
            let n = reader.lineNumber
            func fail(_ reason: String) -> InputError { InputError(file: path, line: n, reason) }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                throw fail(line.isEmpty ? "empty line (expected token<TAB>count)"
                                        : "expected token<TAB>count, found \(fields.count - 1) tabs")
            }
            let token = String(fields[0])
            guard !token.isEmpty else { throw fail("empty token") }
            guard !token.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
                throw fail("token \"\(token)\" contains whitespace")
            }
            guard fields[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let count = Int(fields[1]) else {
                throw fail("count \"\(fields[1])\" is not a non-negative integer")
            }
            if let first = firstLine[token] {
                throw fail("duplicate token \"\(token)\" (first on line \(first))")
            }
            let id = tokens.count
            if id < Vocabulary.specials.count, token != Vocabulary.specials[id] {
                throw fail("expected the special \"\(Vocabulary.specials[id])\" here: a vocabulary starts with \(Vocabulary.specials.joined(separator: " ")), one per line")
            }
            firstLine[token] = n
            tokens.append(token)
            counts.append(count)
        }
        guard tokens.count >= Vocabulary.specials.count else {
            throw InputError(file: path, "missing the specials: a vocabulary starts with \(Vocabulary.specials.joined(separator: " ")), one per line")
        }
        self.init(unchecked: tokens, counts: counts)
    }

    /// The file contents ``write(to:)`` writes: `token<TAB>count\n` per id.
    public var fileContents: String {
        var s = ""
        s.reserveCapacity(tokens.count * 12)
        for (t, c) in zip(tokens, counts) {
            s += t
            s += "\t"
            s += String(c)
            s += "\n"
        }
        return s
    }

    /// Saves the vocabulary as UTF-8 text, one `token<TAB>count` line per id, atomically (a
    /// temporary file renamed into place).
    /// - Throws: ``InputError`` when the file cannot be written.
    /// - Complexity: O(n) in the vocabulary's size.
    public func write(to url: URL) throws {
        do {
            try Data(fileContents.utf8).write(to: url, options: .atomic)
        } catch {
            throw InputError(file: url.path, "cannot write: \((error as NSError).localizedDescription)")
        }
    }
}
