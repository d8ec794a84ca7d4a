#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// The files of a training run directory (the `--output` of `train`).
///
/// ```
/// RUN/
///   lock                      held (flock) by the one trainer that owns the run; holds its PID
///   log.jsonl                 one JSON record per line (TrainingLog)
///   valid/epoch-NNN.txt       each epoch's greedy validation output; valid/reference.txt
///   last -> head/last         fixed symbolic links, made once
///   best -> head/best
///   head -> checkpoints/head-000007      the one pointer that changes, by rename(2)
///   checkpoints/
///     snap-000007/            a checkpoint (Checkpoint's files), never changed once named
///     snap-000005/
///     head-000007/            last -> ../snap-000007, best -> ../snap-000005
/// ```
///
/// `RUN/last` and `RUN/best` are ordinary paths for every tool (`decode --model RUN/last`,
/// `ls RUN/best/`, Python's safetensors); they resolve through `head`, so both switch to a
/// new generation together, in one atomic rename. See ``RunStore`` for the save protocol and
/// its crash guarantees.
public struct RunDirectory: Sendable {
    /// The run directory.
    public var path: String
    public init(_ path: String) { self.path = path }
    /// The latest checkpoint (a symbolic link through `head`).
    public var last: String { path + "/last" }
    /// The checkpoint with the best validation metric (a symbolic link through `head`).
    public var best: String { path + "/best" }
    /// The JSON-lines training log.
    public var log: String { path + "/log.jsonl" }
    /// Each epoch's validation output.
    public var valid: String { path + "/valid" }
    /// The pointer to the current generation.
    var head: String { path + "/head" }
    /// The checkpoints and generations.
    var checkpoints: String { path + "/checkpoints" }
    /// The trainer's lock file.
    var lockFile: String { path + "/lock" }

    /// The entries a run owns: their presence means the directory holds a run, and
    /// `--overwrite` removes them (and nothing else).
    static let entries = ["log.jsonl", "valid", "last", "best", "head", "checkpoints"]

    /// Whether the directory holds (part of) a run.
    public var holdsRun: Bool {
        Self.entries.contains { FileIO.entryExists(path + "/" + $0) }
    }

    /// Whether `last` is a plain directory: a run written before run directories had
    /// generations (mixer 0.1). Such a run can be read, not resumed.
    public var isLegacyLayout: Bool {
        FileIO.isDirectory(last) && !FileIO.isSymbolicLink(last)
    }

    /// Removes the run's own entries (``entries``, and an older layout's `last.*`/`best.*`
    /// leftovers), leaving any other file in the directory alone.
    /// - Throws: ``StorageError`` when a removal fails.
    public func removeRun() throws {
        for name in FileIO.list(path) where Self.entries.contains(name)
            || name.hasPrefix("last.") || name.hasPrefix("best.") || name.hasPrefix("head.") {
            try FileIO.removeTree(path + "/" + name)
        }
        FileIO.syncDirectory(path)
    }
}

/// The advisory lock of a run directory: one trainer at a time.
///
/// `flock(2)` on `RUN/lock`, taken without waiting; the kernel releases it when the process
/// ends however it ends, so a killed trainer never leaves a stale lock. The file holds the
/// owner's PID for the message a second trainer gets.
public final class RunLock {
    private let fd: Int32
    /// The run directory locked.
    public let run: RunDirectory

    /// Creates the directory if needed and takes its lock.
    /// - Throws: ``StorageError``: the directory cannot be created or written (read-only,
    ///   permissions), or another process holds the lock (naming its PID).
    public init(_ run: RunDirectory) throws {
        self.run = run
        createdDirectory = !FileIO.entryExists(run.path)
        try FileIO.makeDirectories(run.path)
        FileIO.willMutate()
        let d = open(run.lockFile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if d < 0 { throw StorageError(run.path, "cannot write here: \(FileIO.errnoText())") }
        if flock(d, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(d, &buffer, 31, 0)
            close(d)
            let pid = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingSpaces : "unknown"
            throw StorageError(run.path, busy
                ? "is in use by another training process (PID \(pid)); wait for it to finish or stop it"
                : "cannot lock \(run.lockFile): \(FileIO.errnoText())")
        }
        fd = d
        let text = Array("\(getpid())\n".utf8)
        FileIO.willMutate()
        if ftruncate(fd, 0) != 0 { close(fd); throw StorageError(run.lockFile, "cannot write: \(FileIO.errnoText())") }
        do { try FileIO.writeAll(fd, text, path: run.lockFile) } catch { close(fd); throw error }
    }

    deinit { close(fd) }

    /// Whether taking the lock created the run directory.
    private let createdDirectory: Bool

    /// For a new run that failed before it wrote anything (bad data, say): removes the lock
    /// file, and the directory when taking the lock created it and it is now empty, so that a
    /// failed command leaves no empty run behind. Other files are left as they are.
    public func removeIfUnused() {
        guard !run.holdsRun else { return }
        try? FileIO.removeTree(run.lockFile)
        if createdDirectory && FileIO.list(run.path).isEmpty { _ = rmdir(run.path) }
    }
}

private extension String {
    var trimmingSpaces: String {
        String(unicodeScalars.filter { !$0.properties.isWhitespace })
    }
}

/// Writes a run's checkpoints so that readers never see a partial one and a crash at any
/// moment loses at most the checkpoint being written.
///
/// ## The save protocol
/// A save of generation g (numbers only grow):
/// 1. the checkpoint's files are written and fsynced in `checkpoints/.tmp-snap`, which is
///    renamed to `checkpoints/snap-g` (this save's checkpoint, never changed afterwards);
/// 2. `checkpoints/.tmp-head` gets two symbolic links, `last` → `../snap-g` and `best` → the
///    best checkpoint (`snap-g` when this epoch improved, else the previous best), and is
///    renamed to `checkpoints/head-g`;
/// 3. the link `head` is pointed at `checkpoints/head-g` by renaming a new link over it —
///    the commit point: `RUN/last` and `RUN/best` switch together;
/// 4. every checkpoint not referenced by the current or the previous generation is removed.
///
/// Each step is fsynced (files, then the directories that name them) before the next.
///
/// ## Guarantees
/// - After a kill at any file-system call, `last` and `best` resolve to whole, checksummed
///   checkpoints of one generation (or, before the first save, to nothing), and the best one
///   is the epoch that `last`'s trainer state reports as best. Tests enumerate every call of a
///   run (``FileIO``'s crash hook) and check this, and that `--resume` ends bit-identical.
/// - Readers never write. A reader that resolved the previous generation finds its files
///   still there for a whole save interval (step 4 keeps it); if it is slower than that, it
///   starts over on the new one (``Checkpoint/open(_:)``).
/// - Leftovers of a crash (temporaries, a checkpoint written but not committed) are removed
///   by the next trainer that takes the lock, before it writes.
final class RunStore {
    let run: RunDirectory
    /// The highest generation number named in `checkpoints/`.
    private(set) var generation = 0
    /// The generation `head` points to, and the one before it (kept for slow readers).
    private var currentHead: String?
    private var previousHead: String?
    /// The checkpoint `best` points to in the current generation.
    private(set) var bestSnapshot: String?

