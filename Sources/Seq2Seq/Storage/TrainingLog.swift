import Foundation
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// An append-only JSON-lines log (`DIR/log.jsonl`): one JSON object per report, keys sorted,
/// each line written with a single `write(2)` as soon as it is appended (nothing is buffered
/// in the process, so a kill loses at most the line being written).
///
/// Opening a log whose last line was cut off (a killed run) removes that partial line, so the
/// file only ever holds whole records; ``read(_:)`` skips such a torn line when it is the last.
public final class TrainingLog {
    /// The log's path.
    public let path: String
    private let fd: Int32

    /// Opens `path` for appending, creating it (and its directory) when missing. Only the
    /// run's owner (the trainer holding ``RunLock``) opens a log this way; readers use
    /// ``read(_:)``.
    /// - Throws: ``StorageError`` when the file cannot be opened.
    public init(path: String) throws {
        self.path = path
        try FileIO.makeDirectories(FileIO.parentDirectory(path))
        FileIO.willMutate()
        let d = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if d < 0 { throw StorageError(path, "cannot open the training log: \(FileIO.errnoText())") }
        fd = d
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw StorageError(path, "is not a regular file")
        }
        if st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, st.st_size - 1) == 1 && last != 0x0A {
                // A torn final line from a killed run: cut it off.
                let bytes = try FileIO.readAll(path)
                let keep = (bytes.lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0
                try truncate(to: keep)
            }
        }
    }

    deinit { close(fd) }

    /// Appends `record` as one line (``RunRecord/line``). - Complexity: O(size of the record).
    /// - Throws: ``StorageError`` when the write fails (disk full, ...).
    public func append(_ record: RunRecord) throws {
        try appendLine(record.line)
    }

    /// Appends one already serialized record (a line without its newline).
    func appendLine(_ line: String) throws {
        do { try FileIO.writeAll(fd, Array((line + "\n").utf8), path: path) } catch let e as StorageError {
            throw StorageError(path, "cannot write the training log: \(e.reason)")
        }
    }

    /// The log's length in bytes.
    var size: Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Flushes the log to disk (before a checkpoint that records its length).
    func sync() throws { try FileIO.sync(fd, path: path) }

    /// Cuts the log back to its first `length` bytes.
    func truncate(to length: Int) throws {
        FileIO.willMutate()
        if ftruncate(fd, off_t(length)) != 0 {
            throw StorageError(path, "cannot truncate the training log: \(FileIO.errnoText())")
        }
    }

    /// Every record of the log at `path`, as this build writes them (``runLogFormat``); a torn
    /// last line (from a kill) is skipped, and records of unknown kinds read as
    /// ``RunRecord/other(event:)``.
    ///
    /// Records written in format 1 (mixer 0.2.0: a `start` or `resume` record without
    /// `log_format`, and the records after it) are brought to format 2: step records' epochs
    /// (counted from 0 there) get 1 added; epoch records' `tokens_per_s` reads as
    /// `tokensPerSecond`.
    /// - Throws: ``StorageError`` naming the file and line of a malformed record.
    /// - Complexity: O(size of the log).
    public static func read(_ path: String) throws -> [RunRecord] {
        let bytes = try FileIO.readAll(path)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        var out: [RunRecord] = []
        var format = runLogFormat
        let decoder = RunRecord.lineDecoder()
        for (i, line) in lines.enumerated() where !line.isEmpty {
            let isLast = i == lines.count - 1
            guard case .object? = try? JSONValue.parse(Array(line)) else {
                if isLast { break }  // torn final line
                throw StorageError("\(path):\(i + 1)", "not a JSON object")
            }
            var record: RunRecord
            do { record = try decoder.decode(RunRecord.self, from: Data(line)) } catch {
                throw StorageError("\(path):\(i + 1)", "not a valid \"\(Self.eventName(Array(line)))\" record: \(Self.describe(error))")
            }
            switch record {
            case .start(let r): format = r.logFormat ?? 1
            case .resume(let r): format = r.logFormat ?? 1
            case .step(var r) where format < 2:
                r.epoch += 1
                record = .step(r)
            default: break
            }
            out.append(record)
        }
        return out
    }

    /// The `event` of a line that failed to decode, for the error message.
    static func eventName(_ line: [UInt8]) -> String {
        if case .object(let o)? = try? JSONValue.parse(line), case .string(let e)? = o["event"] { return e }
        return "?"
    }

    /// A decoding error in a sentence: which key, what was wrong.
    static func describe(_ error: Error) -> String {
        func path(_ p: [CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        switch error as? DecodingError {
        case .keyNotFound(let k, _)?: return "\"\(k.stringValue)\" is missing"
        case .typeMismatch(let t, let c)?: return "\"\(path(c.codingPath))\" is not a \(t)"
        case .valueNotFound(let t, let c)?: return "\"\(path(c.codingPath))\" is null, not a \(t)"
        case .dataCorrupted(let c)?: return "\"\(path(c.codingPath))\": \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}

/// One progress report of a training run.
public struct ProgressReport: Equatable, Sendable {
    /// The epoch under way, from 1.
    public var epoch: Int
    public var epochs: Int
    /// Batches done in this epoch.
    public var step: Int
    /// Batches in this epoch.
    public var steps: Int
    public var globalStep: Int
    /// Target tokens per second of training steps alone (validation and saving excluded).
    public var targetTokensPerSecond: Double
    public var loss: Double
    public var learningRate: Double
    /// Seconds since training (re)started.
    public var elapsed: Double
    /// Estimated seconds left in the run, if known (validation included once one has been
    /// timed; see `etaIsLowerBound`).
    public var eta: Double?
    /// "xent", or a MIXER stage name.
    public var stage: String
    /// Estimated seconds left in this epoch, its validation included once timed.
    public var epochETA: Double? = nil
    /// True while no validation has been timed: the ETAs leave it out, and say so (`≥`).
    public var etaIsLowerBound = false
    /// The mean sequence reward of this epoch's REINFORCE steps, when there are some and no
    /// XENT loss to show (pure REINFORCE).
    public var reward: Double? = nil

    public init(epoch: Int, epochs: Int, step: Int, steps: Int, globalStep: Int, targetTokensPerSecond: Double,
                loss: Double, learningRate: Double, elapsed: Double, eta: Double? = nil, stage: String = "xent") {
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.steps = steps
        self.globalStep = globalStep
        self.targetTokensPerSecond = targetTokensPerSecond
        self.loss = loss
        self.learningRate = learningRate
        self.elapsed = elapsed
        self.eta = eta
        self.stage = stage
    }

    /// The human-readable line, e.g.
    /// `epoch 2/10  step 150/400  1234 tok/s  loss 3.2100  lr 0.001  elapsed 5m10s  ETA epoch 1m05s, run 1h05m`
    /// (`reward 0.1234` instead of the loss in pure REINFORCE epochs; `≥` before the ETAs while
    /// no validation has been timed).
    public var line: String {
        var s = "epoch \(epoch)/\(epochs)  step \(step)/\(steps)  "
        s += "\(Int(targetTokensPerSecond.isFinite ? targetTokensPerSecond.rounded() : 0)) tok/s  "
        if let reward { s += "reward \(String(format: "%.4f", reward))" }
        else { s += "loss \(String(format: "%.4f", loss))" }
        s += "  lr \(String(format: "%.4g", learningRate))"
        if stage != "xent" { s += "  \(stage)" }
        s += "  elapsed \(Self.duration(elapsed))"
        let bound = etaIsLowerBound ? "≥" : ""
        switch (epochETA, eta) {
        case let (e?, r?): s += "  ETA epoch \(bound)\(Self.duration(e)), run \(bound)\(Self.duration(r))"
        case let (nil, r?): s += "  ETA run \(bound)\(Self.duration(r))"
        case let (e?, nil): s += "  ETA epoch \(bound)\(Self.duration(e))"
        case (nil, nil): break
        }
        return s
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + (s % 3600 / 60 < 10 ? "0" : "") + "\(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m" + (s % 60 < 10 ? "0" : "") + "\(s % 60)s" }
        return "\(s)s"
    }
}

/// Prints progress to standard error: on a terminal the line is rewritten in place (`\r`,
/// cleared to the end), otherwise each report is a plain line (logs and pipes stay readable).
public final class ProgressPrinter {
    /// Whether lines are rewritten in place.
    public let inPlace: Bool
    private let output: (String) -> Void
    private var open = false

    /// A printer for standard error, in place when it is a terminal (`isatty(2)`).
    public convenience init() {
        self.init(inPlace: isatty(2) != 0) { text in
            var bytes = Array(text.utf8)
            _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
        }
    }

    /// A printer writing through `output` (tests).
    public init(inPlace: Bool, output: @escaping (String) -> Void) {
        self.inPlace = inPlace
        self.output = output
    }

    /// Shows `report`.
    public func show(_ report: ProgressReport) {
        if inPlace {
            output("\r" + report.line + "\u{1B}[K")
            open = true
        } else {
            output(report.line + "\n")
        }
    }

    /// Prints a message on its own line (ending an in-place line first).
    public func message(_ text: String) {
        finishLine()
        output(text + "\n")
    }

    /// Ends the in-place line, if one is open.
    public func finishLine() {
        if open { output("\n"); open = false }
    }
}
