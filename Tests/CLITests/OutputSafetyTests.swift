import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Outputs through the built `mixer-cli` (docs/robustness-io.md): no output clobbers an input,
/// regular files are replaced only when complete, non-regular outputs are written in place,
/// I/O errors are one-line errors, closed standard descriptors cannot be taken over, and
/// scoring memory follows the longest line.
final class OutputSafetyTests: XCTestCase {
    // MARK: - Helpers

    /// Runs `script` with bash in `cwd`, `$B` being the built mixer-cli.
    func bash(_ script: String, cwd: URL) throws -> CLI.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env["B"] = CLI.executable.path
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let o = Box(), e = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.wait()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o.data, as: UTF8.self),
                          stderr: String(decoding: e.data, as: UTF8.self), stdoutData: o.data)
    }

    /// The contents of `dir` (names), to check that no temporary file is left behind.
    func listing(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    /// A character device like /dev/null (`minor` 3) or /dev/full (7). As root this is a
    /// private node made in `dir` with mknod: a regression that replaced the device with a
    /// regular file (the bug this guards against) must not break the machine's own /dev/null.
    /// Without root, or where mknod is not allowed, the system's device (which a process
    /// without root cannot replace).
    func device(_ minor: UInt64, in dir: URL) -> String {
        let system = minor == 3 ? "/dev/null" : "/dev/full"
        guard geteuid() == 0 else { return system }
        let path = dir.appendingPathComponent(minor == 3 ? "null-device" : "full-device").path
        if isCharacterDevice(path) { return path }
        return mknod(path, S_IFCHR | 0o666, dev_t((1 << 8) | minor)) == 0 ? path : system
    }

    func isCharacterDevice(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    /// A run directory for `report`: a start record and two epochs.
    func writeRun(_ dir: URL) throws -> URL {
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        var lines = [#"{"event":"start","config":{"hiddenSize":32},"options":{"objective":"xent"}}"#]
        for e in 1...2 {
            lines.append(#"{"event":"epoch","epoch":\#(e),"stage":"xent","s":0,"metric":"rouge2","train_loss":\#(5.0 / Double(e)),"valid_loss":\#(5.5 / Double(e)),"valid_metric":0.1,"lr":0.001,"tokens_per_s":4000}"#)
        }
        try Hostile.write(run, "log.jsonl", lines.joined(separator: "\n") + "\n")
        return run
    }

    // MARK: - No output clobbers an input

    /// Every command refuses an output that is one of its inputs — the same path, a hard link
    /// or a symbolic link — with one line naming both, before reading anything; the input is
    /// left byte for byte as it was.
    func testNoCommandOverwritesItsInput() throws {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, references) = try TinyCheckpoint.make(in: model)
        let text = try Hostile.write(dir, "text.txt", "Hello, world!\nDon't panic.\n")
        let src = try Hostile.write(dir, "src.txt", sources.joined(separator: "\n") + "\n")
        let ref = try Hostile.write(dir, "ref.txt", references.joined(separator: "\n") + "\n")
        let run = try writeRun(dir)
        let log = run.appendingPathComponent("log.jsonl").path
        let fm = FileManager.default
        for input in [text, src, ref, log] {
            try fm.linkItem(atPath: input, toPath: input + ".hard")
            try fm.createSymbolicLink(atPath: input + ".sym", withDestinationPath: input)
        }
        let cases: [(input: String, args: (String) -> [String])] = [
            (text, { ["tokenize", "--input", text, "--output", $0] }),
            (text, { ["detokenize", "--input", text, "--output", $0] }),
            (text, { ["vocab", "--tokenize", "--output", $0, text] }),
            (src, { ["decode", "--model", model.path, "--input", src, "--output", $0] }),
            (ref, { ["evaluate", "--model", model.path, "--source", src, "--reference", ref, "--output", $0] }),
            (src, { ["evaluate", "--model", model.path, "--source", src, "--reference", ref, "--output", $0] }),
            (log, { ["report", run.path, "--output", $0] }),
        ]
        for (input, args) in cases {
            let before = try Data(contentsOf: URL(fileURLWithPath: input))
            for output in [input, input + ".hard", input + ".sym"] {
                let r = try CLI.run(args(output))
                let what = args(output).joined(separator: " ")
                Hostile.assertCleanFailure(r, mentions: [output, input, "same file"], what)
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before, what)
            }
            XCTAssertTrue(try fm.destinationOfSymbolicLink(atPath: input + ".sym") == input)
        }
        // Standard output redirected onto an input (`>>` keeps the file for the shell).
        let scored = try bash(#""$B" score text.txt --ref text.txt >> text.txt"#, cwd: dir)
        Hostile.assertCleanFailure(scored, mentions: ["<stdout>", "text.txt", "same file"], "score >> input")
        let evaluated = try bash(#""$B" evaluate --model model --source src.txt --reference ref.txt >> ref.txt"#, cwd: dir)
        Hostile.assertCleanFailure(evaluated, mentions: ["<stdout>", "ref.txt", "same file"], "evaluate >> reference")
        let tokenized = try bash(#""$B" tokenize < text.txt >> text.txt"#, cwd: dir)
        Hostile.assertCleanFailure(tokenized, mentions: ["<stdout>", "<stdin>", "same file"], "tokenize < input >> input")
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "Hello, world!\nDon't panic.\n")
        XCTAssertEqual(try String(contentsOfFile: ref, encoding: .utf8), references.joined(separator: "\n") + "\n")
    }

    /// A regular output is replaced whole: a symbolic link stays a link (its target gets the
    /// text), the old file's permission bits are kept, no temporary file is left behind.
    func testRegularOutputsAreReplacedWholeAndLinksStay() throws {
        let dir = try CLI.temporaryDirectory(self)
        let input = try Hostile.write(dir, "in.txt", "Hello, world!\n")
        let real = try Hostile.write(dir, "real.txt", "old contents, longer than the new ones\n")
        XCTAssertEqual(chmod(real, 0o640), 0)
        let link = dir.appendingPathComponent("link.txt").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.txt")
        let before = try listing(dir)
        for command in ["tokenize", "detokenize"] {
            let r = try CLI.run([command, "--input", input, "--output", link])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "real.txt", command)
            XCTAssertEqual(try listing(dir), before, "\(command) left a file behind")
            var st = stat()
            XCTAssertEqual(stat(real, &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o640, command)
        }
        XCTAssertEqual(try String(contentsOfFile: real, encoding: .utf8), "Hello, world!\n")
        let vocab = try CLI.run(["vocab", "--output", link, input])
        XCTAssertEqual(vocab.status, 0, vocab.stderr)
        XCTAssertTrue(try String(contentsOfFile: real, encoding: .utf8).hasPrefix("<pad>\t"))
        let run = try writeRun(dir)
        let report = try CLI.run(["report", run.path, "--output", link])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(try String(contentsOfFile: real, encoding: .utf8).contains("<svg"))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "real.txt")
    }

    /// Outputs that are not regular files are written in place and never replaced: /dev/null
    /// (directly and through a symbolic link) stays the character device, /dev/stdout is the
    /// standard output itself, a FIFO receives the text and stays a FIFO.
    func testNonRegularOutputsAreWrittenInPlace() throws {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, _) = try TinyCheckpoint.make(in: model)
        let input = try Hostile.write(dir, "in.txt", sources.prefix(3).joined(separator: "\n") + "\n")
        let run = try writeRun(dir)
        let null = device(3, in: dir)
        let nullLink = dir.appendingPathComponent("null").path
        try FileManager.default.createSymbolicLink(atPath: nullLink, withDestinationPath: null)
        for output in [null, nullLink] {
            for args in [["tokenize", "--input", input, "--output", output], ["detokenize", "--input", input, "--output", output],
                         ["vocab", "--output", output, input], ["decode", "--model", model.path, "--input", input, "--output", output],
                         ["report", run.path, "--output", output]] {
                let r = try CLI.run(args)
                XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
                XCTAssertTrue(isCharacterDevice(null), "\(args) replaced \(null)")
            }
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: nullLink), null)
        }
        let viaStdout = try CLI.run(["tokenize", "--input", input, "--output", "/dev/stdout"])
        XCTAssertEqual(viaStdout.status, 0, viaStdout.stderr)
        XCTAssertEqual(viaStdout.stdout, try CLI.run(["tokenize", "--input", input]).stdout)
        // A FIFO: read by the shell while mixer-cli writes it.
        let fifo = try bash(#"mkfifo p && { cat p > got.txt & "$B" tokenize --input in.txt --output p; s=$?; wait; test -p p && echo "$s fifo"; }"#, cwd: dir)
        XCTAssertEqual(fifo.stdout, "0 fifo\n", fifo.stderr)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("got.txt"), encoding: .utf8),
                       try CLI.run(["tokenize", "--input", input]).stdout)
    }

    /// `decode` killed midway, after it has written output: the path given to --output still
    /// holds what it held before, byte for byte — nothing partial at that path. After SIGINT or
    /// SIGTERM (default disposition) the temporary file is gone too, and the process still
    /// ends by that signal; after SIGKILL it may stay (hidden, beside the target).
    func testKilledDecodeLeavesTheOutputPathAsItWas() throws {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, _) = try TinyCheckpoint.make(in: model)
        // Enough lines for several chunks, and for the 1 MiB write buffer to be flushed.
        let lines = (0..<120_000).map { sources[$0 % sources.count] }
        let input = try Hostile.write(dir, "in.txt", lines.joined(separator: "\n") + "\n")
        func size(_ name: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)[.size] as? Int) ?? 0
        }
        for sig in [SIGKILL, SIGTERM, SIGINT] {
            let output = try Hostile.write(dir, "out.txt", "the previous output\n")
            for stale in try listing(dir) where stale.hasPrefix(".out.txt.tmp-") {
                try FileManager.default.removeItem(at: dir.appendingPathComponent(stale))
            }
            let p = Process()
            p.executableURL = CLI.executable
            p.arguments = ["decode", "--model", model.path, "--input", input, "--output", output]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait until decoded text has been written somewhere in the directory — the
            // temporary file beside out.txt, or out.txt itself — or the run ends.
            var written = false
            while p.isRunning && !written {
                let names = try listing(dir)
                written = size("out.txt") != "the previous output\n".utf8.count
                    || names.contains { $0.hasPrefix(".out.txt.tmp-") && size($0) > 0 }
                if !written { usleep(10_000) }
            }
            guard written, p.isRunning else { throw XCTSkip("decode finished before it could be killed") }
            kill(p.processIdentifier, sig)
            p.waitUntilExit()
            if p.terminationReason == .exit && p.terminationStatus == 0 && sig != SIGKILL { continue }  // the signal was ignored here
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "signal \(sig)")
            XCTAssertEqual(p.terminationStatus, sig)
            XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "the previous output\n", "signal \(sig)")
            if sig != SIGKILL {
                XCTAssertEqual(try listing(dir).filter { $0.hasPrefix(".out.txt.tmp-") }, [], "signal \(sig) left the temporary file")
            }
        }
    }

    /// A SIGKILL leaves `.NAME.tmp-PID-N` behind (nothing can remove it then); the next write
    /// to the same target removes those of dead processes, never one of a live process nor
    /// another target's.
    func testTheNextWriteRemovesTemporariesOfKilledWriters() throws {
        let dir = try CLI.temporaryDirectory(self)
        let input = try Hostile.write(dir, "in.txt", "Some text .\n")
        let dead = ".out.txt.tmp-2147483646-1", live = ".out.txt.tmp-\(getpid())-7", other = ".other.txt.tmp-2147483646-1"
        for name in [dead, live, other] { _ = try Hostile.write(dir, name, "partial") }
        let r = try CLI.run(["tokenize", "--input", input, "--output", dir.appendingPathComponent("out.txt").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = try listing(dir)
        XCTAssertFalse(names.contains(dead), "\(names)")
        XCTAssertTrue(names.contains(live) && names.contains(other), "\(names)")
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("out.txt"), encoding: .utf8), "Some text .\n")
    }

    /// --output that cannot be written is refused before any work, with one plain line naming
    /// it: a missing directory (the model is missing too, and is not what is reported), a
    /// directory, a read-only file; an output on a read-only file system (or a directory
    /// without write permission) gives the system's reason, never a Foundation dump.
    func testUnwritableOutputIsRefusedFirstInPlainWords() throws {
        let dir = try CLI.temporaryDirectory(self)
        let input = try Hostile.write(dir, "in.txt", "a b\n")
        let missing = dir.appendingPathComponent("no/such/dir/out.txt").path
        let decode = try CLI.run(["decode", "--model", dir.appendingPathComponent("no-model").path, "--input", input, "--output", missing])
        Hostile.assertCleanFailure(decode, mentions: ["out.txt", "does not exist"], "decode to a missing directory")
        XCTAssertFalse(decode.stderr.contains("no-model"), decode.stderr)
        Hostile.assertCleanFailure(try CLI.run(["tokenize", "--input", input, "--output", dir.path]), mentions: [dir.path, "directory"], "output is a directory")
        let readOnly = try Hostile.write(dir, "ro.txt", "keep\n")
        XCTAssertEqual(chmod(readOnly, 0o444), 0)
        // Unwritable places: a directory without write permission and a read-only file (not
        // for root, who may write both); sysfs, where nobody can create a file, root included.
        let locked = dir.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(locked.path, 0o555), 0)
        addTeardownBlock { chmod(locked.path, 0o755) }
        var unwritable = geteuid() == 0 ? [] : [locked.appendingPathComponent("out.txt").path, readOnly]
        if FileManager.default.fileExists(atPath: "/sys/kernel") { unwritable.append("/sys/mixer-out.txt") }
        let run = try writeRun(dir)
        for path in unwritable {
            for args in [["tokenize", "--input", input, "--output", path], ["vocab", "--output", path, input],
                         ["report", run.path, "--output", path]] {
                let r = try CLI.run(args)
                Hostile.assertCleanFailure(r, mentions: [path, "cannot write"], args.joined(separator: " "))
                XCTAssertFalse(r.stderr.contains("Domain"), r.stderr)
            }
        }
        XCTAssertEqual(try String(contentsOfFile: readOnly, encoding: .utf8), "keep\n")
    }

    // MARK: - I/O errors are errors

    /// An I/O error (here: reading a run's log.jsonl that is a directory, which `report` reads
    /// through `TrainingLog.read` and `FileIO`) is one line `PATH: reason`, not an
    /// `Error Domain=NSCocoaErrorDomain …` dump.
    func testFoundationErrorsAreOneLineWithThePath() throws {
        let dir = try CLI.temporaryDirectory(self)
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run.appendingPathComponent("log.jsonl"), withIntermediateDirectories: true)
        let r = try CLI.run(["report", run.path, "--output", dir.appendingPathComponent("r.html").path])
        Hostile.assertCleanFailure(r, mentions: [run.appendingPathComponent("log.jsonl").path + ": is a directory, not a file"], "report on a directory log")
        XCTAssertFalse(r.stderr.contains("Domain"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.html").path))
    }

    /// A failed write is one line `error: …` and exit status 1, for every command writing to
    /// standard output or a file: a full device (/dev/full), a closed standard output (EBADF),
    /// a broken pipe with SIGPIPE ignored (EPIPE).
    func testWriteErrorsAreOneLineErrors() throws {
        let dir = try CLI.temporaryDirectory(self)
        try Hostile.write(dir, "in.txt", "Hello, world!\nDon't panic.\n")
        let run = try writeRun(dir)
        try Hostile.write(dir, "many.txt", String(repeating: "a b c d\n", count: 200_000))
        let full = device(7, in: dir), null = device(3, in: dir)
        let commands = [#"tokenize --input in.txt"#, #"detokenize --input in.txt"#, #"vocab in.txt"#,
                        #"score in.txt --ref in.txt"#, #"score in.txt --ref in.txt --sentence-level"#,
                        #"report "\#(run.path)" --output "\#(null)""#]
        for command in commands {
            for (redirect, reason) in [("> \(full)", "No space left on device"), (">&-", "Bad file descriptor")] {
                let r = try bash(#""$B" \#(command) \#(redirect)"#, cwd: dir)
                Hostile.assertCleanFailure(r, mentions: ["<stdout>", reason], "\(command) \(redirect)")
            }
        }
        for command in [#"tokenize --input in.txt --output "\#(full)""#, #"vocab --output "\#(full)" in.txt"#,
                        #"report "\#(run.path)" --output "\#(full)""#] {
            let r = try bash(#""$B" \#(command)"#, cwd: dir)
            Hostile.assertCleanFailure(r, mentions: [full, "No space left on device"], command)
            XCTAssertTrue(isCharacterDevice(full))
        }
        // A reader that goes away: with SIGPIPE ignored the write fails with EPIPE.
        let piped = try bash(#"trap '' PIPE; "$B" score many.txt --ref many.txt --sentence-level 2> err.txt | head -c 1 > /dev/null; echo "${PIPESTATUS[0]}"; cat err.txt"#, cwd: dir)
        let lines = piped.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "1", piped.stdout)
        XCTAssertEqual(lines.dropFirst().filter { $0.hasPrefix("error: ") }, ["error: <stdout>: cannot write: Broken pipe"], piped.stdout)
    }

    /// Descriptors 0-2 closed at start cannot be taken over by a file opened later: with
    /// standard error closed, the notes that `vocab` prints do not land in its output file;
    /// with standard input closed, reading it is an error, not an empty file.
    func testClosedStandardDescriptorsAreNotReused() throws {
        let dir = try CLI.temporaryDirectory(self)
        let input = try Hostile.write(dir, "in.txt", "b a c a\n")
        let expected = try CLI.run(["vocab", input]).stdout
        XCTAssertFalse(expected.isEmpty)
        let r = try bash(#""$B" vocab --output out.txt in.txt 2>&-; echo $?"#, cwd: dir)
        XCTAssertEqual(r.stdout, "0\n", r.stderr)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("out.txt"), encoding: .utf8), expected)
        let t = try bash(#""$B" tokenize --output tok.txt 2>&- <&- ; echo $?; "$B" tokenize --output tok.txt <&-"#, cwd: dir)
        XCTAssertTrue(t.stdout.hasPrefix("1\n"), t.stdout)
        Hostile.assertCleanFailure(CLI.Result(status: 1, stdout: "", stderr: t.stderr, stdoutData: Data()),
                                   mentions: ["<stdin>", "Bad file descriptor"], "tokenize <&-")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("tok.txt").path))
    }

    // MARK: - Scoring memory

    /// Runs mixer-cli with `args` (output discarded) and returns its exit status and peak
    /// resident set in KiB.
    ///
    /// Linux keeps a process's peak across `exec`, and `posix_spawn` runs the child in the
    /// parent's memory until then, so a child spawned by this (large) test process starts
    /// with the test process's peak. GNU time forks the command from its own small process,
    /// so its figure is the command's own; without it, `wait4` on the one child (not
    /// `RUSAGE_CHILDREN`, the largest of every child this process ever waited for), a bound
    /// loosened by the test process's size, which the baseline run measures the same way.
    func peakRSS(_ args: [String]) throws -> (status: Int32, kilobytes: Int) {
        let time = "/usr/bin/time"
        if FileManager.default.isExecutableFile(atPath: time) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: time)
            p.arguments = ["-f", "%M", CLI.executable.path] + args
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            // The last line is time's figure (mixer-cli's own notes come before it).
            if let last = text.split(separator: "\n").last, let kb = Int(last.trimmingCharacters(in: .whitespaces)) {
                return (p.terminationStatus, kb)
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let path = CLI.executable.path
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, nil, &argv, environ)
        guard rc == 0 else { throw XCTSkip("posix_spawn failed: \(rc)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        return (status, usage.ru_maxrss)
    }

    /// `score` on a file of one 16 MB line stays within 8× the line (plus the resident size of
    /// a run on empty files: the runtime and the binary), for BLEU and ROUGE-1/2 separately
    /// and together. Before this bound, BLEU reserved its n-gram table for the worst case: a
    /// 27 MB line took 1.2 GB.
    func testScoringMemoryIsBoundedByTheLongestLine() throws {
        let dir = try CLI.temporaryDirectory(self)
        let unit = "The quick brown fox, 3.14 times (again). "
        let line = String(repeating: unit, count: 16_000_000 / unit.utf8.count)
        let big = try Hostile.write(dir, "big.txt", line + "\n")
        let empty = try Hostile.write(dir, "empty.txt", "")
        let baseline = try peakRSS(["score", empty, "--ref", empty])
        XCTAssertGreaterThan(baseline.kilobytes, 0)
        let limit = baseline.kilobytes + 8 * line.utf8.count / 1024
        for metrics in ["bleu", "rouge1", "rouge2", "bleu,rouge1,rouge2"] {
            for extra in [[], ["--sentence-level"]] {
                let r = try peakRSS(["score", big, "--ref", big, "--metrics", metrics] + extra)
                XCTAssertEqual(r.status, 0, metrics)
                XCTAssertLessThanOrEqual(r.kilobytes, limit, "\(metrics) \(extra): peak \(r.kilobytes) KiB, limit \(limit) KiB (baseline \(baseline.kilobytes))")
            }
        }

    }

    /// The same bound on an adversarial line: 8 MB of random lowercase words of 3-8 letters
    /// (about 1.2 million tokens, nearly all n-grams distinct), where interning and hashing
    /// cost 20-60× the line; such a segment takes the lean path (sorting, a few UInt32 per
    /// token). Before it, BLEU took 970 MB on a 16 MB line of this kind.
    func testScoringMemoryIsBoundedByTheLongestLineOfDistinctTokens() throws {
        let dir = try CLI.temporaryDirectory(self)
        var rng = LineRNG(seed: 0x5C0E)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8_000_100)
        while bytes.count < 8_000_000 {
            for _ in 0..<(3 + rng.next(below: 6)) { bytes.append(0x61 + UInt8(rng.next(below: 26))) }
            bytes.append(0x20)
        }
        let line = String(decoding: bytes.dropLast(), as: UTF8.self)
        let big = try Hostile.write(dir, "distinct.txt", line + "\n")
        let empty = try Hostile.write(dir, "empty.txt", "")
        let baseline = try peakRSS(["score", empty, "--ref", empty])
        XCTAssertGreaterThan(baseline.kilobytes, 0)
        let limit = baseline.kilobytes + 8 * line.utf8.count / 1024
        for metrics in ["bleu", "rouge1", "rouge2", "rougeL", "bleu,rouge1,rouge2"] {
            for extra in [[], ["--sentence-level"]] {
                let r = try peakRSS(["score", big, "--ref", big, "--metrics", metrics] + extra)
                XCTAssertEqual(r.status, 0, metrics)
                XCTAssertLessThanOrEqual(r.kilobytes, limit, "\(metrics) \(extra): peak \(r.kilobytes) KiB, limit \(limit) KiB (baseline \(baseline.kilobytes))")
            }
        }
    }
}

/// SplitMix64 (the CLI tests do not import Metrics' copy).
private struct LineRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(below n: Int) -> Int { Int(next() % UInt64(n)) }
}