    /// Opens the store of `run` for writing. The caller must hold the run's ``RunLock``.
    /// Creates `checkpoints/` and the `last`/`best` links when missing and removes what a
    /// crashed trainer left.
    /// - Throws: ``StorageError`` when the directory cannot be written, or holds an older
    ///   layout (`last/` a plain directory).
    init(_ run: RunDirectory) throws {
        self.run = run
        if run.isLegacyLayout {
            throw StorageError(run.last, "is a plain directory: this run was written by an older mixer, whose runs can be read (decode, evaluate, --init-from) but not continued; start a new run with --init-from \(run.last)")
        }
        try FileIO.makeDirectories(run.checkpoints)
        for (link, target) in [(run.last, "head/last"), (run.best, "head/best")] where FileIO.readLink(link) != target {
            try FileIO.replaceSymbolicLink(link, target: target)
        }
        if let h = FileIO.readLink(run.head), h.hasPrefix("checkpoints/") {
            currentHead = String(h.dropFirst("checkpoints/".count))
            bestSnapshot = currentHead.flatMap { Self.target(of: run.checkpoints + "/" + $0 + "/best") }
        }
        for name in FileIO.list(run.checkpoints) {
            if let n = Self.number(name) { generation = max(generation, n) }
        }
        try collectGarbage()
    }

    /// The checkpoint name a generation's link points to (`../snap-N` → `snap-N`).
    private static func target(of link: String) -> String? {
        guard let t = FileIO.readLink(link), t.hasPrefix("../") else { return nil }
        return String(t.dropFirst(3))
    }

    /// The generation number in `snap-N` or `head-N`.
    private static func number(_ name: String) -> Int? {
        for prefix in ["snap-", "head-"] where name.hasPrefix(prefix) { return Int(name.dropFirst(prefix.count)) }
        return nil
    }

    /// Saves `files` as a new checkpoint and commits it as `last` (and as `best` when
    /// `isBest`), following the save protocol above.
    /// - Throws: ``StorageError`` when the file system fails; `last` and `best` are then
    ///   still the previous generation's.
    func save(_ files: [(name: String, bytes: [UInt8])], isBest: Bool) throws {
        let g = generation + 1
        let snapshot = String(format: "snap-%06d", g), head = String(format: "head-%06d", g)
        let dir = run.checkpoints
        // 1. The checkpoint.
        let temporary = dir + "/.tmp-snap"
        try FileIO.removeTree(temporary)
        try Checkpoint.writeDirectory(temporary, files)
        try FileIO.moveItem(temporary, dir + "/" + snapshot)
        FileIO.syncDirectory(dir)
        generation = g
        // 2. The generation.
        let best = isBest ? snapshot : bestSnapshot
        let headTemporary = dir + "/.tmp-head"
        try FileIO.removeTree(headTemporary)
        try FileIO.makeDirectory(headTemporary)
        try FileIO.makeSymbolicLink(headTemporary + "/last", target: "../" + snapshot)
        if let best { try FileIO.makeSymbolicLink(headTemporary + "/best", target: "../" + best) }
        FileIO.syncDirectory(headTemporary)
        try FileIO.moveItem(headTemporary, dir + "/" + head)
        FileIO.syncDirectory(dir)
        // 3. The commit point.
        try FileIO.replaceSymbolicLink(run.head, target: "checkpoints/" + head)
        FileIO.syncDirectory(run.path)
        if currentHead != head { previousHead = currentHead }
        currentHead = head
        bestSnapshot = best
        // 4. Old generations.
        try collectGarbage()
    }

    /// Removes every entry of `checkpoints/` that the current and previous generations do not
    /// reference.
    private func collectGarbage() throws {
        var keep = Set<String>()
        for h in [currentHead, previousHead].compactMap({ $0 }) {
            keep.insert(h)
            for link in ["last", "best"] {
                if let t = Self.target(of: run.checkpoints + "/" + h + "/" + link) { keep.insert(t) }
            }
        }
        for name in FileIO.list(run.checkpoints) where !keep.contains(name) {
            try FileIO.removeTree(run.checkpoints + "/" + name)
        }
    }
}
