#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// The storage layer's error (`Sources/Seq2Seq/Storage/`: checkpoints, safetensors, the run
/// directory, its lock and its log, and the file I/O under them all): which file, and what is
/// wrong.
///
/// The message has the same shape as Tokenize's `InputError`: `FILE: what is wrong`.
public struct StorageError: Error, CustomStringConvertible, Equatable, Sendable {
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

/// The name of ``StorageError`` until 0.2.0, when it was the checkpoints' error alone.
@available(*, deprecated, renamed: "StorageError")
public typealias CheckpointError = StorageError

/// The POSIX calls behind checkpoints, run directories and logs: one read helper (regular
/// files only, bounded by their size), one durable write helper (write, fsync), renames,
/// symbolic links and removals — and the crash-enumeration hook that every *mutating* call
/// passes through.
///
/// ## Crash enumeration (tests)
/// With `MIXER_CRASH_AT_FS_OP=N` in the environment, the process ends with `_exit(86)` just
/// before its Nth mutating file-system call (mkdir, create, write, fsync, rename, symlink,
/// unlink, rmdir, truncate), counted from 1 over the whole process; a write that is the Nth
/// call first writes half of its bytes (a torn write). Nothing is flushed or cleaned up, so
/// the disk is left exactly as a `kill -9` at that moment would leave it. Tests run a command
/// for N = 1, 2, … until it completes, and check the run directory after each crash — the way
/// SQLite's crash tests and crash-consistency checkers (ALICE, CrashMonkey) enumerate crash
/// points. Without the variable the hook costs one branch.
enum FileIO {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// The exit status of a simulated crash.
    static let simulatedCrashStatus: Int32 = 86

    /// The call number at which to crash (from `MIXER_CRASH_AT_FS_OP`), or 0 for never.
    nonisolated(unsafe) private static var crashAt: Int = {
        guard let v = getenv("MIXER_CRASH_AT_FS_OP"), let n = Int(String(cString: v)), n > 0 else { return 0 }
        return n
    }()
    nonisolated(unsafe) private static var mutations = 0

    /// Counts a mutating call; ends the process before it when it is the one to crash at.
    /// `torn` runs first in that case (a write's partial bytes).
    @inline(__always)
    static func willMutate(_ torn: (() -> Void)? = nil) {
        guard crashAt > 0 else { return }
        mutations += 1
        if mutations == crashAt {
            torn?()
            _exit(simulatedCrashStatus)
        }
    }

    // MARK: - Reading

    /// The whole content of `path`, which must be a regular file (a symbolic link to one is
    /// followed). FIFOs, devices and sockets are refused without blocking, and at most the
    /// size the file had when it was opened is read, so a link to `/dev/zero` or a FIFO can
    /// neither hang nor grow memory.
    /// - Throws: ``StorageError`` naming the file (missing, a directory, not a regular
    ///   file, unreadable).
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { throw StorageError(path, "missing file") }
            if errno == EISDIR { throw StorageError(path, "is a directory, not a file") }
            throw StorageError(path, "cannot open: \(errnoText())")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw StorageError(path, "cannot read: \(errnoText())") }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFDIR { throw StorageError(path, "is a directory, not a file") }
        if kind != S_IFREG { throw StorageError(path, "is not a regular file (a device, FIFO or socket); refusing to read it") }
        let size = Int(st.st_size)
        var out = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, size - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(path, "read failed: \(errnoText())")
            }
            if n == 0 { break }
            filled += n
        }
        if filled < size { throw StorageError(path, "shrank while being read (\(filled) of \(size) bytes)") }
        return out
    }

    /// The target of the symbolic link at `path`, or nil when it is not a link.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n >= 0 else { return nil }
        buffer[n] = 0
        return String(cString: buffer)
    }

    /// The absolute path of `path` with every symbolic link resolved, or nil when it does not
    /// resolve (missing, a dangling link).
    static func resolve(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    // MARK: - Writing

    /// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
    /// - Throws: ``StorageError`` naming `path` with the system's reason (disk full, ...).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        willMutate {
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count / 2) }
        }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(path, "write failed: \(errnoText())")
            }
            done += n
        }
    }

    /// fsync(2) of an open file.
    static func sync(_ fd: Int32, path: String) throws {
        willMutate()
        if fsync(fd) != 0 { throw StorageError(path, "fsync failed: \(errnoText())") }
    }

    /// Writes `bytes` to `path` (created, or truncated) and fsyncs it before returning.
    static func writeDurably(_ path: String, _ bytes: [UInt8]) throws {
        willMutate()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if fd < 0 { throw StorageError(path, "cannot create: \(errnoText())") }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        try sync(fd, path: path)
    }

    /// Replaces `path` with a regular file holding `bytes`: written to a temporary name in the
    /// same directory, fsynced, renamed over `path`, and the directory fsynced — so `path`
    /// always holds either the old or the whole new content.
    static func replaceDurably(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = path + ".tmp-\(getpid())"
        try writeDurably(temporary, bytes)
        try moveItem(temporary, path)
        syncDirectory(parentDirectory(path))
    }

    /// Flushes a directory's entries (new names, renames) to disk.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            willMutate()
            _ = fsync(fd)
            close(fd)
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Whether something (a dangling symbolic link included) is at `path`.
    static func entryExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    static func makeDirectory(_ path: String) throws {
        if isDirectory(path) { return }
        if entryExists(path) { throw StorageError(path, "exists and is not a directory") }
        willMutate()
        if mkdir(path, 0o755) != 0 && !(errno == EEXIST && isDirectory(path)) {
            throw StorageError(path, "cannot create directory: \(errnoText())")
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
        willMutate()
        if rename(from, to) != 0 {
            throw StorageError(from, "cannot rename to \(to): \(errnoText())")
        }
    }

    /// Creates the symbolic link `path` → `target`.
    static func makeSymbolicLink(_ path: String, target: String) throws {
        willMutate()
        if symlink(target, path) != 0 {
            throw StorageError(path, "cannot create a symbolic link: \(errnoText())")
        }
    }

    /// Points the symbolic link `path` at `target` atomically: a new link under a temporary
    /// name, renamed over `path` (rename(2) replaces a link in one step).
    static func replaceSymbolicLink(_ path: String, target: String) throws {
        let temporary = path + ".new-\(getpid())"
        try removeTree(temporary)
        try makeSymbolicLink(temporary, target: target)
        try moveItem(temporary, path)
    }

    /// Removes a file, a symbolic link or a directory tree; a missing path is not an error.
    static func removeTree(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) != 0 { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let names = list(path)
            for n in names { try removeTree(path + "/" + n) }
            willMutate()
            if rmdir(path) != 0 && errno != ENOENT { throw StorageError(path, "cannot remove: \(errnoText())") }
        } else {
            willMutate()
            if unlink(path) != 0 && errno != ENOENT { throw StorageError(path, "cannot remove: \(errnoText())") }
        }
    }

    /// The names in directory `path` (without "." and ".."), sorted.
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
        return names.sorted()
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
