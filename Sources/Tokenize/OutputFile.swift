#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Where a command's output goes, and how it gets there without losing anything: the one place
/// that decides how every command (tokenize, detokenize, vocab, decode, evaluate, score,
/// report) opens its output.
///
/// - A **regular file** (or a symbolic link to one) is written to a temporary file
///   `.NAME.tmp-PID-N` in the directory of the (resolved) target and renamed over it by
///   ``commit()``, after `fsync`; the directory is synced after the rename. Until then the
///   target keeps its old contents (or does not exist): a run killed midway never leaves a
///   partial file at the target path. A symbolic link stays a link: the file it points to is
///   replaced. The new file gets the old file's permission bits. The temporary file is removed
///   by ``discard()`` (and `deinit`), and on SIGINT, SIGTERM or SIGHUP (see
///   `PendingTemporaries`); only SIGKILL or a crash can leave it behind, and the next write to
///   the same target removes it (``removeStaleTemporaries(in:base:)``: its PID no longer runs).
/// - **Anything else** (a pipe, a character device such as `/dev/null`, a socket, a symbolic
///   link to one of them) is opened and written in place, never created, truncated, replaced
///   or unlinked. `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` mean the
///   descriptor itself (as in gawk), so `--output /dev/stdout` appends when the shell opened
///   standard output with `>>`.
/// - `nil` or `"-"` is standard output, written in place.
///
/// Opening an output also refuses an output that is the same file (same device and inode,
/// hard and symbolic links included) as one of the command's inputs, and checks that it can be
/// written: create the `OutputFile` before reading anything.
///
/// Every failure is an ``InputError`` naming the output: `out.txt: cannot write: No space
/// left on device`.
public final class OutputFile {
    /// How the bytes reach the target.
    public enum Kind: Equatable, Sendable {
        /// A temporary file renamed over the regular file at ``target``.
        case replaced(target: String)
        /// Written in place: standard output, a descriptor, or a non-regular file.
        case inPlace
    }

    /// The name used in error messages: the path as given, or "<stdout>".
    public let name: String
    /// How the output is written.
    public let kind: Kind
    /// The descriptor to write to (valid until ``commit()`` or ``discard()``).
    public let descriptor: Int32
    private let ownsDescriptor: Bool
    private var temporary: String?
    private var pendingSlot: Int?
    private var finished = false

    private nonisolated(unsafe) static var temporaryCounter = 0

