import Tokenize

/// A parallel text corpus: line N of the source file pairs with line N of the target file.
///
/// Reading streams both files together through Tokenize's ``LineReader`` (strict UTF-8, no
/// NUL bytes, CRLF accepted). The files must have the same number of lines and must not be
/// empty; pairs where either side is empty or only whitespace are skipped and counted.
/// - Complexity: O(total size) time; memory holds the kept lines.
public struct ParallelCorpus: Sendable {
    /// Kept source lines.
    public var sources: [String]
    /// Kept target lines, parallel to `sources`.
    public var targets: [String]
    /// The 1-based line number of each kept pair in the files (for error messages).
    public var lineNumbers: [Int]
    /// Pairs skipped because a side was empty.
    public var skippedEmptyPairs: Int
    /// The files read.
    public var sourcePath: String
    public var targetPath: String

    /// The number of kept pairs.
    public var count: Int { sources.count }

    /// Reads `sourcePath` and `targetPath` (`"-"`, standard input, for at most one of them).
    /// - Parameter replaceInvalid: substitute U+FFFD for ill-formed UTF-8 instead of failing.
    /// - Throws: Tokenize's ``InputError`` naming the file (and line): unreadable or invalid
    ///   text, an empty file, different line counts (both files and both counts), or no pair
    ///   left after skipping empty ones.
    public static func read(sourcePath: String, targetPath: String, replaceInvalid: Bool = false,
                            fingerprints: DataFingerprints? = nil) throws -> ParallelCorpus {
        var corpus = ParallelCorpus(sources: [], targets: [], lineNumbers: [], skippedEmptyPairs: 0,
                                    sourcePath: sourcePath, targetPath: targetPath)
        corpus.skippedEmptyPairs = try forEachPair(sourcePath: sourcePath, targetPath: targetPath,
                                                   replaceInvalid: replaceInvalid, fingerprints: fingerprints) { s, t, line in
            corpus.sources.append(s)
            corpus.targets.append(t)
            corpus.lineNumbers.append(line)
        }.skipped
        return corpus
    }

    /// Streams the pairs of `sourcePath` and `targetPath` to `body` (source line, target line,
    /// 1-based line number), skipping pairs with an empty side, holding one pair at a time.
    /// - Returns: the number of pairs given to `body` and the number skipped.
    /// - Throws: as ``read(sourcePath:targetPath:replaceInvalid:)``, and whatever `body` throws.
    /// - Complexity: O(total size) time; memory O(longest line).
    public static func forEachPair(sourcePath: String, targetPath: String, replaceInvalid: Bool = false,
                                   fingerprints: DataFingerprints? = nil,
                                   _ body: (String, String, Int) throws -> Void) throws -> (kept: Int, skipped: Int) {
        if sourcePath == "-" && targetPath == "-" {
            throw InputError(file: "<stdin>", "cannot read both the source and the target from standard input")
        }
        let src = try LineReader(path: sourcePath, replaceInvalid: replaceInvalid)
        let tgt = try LineReader(path: targetPath, replaceInvalid: replaceInvalid)
        fingerprints?.watch(src, path: sourcePath)
        fingerprints?.watch(tgt, path: targetPath)
        defer {
            fingerprints?.finish(src, path: sourcePath)
            fingerprints?.finish(tgt, path: targetPath)
        }
        var kept = 0, skipped = 0
        while true {
            let s = try src.nextLine()
            let t = try tgt.nextLine()
            switch (s, t) {
            case let (s?, t?):
                if isBlank(s) || isBlank(t) {
                    skipped += 1
                } else {
                    try body(s, t, src.lineNumber)
                    kept += 1
                }
            case (nil, nil):
                if src.lineNumber == 0 { throw InputError(file: sourcePath, "is empty") }
                if tgt.lineNumber == 0 { throw InputError(file: targetPath, "is empty") }
                if kept == 0 {
                    throw InputError(file: sourcePath, "every one of its \(src.lineNumber) lines pairs with an empty line (in \(sourcePath) or \(targetPath))")
                }
                return (kept, skipped)
            case (_?, nil), (nil, _?):
                // Count the rest of the longer file, then report both counts.
                while try src.withNextLine({ _ in () }) != nil {}
                while try tgt.withNextLine({ _ in () }) != nil {}
                if src.lineNumber == 0 { throw InputError(file: sourcePath, "is empty") }
                if tgt.lineNumber == 0 { throw InputError(file: targetPath, "is empty") }
                throw InputError(file: sourcePath,
                                 "has \(src.lineNumber) lines but \(targetPath) has \(tgt.lineNumber): line N of the source must pair with line N of the target")
            }
        }
    }

    static func isBlank(_ s: String) -> Bool { s.unicodeScalars.allSatisfy { $0.properties.isWhitespace } }

    /// The pairs as id sequences, through the given encoders (the vocabularies' lookups).
    /// - Complexity: O(total size) plus the encoders' cost.
    public func encoded(source: (String) throws -> [Int32], target: (String) throws -> [Int32]) rethrows
        -> (sources: [[Int32]], targets: [[Int32]]) {
        (try sources.map(source), try targets.map(target))
    }
}

/// SHA-256 of input files computed from the bytes as they are read (``LineReader/onRead``),
/// so that what is recorded is what was trained on, for pipes as for files; an input that is
/// not a regular file is recorded as such (it cannot be read again to resume a run).
public final class DataFingerprints {
    /// Per path: the SHA-256 (hex) of its bytes, and whether it is a regular file.
    public private(set) var files: [String: (sha256: String, regular: Bool)] = [:]
    private var running: [String: SHA256] = [:]

    public init() {}

    func watch(_ reader: LineReader, path: String) {
        running[path] = SHA256()
        reader.onRead = { [unowned self] bytes in self.running[path]!.update(bytes) }
    }

    func finish(_ reader: LineReader, path: String) {
        reader.onRead = nil
        guard var h = running.removeValue(forKey: path) else { return }
        files[path] = (SHA256.hexString(h.finalize()), reader.isRegularFile)
    }
}
