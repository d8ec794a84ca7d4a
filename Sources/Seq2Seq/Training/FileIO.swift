#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A problem with a checkpoint or one of its files: which file, and what is wrong.
///
/// The message has the same shape as Tokenize's `InputError`: `FILE: what is wrong`.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file or directory concerned.
    public var file: String
    /// What is wrong, in plain English.
    public var reason: String

    public init(_ file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// Small POSIX helpers for durable, atomic file output (write, fsync, rename, fsync the
/// directory), shared by checkpoints and logs.
enum FileIO {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// The whole content of `path`.
    /// - Throws: ``CheckpointError`` naming the file (missing, a directory, unreadable).
    static func readAll(_ path: String) throws -> [UInt8] {
        var st = stat()
        if stat(path, &st) != 0 {
            throw CheckpointError(path, errno == ENOENT ? "missing file" : "cannot read: \(errnoText())")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw CheckpointError(path, "is a directory, not a file") }
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw CheckpointError(path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var filled = 0
        while true {
            if filled == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: max(4096, out.count))) }
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(path, "read failed: \(errnoText())")
            }
            if n == 0 { break }
            filled += n
        }
        out.removeSubrange(filled...)
        return out
    }

    /// Writes `bytes` to `path` (created or truncated) and fsyncs it before returning.
    static func writeDurably(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw CheckpointError(path, "cannot create: \(errnoText())") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(path, "write failed: \(errnoText())")
            }
            done += n
        }
        if fsync(fd) != 0 { throw CheckpointError(path, "fsync failed: \(errnoText())") }
    }

    /// Flushes a directory's entries (new names, renames) to disk.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && !(errno == EEXIST && isDirectory(path)) {
            throw CheckpointError(path, "cannot create directory: \(errnoText())")
        }
    }

    /// Creates `path` and its missing parents.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = parentDirectory(path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent) }
        try makeDirectory(path)
    }

    static func moveItem(_ from: String, _ to: String) throws {
        if rename(from, to) != 0 {
            throw CheckpointError(from, "cannot rename to \(to): \(errnoText())")
        }
    }

    /// Removes a file or a directory tree; a missing path is not an error.
    static func removeTree(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) != 0 { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let names = list(path)
            for n in names { try removeTree(path + "/" + n) }
            if rmdir(path) != 0 { throw CheckpointError(path, "cannot remove: \(errnoText())") }
        } else if unlink(path) != 0 {
            throw CheckpointError(path, "cannot remove: \(errnoText())")
        }
    }

    /// The names in directory `path` (without "." and "..").
    static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func parentDirectory(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    static func lastComponent(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}
