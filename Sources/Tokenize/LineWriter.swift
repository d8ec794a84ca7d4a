#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Writes a text file (or standard output) through a 1 MiB buffer, reporting failures as
/// ``InputError`` with the file's name (a full disk, a closed pipe, a missing directory).
///
/// The file is opened as an ``OutputFile``: a regular file is written to a temporary file and
/// only replaces the target when ``close()`` succeeds; a writer dropped without ``close()``
/// (an error on the way) leaves the target as it was.
/// - Complexity: O(n) in the bytes written, one `write(2)` per MiB.
public final class LineWriter {
    /// The name used in error messages: the path, or "<stdout>".
    public let name: String
    private let output: OutputFile
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false
    private static let capacity = 1 << 20

    /// Opens `path` for writing (see ``OutputFile``); `nil` or `"-"` writes standard output.
    /// - Parameters:
    ///   - inputs: the files the command reads: the output must not be one of them.
    /// - Throws: ``InputError`` when the output cannot be written or is one of `inputs`.
    public convenience init(path: String?, inputs: [String] = []) throws {
        try self.init(output: OutputFile(path: path, inputs: inputs))
    }

    /// Writes through `output` (opened beforehand, for instance to check it before any work).
    public init(output: OutputFile) {
        self.output = output
        name = output.name
        fd = output.descriptor
        buffer.reserveCapacity(LineWriter.capacity)
    }

    /// A writer dropped without ``close()`` abandons its output (see ``OutputFile/discard()``).
    deinit { if !closed { output.discard() } }

    /// Appends raw bytes.
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if buffer.count + bytes.count > LineWriter.capacity { try flushBuffer() }
        if bytes.count >= LineWriter.capacity {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Appends raw bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try write($0) }
    }

    /// Appends the UTF-8 bytes of `text` (no newline added).
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write($0) }
    }

    /// Appends `line` and a newline.
    public func writeLine(_ line: String) throws {
        var line = line
        try line.withUTF8 { try write($0) }
        if buffer.count + 1 > LineWriter.capacity { try flushBuffer() }
        buffer.append(0x0A)
    }

    /// Writes out the buffer (nothing once the writer is closed or discarded).
    public func flush() throws {
        guard !closed else { return }
        try flushBuffer()
    }

    /// Writes out the buffer; after a failure the buffer is dropped (not written twice).
    private func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBufferPointer { try writeAll($0) }
    }

    /// Flushes, then finishes the output with ``OutputFile/commit()`` (a regular file is
    /// renamed into place only now); reports any error the operating system reports, in which
    /// case the target keeps its old contents.
    public func close() throws {
        guard !closed else { return }
        closed = true
        do {
            try flushBuffer()
        } catch {
            output.discard()
            throw error
        }
        try output.commit()
    }

    /// Abandons the output without writing the buffer (the target keeps its old contents).
    public func discard() {
        guard !closed else { return }
        closed = true
        output.discard()
    }

    private func writeAll(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw InputError(file: name, "cannot write: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}

@inline(__always) private func systemWrite(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    write(fd, p, n)
}
