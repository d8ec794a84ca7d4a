import Foundation
import XCTest

/// A damaged checkpoint given to `mixer-cli train --init-from`: each damage is a one-line error
/// naming the file (and line, for vocabularies), never a trap. `config.json` and the
/// vocabularies are altered twice: with the checksum in trainer-state.json re-written, so that
/// their own parsers are exercised, and without, so that the checksum catches it.
final class HostileCheckpointTests: XCTestCase {
    var dir: URL!
    var corpus: [String] = []
    var checkpoint: URL!

    override func setUpWithError() throws {
        dir = try CLI.temporaryDirectory(self)
        corpus = try [("train.src", 40), ("train.tgt", 40), ("valid.src", 8), ("valid.tgt", 8)].map { name, n in
            try Hostile.write(dir, name, try Hostile.dataLines(name, n).joined(separator: "\n") + "\n")
        }
        let run = dir.appendingPathComponent("run")
        let r = try CLI.run(args(run))
        XCTAssertEqual(r.status, 0, r.stderr)
        // The checkpoint itself (run/best is a link into run/checkpoints/).
        checkpoint = run.appendingPathComponent("best").resolvingSymlinksInPath()
    }

    func args(_ out: URL, initFrom: URL? = nil) -> [String] {
        ["train", "--train-source", corpus[0], "--train-target", corpus[1], "--valid-source", corpus[2], "--valid-target", corpus[3],
         "--output", out.path] + HostileInputTests.tiny + (initFrom.map { ["--init-from", $0.path] } ?? [])
    }