    /// Opens `path` (`nil` or `"-"`: standard output) for writing.
    ///
    /// - Parameters:
    ///   - path: the output path, `"-"` or nil.
    ///   - inputs: the paths the command will read (`"-"` is standard input): the output must
    ///     not be any of them.
    /// - Throws: ``InputError`` naming the output when it is one of `inputs` (naming both), a
    ///   directory, in a missing or read-only directory, a read-only file, or cannot be opened.
    public init(path: String?, inputs: [String] = []) throws {
        let given = (path == nil || path == "-") ? nil : path
        name = given ?? "<stdout>"
        // The descriptor forms (standard output, /dev/stdout, /dev/fd/N, /proc/self/fd/N).
        guard let path = given, OutputFile.descriptorNamed(path) == nil else {
            let fd = given.flatMap(OutputFile.descriptorNamed) ?? 1
            try OutputFile.refuseClobbering(name: name, output: OutputFile.identity(descriptor: fd), inputs: inputs)
            let flags = fcntl(fd, F_GETFL)
            if flags < 0 || (flags & O_ACCMODE) == O_RDONLY {
                throw InputError(file: name, "cannot write: \(String(cString: strerror(EBADF))) (the descriptor is closed or read-only)")
            }
            kind = .inPlace
            descriptor = fd
            ownsDescriptor = false
            return
        }
        var st = stat()
        if stat(path, &st) != 0 {
            let err = errno
            var lst = stat()
            if err == ENOENT && lstat(path, &lst) == 0 {
                throw InputError(file: path, "cannot write: it is a symbolic link to a missing file")
            }
            if err != ENOENT { throw InputError(file: path, "cannot write: \(String(cString: strerror(err)))") }
            // A new file: its directory must exist and take the temporary file.
            try OutputFile.refuseClobbering(name: path, output: nil, inputs: inputs)
            kind = .replaced(target: path)
        } else {
            try OutputFile.refuseClobbering(name: path, output: FileIdentity(st), inputs: inputs)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                throw InputError(file: path, "cannot write: is a directory")
            case S_IFREG:
                // Respect a read-only file (as a shell's `>` would), then replace the file the
                // path resolves to, so that a symbolic link stays a link.
                if access(path, W_OK) != 0 { throw InputError(file: path, "cannot write: \(String(cString: strerror(errno)))") }
                kind = .replaced(target: OutputFile.resolved(path))
            default:
                kind = .inPlace
            }
        }
        switch kind {
        case .inPlace:
            let d = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            if d < 0 { throw InputError(file: path, "cannot write: \(String(cString: strerror(errno)))") }
            descriptor = d
        case .replaced(let target):
            let (d, temp) = try OutputFile.createTemporary(beside: target, name: path,
                                                           mode: (st.st_mode & S_IFMT) == S_IFREG ? st.st_mode & 0o7777 : nil)
            descriptor = d
            temporary = temp
            pendingSlot = PendingTemporaries.add(temp)
        }
        ownsDescriptor = true
    }

    deinit { discard() }

    /// Finishes the output: for a replaced file, `fsync`s and closes the temporary file, renames
    /// it over the target and syncs the directory; for an output written in place, closes the
    /// descriptor (standard output stays open). Call it only when every byte is written.
    /// - Throws: ``InputError`` naming the output (the temporary file is removed, the target
    ///   keeps its old contents).
    public func commit() throws {
        guard !finished else { return }
        finished = true
        guard ownsDescriptor else { return }
        guard let temp = temporary, case .replaced(let target) = kind else {
            if close(descriptor) != 0 && errno != EINTR {
                throw InputError(file: name, "cannot write: \(String(cString: strerror(errno)))")
            }
            return
        }
        temporary = nil
        func fail(_ err: Int32) -> InputError {
            unlink(temp)
            PendingTemporaries.remove(pendingSlot)
            return InputError(file: name, "cannot write: \(String(cString: strerror(err)))")
        }
        if fsync(descriptor) != 0 {
            let err = errno
            close(descriptor)
            throw fail(err)
        }
        if close(descriptor) != 0 && errno != EINTR { throw fail(errno) }
        if rename(temp, target) != 0 { throw fail(errno) }
        PendingTemporaries.remove(pendingSlot)
        // Make the rename itself durable (a directory that cannot be synced is not an error).
        let dir = open(OutputFile.directory(of: target), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// Abandons the output: a temporary file is closed and removed, so the target keeps its
    /// old contents; an output written in place is closed. Safe to call more than once.
    public func discard() {
        guard !finished else { return }
        finished = true
        if ownsDescriptor { close(descriptor) }
        if let temp = temporary {
            unlink(temp)
            PendingTemporaries.remove(pendingSlot)
            temporary = nil
        }
    }

    // MARK: - Implementation details

    /// The temporary files being written, removed by a handler of SIGINT, SIGTERM and SIGHUP
    /// before the signal ends the process as it would have (so Ctrl-C leaves no `.NAME.tmp-…`
    /// behind). The handler is installed only where the signal's disposition is the default:
    /// a command with its own handlers (train) keeps them. The paths are C strings in a fixed
    /// table, never freed, so the handler calls nothing but `unlink`, `signal` and `raise`.
    enum PendingTemporaries {
        static let capacity = 16
        nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
            let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 16)
            p.initialize(repeating: nil, count: 16)
            return p
        }()
        nonisolated(unsafe) static var installed = false

        /// Registers `path`; returns its slot (nil when the table is full: that file is then
        /// only removed on errors, as without the handler).
        static func add(_ path: String) -> Int? {
            let table = slots                   // initialized before any handler can read it
            install()
            for i in 0..<capacity where table[i] == nil {
                table[i] = strdup(path)
                return i
            }
            return nil
        }

        static func remove(_ slot: Int?) {
            if let slot { slots[slot] = nil }   // the string is not freed: a handler may hold it
        }

        private static func install() {
            guard !installed else { return }
            installed = true
            let handler: @convention(c) (Int32) -> Void = { sig in
                let table = PendingTemporaries.slots
                for i in 0..<16 { if let p = table[i] { unlink(p) } }
                signal(sig, SIG_DFL)
                raise(sig)
            }
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                let previous = signal(sig, handler)
                if unsafeBitCast(previous, to: Int.self) != unsafeBitCast(SIG_DFL, to: Int.self) { signal(sig, previous) }
            }
        }
    }

    /// A file's identity: its device and inode, and whether it is a regular file.
    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var isRegular: Bool

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            isRegular = (st.st_mode & S_IFMT) == S_IFREG
        }
    }

    static func identity(descriptor fd: Int32) -> FileIdentity? {
        var st = stat()
        return fstat(fd, &st) == 0 ? FileIdentity(st) : nil
    }

    static func identity(path: String) -> FileIdentity? {
        if path == "-" { return identity(descriptor: 0) }
        var st = stat()
        return stat(path, &st) == 0 ? FileIdentity(st) : nil
    }

    /// Throws when `output` is a regular file that is also one of `inputs` (only a regular
    /// file can be clobbered: reading and writing the same pipe or device is not refused).
    static func refuseClobbering(name: String, output: FileIdentity?, inputs: [String]) throws {
        guard let output, output.isRegular else { return }
        for input in inputs where identity(path: input) == output {
            let inputName = input == "-" ? "<stdin>" : input
            throw InputError(file: name, "is the same file as the input \(inputName): refusing to overwrite an input (write the output to another file)")
        }
    }

    /// The descriptor a path names (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
    /// `/proc/self/fd/N`), or nil for an ordinary path.
    static func descriptorNamed(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        case "/dev/stdin": return 0
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                let rest = path.dropFirst(prefix.count)
                if !rest.isEmpty, rest.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int32(rest) { return n }
            }
            return nil
        }
    }

    /// The real path of an existing file (symbolic links resolved), or `path` itself.
    static func resolved(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// The directory part of `path` ("." for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Removes the `.BASE.tmp-PID-N` files in `dir` left by writers of the same target that
    /// were killed (SIGKILL, a crash: nothing else leaves one): those whose PID no longer runs
    /// (`kill(PID, 0)` fails with ESRCH). A temporary of a live process, this one's included, is
    /// never touched. Best effort: an entry that cannot be removed stays.
    /// - Complexity: one pass over the directory's entries.
    static func removeStaleTemporaries(in dir: String, base: String) {
        guard let d = opendir(dir) else { return }
        defer { closedir(d) }
        let prefix = ".\(base).tmp-"
        let me = getpid()
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count).split(separator: "-")
            guard rest.count == 2, let pid = Int32(rest[0]), Int(rest[1]) != nil, pid > 0, pid != me else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                _ = unlink((dir == "/" ? "/" : dir + "/") + name)
            }
        }
    }

    /// Creates `.BASE.tmp-PID-N` beside `target` (exclusively, mode 0666 less the umask, or
    /// `mode` when the target exists).
    static func createTemporary(beside target: String, name: String, mode: mode_t?) throws -> (Int32, String) {
        let dir = directory(of: target)
        let base = target.lastIndex(of: "/").map { String(target[target.index(after: $0)...]) } ?? target
        var dirStat = stat()
        if stat(dir, &dirStat) != 0 {
            throw InputError(file: name, errno == ENOENT ? "cannot write: the directory \(dir) does not exist"
                                                         : "cannot write: \(String(cString: strerror(errno)))")
        }
        if (dirStat.st_mode & S_IFMT) != S_IFDIR { throw InputError(file: name, "cannot write: \(dir) is not a directory") }
        removeStaleTemporaries(in: dir, base: base)
        while true {
            temporaryCounter += 1
            let temp = (dir == "." && !target.hasPrefix("./") ? "" : dir == "/" ? "/" : dir + "/")
                + ".\(base).tmp-\(getpid())-\(temporaryCounter)"
            let d = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if d >= 0 {
                if let mode { _ = fchmod(d, mode) }
                return (d, temp)
            }
            if errno == EEXIST || errno == EINTR { continue }
            throw InputError(file: name, "cannot write: \(String(cString: strerror(errno)))")
        }
    }
}

extension OutputFile {
    /// Makes sure descriptors 0, 1 and 2 are open, so that no file the process opens later can
    /// take their place (a progress line on "standard error" landing in an output file). Call
    /// it first thing in `main`.
    ///
    /// A closed descriptor gets `/dev/null`, opened so that using it fails as a closed one
    /// would: standard input write-only (reading it fails with EBADF, rather than looking like
    /// an empty file), standard output read-only (writing fails with EBADF, so output to a
    /// closed standard output is an error, not silently lost). Standard error gets `/dev/null`
    /// for writing: with no standard error there is nowhere to report anything, and the exit
    /// status still tells.
    public static func reserveStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let d = open("/dev/null", (fd == 1 ? O_RDONLY : O_WRONLY) | O_NOCTTY)
            if d >= 0 && d != fd {
                dup2(d, fd)
                close(d)
            }
        }
    }
}
