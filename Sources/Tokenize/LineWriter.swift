#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Writes a text file (or standard output) through a 1 MiB buffer, reporting failures as
/// ``InputError`` with the file's name (a full disk, a closed pipe, a missing directory).
///
/// Call ``close()`` at the end: it flushes the buffer and reports the last write error.
/// - Complexity: O(n) in the bytes written, one `write(2)` per MiB.
public final class LineWriter {
    /// The name used in error messages: the path, or "<stdout>".
    public let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private var closed = false
    private static let capacity = 1 << 20

    /// Creates (or truncates) `path` for writing; `nil` or `"-"` writes standard output.
    /// - Throws: ``InputError`` when the file cannot be created.
    public init(path: String?) throws {
        if let path, path != "-" {
            name = path
            let d = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if d < 0 { throw InputError(file: path, "cannot write: \(String(cString: strerror(errno)))") }
            fd = d
            ownsDescriptor = true
        } else {
            name = "<stdout>"
            fd = 1
            ownsDescriptor = false
        }
        buffer.reserveCapacity(LineWriter.capacity)
    }

    deinit { try? close() }

    /// Appends raw bytes.
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if buffer.count + bytes.count > LineWriter.capacity { try flush() }
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

    /// Appends `line` and a newline.
    public func writeLine(_ line: String) throws {
        var line = line
        try line.withUTF8 { try write($0) }
        if buffer.count + 1 > LineWriter.capacity { try flush() }
        buffer.append(0x0A)
    }

    /// Writes out the buffer.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBufferPointer { try writeAll($0) }
    }

    /// Flushes and closes the file; reports any error the operating system reports.
    public func close() throws {
        guard !closed else { return }
        closed = true
        defer { if ownsDescriptor { _ = systemClose(fd) } }
        try flush()
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

@inline(__always) private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
