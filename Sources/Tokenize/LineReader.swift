import CICU
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A problem with a user's input file: what is wrong, and where (file and 1-based line).
///
/// Every command that reads text reports bad input through this type, so that the message a
/// user sees always has the same shape: `FILE:LINE: what is wrong`.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file, or "<stdin>".
    public var file: String
    /// The 1-based line number, or nil when the problem is the whole file.
    public var line: Int?
    /// What is wrong, in plain English.
    public var reason: String

    public init(file: String, line: Int? = nil, _ reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// Reads a text file (or standard input) line by line, streaming, with strict UTF-8 checking.
///
/// - Lines end at `\n`; a `\r` before it (CRLF files) is dropped. A last line without a
///   newline counts; an empty file has no lines.
/// - Ill-formed UTF-8 is an ``InputError`` naming the file and line, unless `replaceInvalid`
///   is set, in which case each maximal ill-formed subsequence becomes U+FFFD (as Python's
///   `errors="replace"` does).
/// - NUL bytes are rejected (they are never text, and usually mean a binary file was given).
///
/// Memory is bounded by the longest line plus a 1 MiB read buffer, so arbitrarily large files
/// stream; a buffer grown for a long line goes back to 1 MiB once the line is consumed (so two
/// readers of line-aligned files do not both hold a huge line's buffer at once).
/// - Complexity: O(n) in the file's size.
public final class LineReader {
    /// The name used in error messages: the path, or "<stdin>".
    public let name: String
    /// The number of the line most recently returned (1-based); 0 before the first.
    public private(set) var lineNumber = 0
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let replaceInvalid: Bool
    private var buffer: [UInt8]
    private var start = 0, end = 0
    private var eof = false
    private var pending: [UInt8] = []
    /// Called with each block of raw bytes as it is read, before any checking or decoding (to
    /// hash an input exactly as it was read, so that a pipe is fingerprinted by its content).
    public var onRead: ((UnsafeRawBufferPointer) -> Void)?
    /// Whether the input is a regular file (not a pipe, terminal or device): only such an
    /// input can be read a second time with the same content.
    public private(set) var isRegularFile = false
    private static let initialCapacity = 1 << 20

    /// Opens `path` for reading; `nil` or `"-"` reads standard input.
    /// - Throws: ``InputError`` when the file is missing, a directory, or unreadable.
    public init(path: String?, replaceInvalid: Bool = false) throws {
        self.replaceInvalid = replaceInvalid
        buffer = [UInt8](repeating: 0, count: LineReader.initialCapacity)
        if let path, path != "-" {
            name = path
            var st = stat()
            if stat(path, &st) != 0 {
                throw InputError(file: path, errno == ENOENT ? "no such file" : "cannot read: \(String(cString: strerror(errno)))")
            }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError(file: path, "is a directory, not a file") }
            let d = open(path, O_RDONLY)
            if d < 0 { throw InputError(file: path, "cannot open: \(String(cString: strerror(errno)))") }
            fd = d
            ownsDescriptor = true
            isRegularFile = (st.st_mode & S_IFMT) == S_IFREG
        } else {
            name = "<stdin>"
            fd = 0
            ownsDescriptor = false
            var st = stat()
            isRegularFile = fstat(0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        }
    }

    deinit { if ownsDescriptor { close(fd) } }

    private func fill() throws {
        if start > 0 {
            if start < end { buffer.withUnsafeMutableBytes { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start)
            } }
            end -= start
            start = 0
        }
        if end == buffer.count {
            // A line longer than the buffer: double it (a new buffer and one copy; appending a
            // zero-filled array would hold a third copy at the peak).
            var grown = [UInt8](repeating: 0, count: 2 * buffer.count)
            grown.withUnsafeMutableBytes { g in buffer.withUnsafeBytes { b in g.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<end])) } }
            buffer = grown
        }
        let n = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + end, b.count - end) }
        if n < 0 { throw InputError(file: name, "read failed: \(String(cString: strerror(errno)))") }
        if n == 0 { eof = true } else {
            if let onRead { buffer.withUnsafeBytes { onRead(UnsafeRawBufferPointer(rebasing: $0[end..<(end + n)])) } }
            end += n
        }
    }

    /// Calls `body` with the raw bytes of the next line (without its `\n` / `\r\n`), already
    /// checked for UTF-8 and NUL bytes; returns false at the end of input. The bytes are only
    /// valid during the call. This is the allocation-free fast path; ``nextLine()`` wraps it.
    public func withNextLine<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R? {
        while true {
            let found: Int? = buffer.withUnsafeBytes { b in
                guard end > start else { return nil }
                let p = memchr(b.baseAddress! + start, 0x0A, end - start)
                return p.map { UnsafeRawPointer($0) - b.baseAddress! }
            }
            if let nl = found {
                let lineStart = start
                start = nl + 1
                defer { shrinkIfGrown() }
                return try emit(lineStart, nl, body)
            }
            if eof {
                if end > start {
                    let lineStart = start
                    start = end
                    defer { shrinkIfGrown() }
                    return try emit(lineStart, end, body)
                }
                return nil
            }
            try fill()
        }
    }

    /// After a long line: back to a buffer of the initial size, keeping the unread bytes (when
    /// they fit), so that the long line's memory is released before the next file is read.
    private func shrinkIfGrown() {
        guard buffer.count > LineReader.initialCapacity, end - start <= LineReader.initialCapacity / 2 else { return }
        var small = [UInt8](repeating: 0, count: LineReader.initialCapacity)
        if end > start {
            small.withUnsafeMutableBytes { s in buffer.withUnsafeBytes { b in
                s.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[start..<end]))
            } }
        }
        end -= start
        start = 0
        buffer = small
    }

    private func emit<R>(_ s: Int, _ e0: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        lineNumber += 1
        var e = e0
        if e > s && buffer[e - 1] == 0x0D { e -= 1 }
        return try buffer.withUnsafeBufferPointer { b in
            let line = UnsafeBufferPointer(rebasing: b[s..<e])
            if line.count > 0 {
                if memchr(line.baseAddress!, 0, line.count) != nil {
                    throw InputError(file: name, line: lineNumber, "contains a NUL byte (is this a binary file?)")
                }
                let bad = line.baseAddress!.withMemoryRebound(to: CChar.self, capacity: line.count) {
                    cicu_utf8_first_invalid($0, Int64(line.count))
                }
                if bad >= 0 {
                    if !replaceInvalid {
                        throw InputError(file: name, line: lineNumber,
                                         "invalid UTF-8 at byte \(bad + 1) of the line (use --replace-invalid to substitute U+FFFD)")
                    }
                    let repaired = Array(String(decoding: line, as: UTF8.self).utf8)
                    return try repaired.withUnsafeBufferPointer { try body($0) }
                }
            }
            return try body(line)
        }
    }

    /// The next line as a String, or nil at the end of input.
    public func nextLine() throws -> String? {
        try withNextLine { String(decoding: $0, as: UTF8.self) }
    }

    /// Every line of `path` (`"-"` for standard input).
    /// - Throws: ``InputError`` as ``LineReader`` does.
    public static func readLines(_ path: String, replaceInvalid: Bool = false) throws -> [String] {
        let r = try LineReader(path: path, replaceInvalid: replaceInvalid)
        var lines: [String] = []
        while let l = try r.nextLine() { lines.append(l) }
        return lines
    }
}