    /// A copy of the checkpoint with `file` changed by `edit`; the checksum re-written when asked.
    func damaged(_ name: String, _ file: String, rewriteChecksum: Bool, _ edit: (inout [UInt8]) throws -> Void) throws -> URL {
        let copy = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: checkpoint, to: copy)
        let url = copy.appendingPathComponent(file)
        var bytes = [UInt8](try Data(contentsOf: url))
        try edit(&bytes)
        try Data(bytes).write(to: url)
        if rewriteChecksum {
            let stateURL = copy.appendingPathComponent("trainer-state.json")
            var state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
            var sums = try XCTUnwrap(state["checksums"] as? [String: String])
            sums[file] = Hostile.sha256(bytes)
            state["checksums"] = sums
            try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]).write(to: stateURL)
        }
        if rewriteChecksum || file == "trainer-state.json" {
            // The state's own checksum, so that what is tested is the parser behind it.
            let state = [UInt8](try Data(contentsOf: copy.appendingPathComponent("trainer-state.json")))
            try "\(Hostile.sha256(state))  trainer-state.json\n".write(to: copy.appendingPathComponent("trainer-state.sha256"),
                                                                       atomically: true, encoding: .utf8)
        }
        return copy
    }

    /// Edits config.json as JSON: `body` changes the parsed object.
    func editConfig(_ body: @escaping (inout [String: Any]) -> Void) -> (inout [UInt8]) throws -> Void {
        { bytes in
            var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            body(&root)
            bytes = [UInt8](try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .prettyPrinted]))
        }
    }

    func setModel(_ key: String, _ value: Any?) -> (inout [String: Any]) -> Void {
        { root in
            var model = root["model"] as! [String: Any]
            model[key] = value
            root["model"] = model
        }
    }

    func expectFailure(_ copy: URL, _ mentions: [String], _ what: String, line: UInt = #line) throws {
        let r = try CLI.run(args(dir.appendingPathComponent("out-\(copy.lastPathComponent)"), initFrom: copy))
        Hostile.assertCleanFailure(r, mentions: mentions, what, line: line)
    }

    func testTheUndamagedCheckpointLoads() throws {
        let r = try CLI.run(args(dir.appendingPathComponent("again"), initFrom: checkpoint))
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testDamagedConfig() throws {
        let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
            ("dimension", setModel("hiddenSize", 9), ["model.safetensors", "shape"]),
            ("huge-dimension", setModel("hiddenSize", 1 << 40), ["config.json", "at least"]),
            ("max-dimension", setModel("embeddingSize", Int.max), ["config.json"]),
            ("negative", setModel("embeddingSize", -8), ["config.json", "embeddingSize"]),
            ("string", setModel("hiddenSize", "8"), ["config.json", "model.hiddenSize"]),
            ("null", setModel("dropout", NSNull()), ["config.json", "model.dropout"]),
            // (Foundation on Linux calls a fraction where an Int belongs "not valid JSON", without a path.)
            ("float-for-int", setModel("hiddenSize", 8.5), ["config.json"]),
            ("enum", setModel("encoder", "transformer"), ["config.json", "model.encoder"]),
            ("deleted", setModel("targetVocabSize", nil), ["config.json", "model.targetVocabSize"]),
            ("vocab-size", setModel("sourceVocabSize", 5), ["source.vocab", "entries"]),
            ("deleted-top", { $0["maxSourceLength"] = nil }, ["config.json", "maxSourceLength"]),
            ("zero-length", { $0["maxTargetLength"] = 0 }, ["config.json", "maxTargetLength"]),
            ("negative-length", { $0["maxSourceLength"] = -3 }, ["config.json", "maxSourceLength"]),
            ("huge-length", { $0["maxTargetLength"] = 1_000_000_000 }, ["config.json", "maxTargetLength"]),
            ("locale", { $0["tokenizer"] = ["locale": "x/../y", "lowercase": false, "normalization": "nfkc"] }, ["config.json", "locale"]),
            ("array", { $0["model"] = [1, 2] }, ["config.json", "model"]),
        ]
        for (name, edit, mentions) in cases {
            try expectFailure(try damaged("cfg-\(name)", "config.json", rewriteChecksum: true, editConfig(edit)), mentions, "config \(name)")
        }
        // Not JSON at all.
        try expectFailure(try damaged("cfg-text", "config.json", rewriteChecksum: true) { $0 = Array("not json".utf8) },
                          ["config.json", "malformed JSON"], "config text")
        // Without re-writing the checksum, the checksum names the file.
        try expectFailure(try damaged("cfg-nosum", "config.json", rewriteChecksum: false, editConfig(setModel("hiddenSize", 9))),
                          ["config.json", "checksum mismatch"], "config checksum")
    }

    func testDamagedWeights() throws {
        let truncate: (inout [UInt8]) throws -> Void = { $0 = Array($0.prefix($0.count - 100)) }
        try expectFailure(try damaged("w-trunc-sum", "model.safetensors", rewriteChecksum: true, truncate),
                          ["model.safetensors", "truncated"], "truncated weights")
        try expectFailure(try damaged("w-trunc", "model.safetensors", rewriteChecksum: false, truncate),
                          ["model.safetensors", "checksum mismatch"], "truncated weights, checksum")
        try expectFailure(try damaged("w-header", "model.safetensors", rewriteChecksum: true) { $0 = Array($0.prefix(20)) },
                          ["model.safetensors", "header length"], "truncated header")
        try expectFailure(try damaged("w-empty", "model.safetensors", rewriteChecksum: true) { $0 = [] },
                          ["model.safetensors", "too short"], "empty weights")
        // A NaN among the weights.
        try expectFailure(try damaged("w-nan", "model.safetensors", rewriteChecksum: true) { b in
            for i in (b.count - 4)..<b.count { b[i] = [0x00, 0x00, 0xC0, 0x7F][i - (b.count - 4)] }
        }, ["model.safetensors", "non-finite"], "NaN weight")
        // Missing files.
        let copy = dir.appendingPathComponent("w-missing")
        try FileManager.default.copyItem(at: checkpoint, to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("model.safetensors"))
        try expectFailure(copy, ["model.safetensors"], "missing weights")
    }

    func testDamagedVocabulariesAndState() throws {
        func lines(_ edit: @escaping (inout [Substring]) -> Void) -> (inout [UInt8]) throws -> Void {
            { bytes in
                var l = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                edit(&l)
                bytes = Array(l.joined(separator: "\n").utf8)
            }
        }
        let cases: [(String, (inout [UInt8]) throws -> Void, [String])] = [
            ("duplicate", lines { $0[6] = $0[5] }, ["source.vocab:7", "duplicate"]),
            ("missing", lines { $0.remove(at: 6) }, ["source.vocab", "entries"]),
            ("special", lines { $0.remove(at: 1) }, ["source.vocab:2", "<unk>"]),
            ("no-tab", lines { $0[5] = "token" }, ["source.vocab:6", "token<TAB>count"]),
            ("count", lines { $0[5] = "token\t-4" }, ["source.vocab:6", "count"]),
            ("crlf", lines { l in l = l.map { $0.isEmpty ? $0 : $0 + "\r" } }, ["source.vocab"]),
            ("utf8", { $0.insert(0xFF, at: 30) }, ["source.vocab", "invalid UTF-8"]),
            ("empty", { $0 = [] }, ["source.vocab", "missing the specials"]),
        ]
        for (name, edit, mentions) in cases where name != "crlf" {
            try expectFailure(try damaged("v-\(name)", "source.vocab", rewriteChecksum: true, edit), mentions, "vocab \(name)")
        }
        // CRLF line endings in a vocabulary read as LF: the checkpoint loads.
        let crlf = try damaged("v-crlf", "source.vocab", rewriteChecksum: true, cases.first { $0.0 == "crlf" }!.1)
        let r = try CLI.run(args(dir.appendingPathComponent("out-crlf"), initFrom: crlf))
        XCTAssertEqual(r.status, 0, r.stderr)
        try expectFailure(try damaged("v-nosum", "target.vocab", rewriteChecksum: false, lines { $0[6] = $0[5] }),
                          ["target.vocab", "checksum mismatch"], "vocab checksum")
        // trainer-state.json itself.
        for (name, edit, mentions): (String, (inout [UInt8]) throws -> Void, [String]) in [
            ("garbage", { $0 = Array("{{{".utf8) }, ["trainer-state.json"]),
            ("truncated", { $0 = Array($0.prefix($0.count / 2)) }, ["trainer-state.json"]),
            ("no-checksum", { b in
                var s = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b)) as? [String: Any])
                var sums = s["checksums"] as! [String: String]
                sums["config.json"] = nil
                s["checksums"] = sums
                b = [UInt8](try JSONSerialization.data(withJSONObject: s))
            }, ["trainer-state.json", "config.json"]),
        ] {
            try expectFailure(try damaged("s-\(name)", "trainer-state.json", rewriteChecksum: false, edit), mentions, "state \(name)")
        }
    }

    /// decode and evaluate: damaged checkpoints, hostile input files, options out of range.
    func testDecodeAndEvaluate() throws {
        let good = corpus[2], ref = corpus[3]
        let base = try CLI.run(["decode", "--model", checkpoint.path, "--input", good])
        XCTAssertEqual(base.status, 0, base.stderr)
        XCTAssertEqual(base.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 9)
        // CRLF input decodes as LF input.
        let crlfText = try String(contentsOfFile: good, encoding: .utf8).replacingOccurrences(of: "\n", with: "\r\n")
        let crlf = try Hostile.write(dir, "valid-crlf.src", crlfText)
        let c = try CLI.run(["decode", "--model", checkpoint.path, "--input", crlf])
        XCTAssertEqual(c.stdout, base.stdout, c.stderr)
        // Hostile input files.
        let bad = try Hostile.write(dir, "bad.src", Array("fine\nnot ".utf8) + [0xE2, 0x82] + Array(" ok\n".utf8))
        let nul = try Hostile.write(dir, "nul.src", Array("fine\nnul ".utf8) + [0] + Array("\n".utf8))
        for (file, reason) in [(bad, "invalid UTF-8"), (nul, "NUL")] {
            let name = URL(fileURLWithPath: file).lastPathComponent + ":2"
            Hostile.assertCleanFailure(try CLI.run(["decode", "--model", checkpoint.path, "--input", file]), mentions: [name, reason], "decode \(name)")
            Hostile.assertCleanFailure(try CLI.run(["evaluate", "--model", checkpoint.path, "--source", file, "--reference", file]),
                                       mentions: [name, reason], "evaluate source \(name)")
            Hostile.assertCleanFailure(try CLI.run(["evaluate", "--model", checkpoint.path, "--source", good, "--reference", file]),
                                       mentions: [name, reason], "evaluate reference \(name)")
        }
        let two = try Hostile.write(dir, "two.txt", "a\nb\n")
        Hostile.assertCleanFailure(try CLI.run(["evaluate", "--model", checkpoint.path, "--source", good, "--reference", two]),
                                   mentions: ["two.txt", "2 lines", "8"], "evaluate lengths")
        let empty = try Hostile.write(dir, "empty.txt", "")
        let e = try CLI.run(["decode", "--model", checkpoint.path, "--input", empty])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertEqual(e.stdout, "")
        Hostile.assertCleanFailure(try CLI.run(["evaluate", "--model", checkpoint.path, "--source", empty, "--reference", empty]),
                                   mentions: ["nothing to score", "empty.txt"], "evaluate empty")
        // A 10 MB source line is truncated to the model's maximum source length.
        let big = try Hostile.write(dir, "big.src", "first\n" + String(repeating: "word and other words , ", count: 10_000_000 / 23) + "\n")
        let b = try CLI.run(["decode", "--model", checkpoint.path, "--input", big])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(b.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 3)
        // Damaged checkpoints.
        let cfg = try damaged("d-cfg", "config.json", rewriteChecksum: true, editConfig(setModel("hiddenSize", "8")))
        let trunc = try damaged("d-trunc", "model.safetensors", rewriteChecksum: false) { $0 = Array($0.prefix(50)) }
        for (copy, mentions) in [(cfg, ["config.json", "model.hiddenSize"]), (trunc, ["model.safetensors", "checksum mismatch"]),
                                 (dir.appendingPathComponent("nowhere"), ["nowhere"])] {
            Hostile.assertCleanFailure(try CLI.run(["decode", "--model", copy.path, "--input", good]), mentions: mentions, "decode \(copy.lastPathComponent)")
            Hostile.assertCleanFailure(try CLI.run(["evaluate", "--model", copy.path, "--source", good, "--reference", ref]),
                                       mentions: mentions, "evaluate \(copy.lastPathComponent)")
        }
        // Options out of range.
        for (extra, mention) in [(["--beam-size", "0"], "--beam-size"), (["--strategy", "beam", "--n-best", "9", "--beam-size", "2"], "--n-best"),
                                 (["--strategy", "sample", "--temperature", "nan"], "--temperature"), (["--strategy", "sample", "--top-p", "2"], "--top-p"),
                                 (["--strategy", "sample", "--top-k", "-1"], "--top-k"), (["--max-length", "0"], "--max-length"), (["--max-length", "1000000000"], "--max-length"),
                                 (["--min-length", "-1"], "--min-length"), (["--batch-size", "0"], "--batch-size"),
                                 (["--strategy", "viterbi"], "--strategy"), (["--strategy", "beam", "--length-penalty", "x"], "--length-penalty"),
                                 (["--no-repeat-ngram-size", "-2"], "--no-repeat-ngram-size"), (["--model", ""], "--model")] {
            Hostile.assertCleanFailure(try CLI.run(["decode", "--model", checkpoint.path, "--input", good] + extra), mentions: [mention],
                                       "decode " + extra.joined(separator: " "))
        }
        for (extra, mention) in [(["--metrics", "meteor"], "meteor"), (["--samples", "0"], "--samples"), (["--source", "-"], "--source"),
                                 (["--reference", "-"], "--reference")] {
            Hostile.assertCleanFailure(try CLI.run(["evaluate", "--model", checkpoint.path, "--source", good, "--reference", ref] + extra),
                                       mentions: [mention], "evaluate " + extra.joined(separator: " "))
        }
    }
}
