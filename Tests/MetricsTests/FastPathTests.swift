import XCTest
@testable import Metrics

/// Every fast path of the metrics against the plain code it replaces (the oracle), on seeded
/// random inputs: ASCII and non-ASCII text, punctuation runs, digits, Unicode whitespace,
/// malformed UTF-8, empty lines. Bounded by iteration counts, so every run tries the same
/// inputs; a failure names the trial and the input.
final class FastPathTests: XCTestCase {
    /// Pieces that exercise the 13a passes ('.', ',', '-' beside digits and letters), Python's
    /// whitespace, and the lowercase mappings that produce ASCII (İ → i̇, Kelvin sign → k).
    static let pieces: [String] = [
        "a", "The", "cat", "3", "42", "1.5", "1,000", "3-4", "x-y", "-", "--", ".", "..", "...", ",", ",,", ".,",
        "a.", ".a", "a,b", "9.", ".9", "9,", ",9", "-9", "9-", "e.g.", "U.S.", "&quot;", "&amp;", "&lt;", "&gt;",
        "<skipped>", "(", ")", "!", "?", "'", "\"", "/", "@", "[", "]", "{", "}", "~", "`", "$", "%", "+", "=",
        "é", "É", "İ", "\u{212A}", "ß", "Σ", "ΣΑΣ", "中文", "。", "，", "—", "…", "\u{00A0}", "\u{2009}",
        "\u{3000}", "\u{0085}", "\u{001C}", "\t", "\r", " ", "  ", "\u{000B}", "\u{000C}", "٣", "²", "😀",
    ]

    static func randomText(_ rng: inout SplitMix64) -> String {
        var s = ""
        for _ in 0..<rng.next(below: 16) {
            switch rng.next(below: 6) {
            case 0:
                if let u = Unicode.Scalar(UInt32(rng.next(below: 0x3100))), u != "\n" { s.unicodeScalars.append(u) }
            case 1:
                s.unicodeScalars.append(Unicode.Scalar(UInt8(0x20 + rng.next(below: 0x5F))))
            default:
                s += pieces[rng.next(below: pieces.count)]
            }
            if rng.next(below: 3) == 0 { s += " " }
        }
        return s
    }

    /// Random bytes, some of them not UTF-8 (for the tokenizers that accept any bytes).
    static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
        var b = Array(randomText(&rng).utf8)
        for _ in 0..<rng.next(below: 3) where !b.isEmpty {
            b.insert(UInt8(0x80 + rng.next(below: 0x80)), at: rng.next(below: b.count))
        }
        return b
    }

    func testFast13aPassesEqualTheByteByByteScans() {
        var rng = SplitMix64(seed: 0x13A)
        let fast = TokenizerWorkspace(), plain = TokenizerWorkspace()
        for trial in 0..<20_000 {
            let text = trial == 0 ? "" : Self.randomText(&rng)
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { fast.load($0, padded: true); plain.load($0, padded: true) }
            regexpPasses(fast)
            regexpPasses(plain, reference: true)
            let a = Array(UnsafeBufferPointer(start: fast.a, count: fast.aCount))
            let b = Array(UnsafeBufferPointer(start: plain.a, count: plain.aCount))
            XCTAssertEqual(a, b, "trial \(trial): \(text.debugDescription)")
            if a != b { return }
        }
    }

    func testThirteenAPreSplitEqualsTheStepByStepPipeline() {
        // The one-scan dispatch of 13a (unescaping, newline joins, passes) against sacreBLEU's
        // order of steps, each guarded by its own search, and the byte-by-byte passes.
        var rng = SplitMix64(seed: 0x13B)
        let fast = TokenizerWorkspace(), plain = TokenizerWorkspace()
        let extra = ["\n", "-\n", "<skipped>", "<skip", "&quot;", "&amp;quot;", "&lt;skipped&gt;", "&", "a-\nb"]
        for trial in 0..<20_000 {
            var text = Self.randomText(&rng)
            for _ in 0..<rng.next(below: 4) { text += extra[rng.next(below: extra.count)] + Self.randomText(&rng) }
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { p in
                BLEUTokenizer.thirteenA.preSplit(p, workspace: fast)
                plain.load(p, padded: true)
            }
            if plain.containsA(0x3C) { plain.replaceAll("<skipped>", "") }
            if plain.containsA(0x0A) { plain.replaceAll("-\n", ""); plain.replaceAll("\n", " ") }
            if plain.containsA(0x26) {
                plain.replaceAll("&quot;", "\""); plain.replaceAll("&amp;", "&")
                plain.replaceAll("&lt;", "<"); plain.replaceAll("&gt;", ">")
            }
            regexpPasses(plain, reference: true)
            let a = Array(UnsafeBufferPointer(start: fast.a, count: fast.aCount))
            let b = Array(UnsafeBufferPointer(start: plain.a, count: plain.aCount))
            XCTAssertEqual(a, b, "trial \(trial): \(text.debugDescription)")
            if a != b { return }
        }
    }

    func testPythonSplitAndStripFastPathsEqualTheReferences() {
        var rng = SplitMix64(seed: 0x5917)
        for trial in 0..<20_000 {
            let bytes = trial == 0 ? [] : Self.randomBytes(&rng)
            var fast: [Range<Int>] = [], plain: [Range<Int>] = []
            bytes.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                pythonSplit(base, p.count) { fast.append($0..<$1) }
                pythonSplitReference(base, p.count) { plain.append($0..<$1) }
            }
            XCTAssertEqual(fast, plain, "trial \(trial): \(bytes)")
            var strips: [Range<Int>] = [], plainStrips: [Range<Int>] = []
            bytes.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                for leading in [false, true] {
                    strips.append(pythonStripRange(base, p.count, leading: leading))
                    plainStrips.append(pythonStripRangeReference(base, p.count, leading: leading))
                }
            }
            XCTAssertEqual(strips, plainStrips, "trial \(trial): \(bytes)")
            if fast != plain || strips != plainStrips { return }
        }
    }

    func testROUGECompatibleTokensEqualLowerThenRegex() {
        var rng = SplitMix64(seed: 0x20C5)
        var state = ROUGETokenizerState()
        var buffer: [UInt8] = []
        for trial in 0..<20_000 {
            // Well-formed text, and (every third trial) bytes with malformed sequences.
            let bytes = trial == 0 ? [] : trial % 3 == 0 ? Self.randomBytes(&rng) : Array(Self.randomText(&rng).utf8)
            var fast: [[UInt8]] = [], plain: [[UInt8]] = []
            bytes.withUnsafeBufferPointer { p in
                state.compatibleTokens(p, buffer: &buffer) { fast.append(Array($0)) }
                state.compatibleTokensReference(p) { plain.append(Array($0)) }
            }
            XCTAssertEqual(fast, plain, "trial \(trial): \(bytes)")
            if fast != plain { return }
        }
        // Long runs take the eight-byte path, including its edges ('@' '[' '`' '{' '/' ':'
        // sit just outside the letter and digit ranges).
        for text in ["ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz",
                     "Hello@World[Zz`az{09/09:Aa\u{7F}Bb\u{80}Cc", "x1234567y\u{130}ABCDEFGH\u{212A}ZZZZZZZZZ"] {
            var fast: [[UInt8]] = [], plain: [[UInt8]] = []
            Array(text.utf8).withUnsafeBufferPointer { p in
                state.compatibleTokens(p, buffer: &buffer) { fast.append(Array($0)) }
                state.compatibleTokensReference(p) { plain.append(Array($0)) }
            }
            XCTAssertEqual(fast, plain, text.debugDescription)
        }
        // Lowercase mappings that produce ASCII letters join or split tokens like Python's.
        XCTAssertEqual(ROUGE().tokenize("xİy \u{212A}elvin"), ["xi", "y", "kelvin"])
    }

    func testByteInternerAgreesWithADictionary() {
        var rng = SplitMix64(seed: 0x1D5)
        let interner = ByteInterner()
        for round in 0..<30 {
            var oracle: [[UInt8]: UInt32] = [:]
            // Short and long tokens sharing prefixes, zero bytes, lengths 0…300.
            let pool: [[UInt8]] = (0..<(50 + rng.next(below: 3000))).map { _ in
                let len = rng.next(below: 4) == 0 ? rng.next(below: 300) : rng.next(below: 12)
                return (0..<len).map { _ in UInt8(rng.next(below: 4) == 0 ? rng.next(below: 3) : 0x61 + rng.next(below: 3)) }
            }
            for (k, tok) in pool.enumerated() {
                // Half the calls hash with a masked load past the token (garbage bytes after it).
                let padded = tok + (0..<8).map { _ in UInt8(rng.next(below: 256)) }
                let id = k % 2 == 0 ? tok.withUnsafeBufferPointer { interner.intern($0) }
                    : padded.withUnsafeBufferPointer { interner.intern(UnsafeBufferPointer(rebasing: $0[0..<tok.count]), readableTail: true) }
                let expected = oracle[tok] ?? UInt32(oracle.count)
                oracle[tok] = expected
                XCTAssertEqual(id, expected, "round \(round): \(tok)")
                XCTAssertEqual(Array(interner.bytes(id)), tok, "round \(round)")
                let again = padded.withUnsafeBufferPointer { interner.find(UnsafeBufferPointer(rebasing: $0[0..<tok.count]), readableTail: k % 2 == 0) }
                XCTAssertEqual(again, expected, "round \(round): \(tok)")
            }
            XCTAssertEqual(interner.count, oracle.count)
            for _ in 0..<200 {
                let len = rng.next(below: 12)
                let probe = (0..<len).map { _ in UInt8(0x61 + rng.next(below: 3)) }
                let found = probe.withUnsafeBufferPointer { interner.find($0) }
                XCTAssertEqual(found, oracle[probe] ?? .max, "round \(round): \(probe)")
            }
            interner.reset()
            XCTAssertEqual(interner.count, 0)
        }
    }

    func testNGramIndexCountsClippedMatchesLikeANaiveCounter() {
        var rng = SplitMix64(seed: 0x96A)
        let hashed = NGramIndex(maxOrder: 4), dense = NGramIndex(maxOrder: 4)
        dense.denseUnigrams = true
        func counts(_ s: [UInt32], _ n: Int) -> [[UInt32]: Int] {
            var c: [[UInt32]: Int] = [:]
            if s.count >= n { for i in 0...(s.count - n) { c[Array(s[i..<(i + n)]), default: 0] += 1 } }
            return c
        }
        for trial in 0..<2_000 {
            let vocab = 1 + rng.next(below: 8)
            let seq = { (len: Int) in (0..<len).map { _ in UInt32(rng.next(below: vocab)) } }
            let refs = (0..<(1 + rng.next(below: 3))).map { _ in seq(rng.next(below: 120)) }
            let hyp = seq(rng.next(below: 120))
            // Hypothesis tokens outside the references' ids, as the scorers pass them.
            let probe = hyp + (trial % 2 == 0 ? [UInt32.max, UInt32(vocab + 3)] : [])
            for index in [hashed, dense] {
                index.reset()                   // the index is reused, as the scorers reuse it
                for r in refs { index.addReference(r) }
                let m = probe.withUnsafeBufferPointer { index.matches($0) }
                for n in 1...4 {
                    var maxRef: [[UInt32]: Int] = [:]
                    for r in refs { for (g, c) in counts(r, n) { maxRef[g] = max(maxRef[g] ?? 0, c) } }
                    let expected = counts(probe, n).reduce(0) { $0 + min($1.value, maxRef[$1.key] ?? 0) }
                    XCTAssertEqual(Int(m[n - 1]), expected, "trial \(trial) order \(n) dense \(index.denseUnigrams)")
                }
                for t in Set(refs.joined()) { XCTAssertNotNil(index.unigramID(t), "trial \(trial)") }
                XCTAssertNil(index.unigramID(UInt32(vocab + 3)), "trial \(trial)")
            }
        }
    }

    /// References with more distinct n-grams than `addReference` makes room for up front, so
    /// the table and the id arrays grow inside its loop (the path that replaced reserving for
    /// the worst case); several references, so the running counts and their maxima cross the
    /// growth too.
    func testNGramIndexGrowingMidReferenceCountsLikeANaiveCounter() {
        var rng = SplitMix64(seed: 0x6A0)
        func counts(_ s: [UInt32], _ n: Int) -> [[UInt32]: Int] {
            var c: [[UInt32]: Int] = [:]
            if s.count >= n { for i in 0...(s.count - n) { c[Array(s[i..<(i + n)]), default: 0] += 1 } }
            return c
        }
        for trial in 0..<3 {
            let vocab = 2_000 + rng.next(below: 4_000)
            let seq = { (len: Int) in (0..<len).map { _ in UInt32(rng.next(below: vocab)) } }
            let refs = (0..<(1 + trial)).map { _ in seq(25_000 + rng.next(below: 10_000)) }
            let hyp = Array(refs[0].prefix(12_000)) + seq(15_000)
            for dense in [false, true] {
                let index = NGramIndex(maxOrder: 4)
                index.denseUnigrams = dense
                for r in refs { index.addReference(r) }
                XCTAssertGreaterThan(index.distinctNGrams, 1 << 16, "trial \(trial): the test must cross the up-front room")
                let m = hyp.withUnsafeBufferPointer { index.matches($0) }
                for n in 1...4 {
                    var maxRef: [[UInt32]: Int] = [:]
                    for r in refs { for (g, c) in counts(r, n) { maxRef[g] = max(maxRef[g] ?? 0, c) } }
                    let expected = counts(hyp, n).reduce(0) { $0 + min($1.value, maxRef[$1.key] ?? 0) }
                    XCTAssertEqual(Int(m[n - 1]), expected, "trial \(trial) order \(n) dense \(dense)")
                }
            }
        }
    }

    func testDirectLCSMatchesTheTable() {
        var rng = SplitMix64(seed: 0x1C5)
        let lcs = DirectLCS()
        for trial in 0..<2_000 {
            let alphabet = 1 + rng.next(below: 40)
            let ref = (0..<rng.next(below: 65)).map { _ in UInt32(rng.next(below: alphabet)) }
            let hyp = (0..<rng.next(below: 90)).map { _ in UInt32(rng.next(below: alphabet)) }
            let fast = ref.withUnsafeBufferPointer { r in hyp.withUnsafeBufferPointer { lcs.lcs(r, $0, idBound: alphabet) } }
            XCTAssertEqual(fast, Int(lcsTable(ref, hyp)[ref.count][hyp.count]), "trial \(trial)")
        }
    }

    func testBLEUScoreArraysMirrorTheVectors() {
        let s = BLEU().sentenceScore(hypothesis: "the cat sat on the mat", references: ["the cat sat on a mat"])
        XCTAssertEqual(s.counts, [5, 3, 2, 1])
        XCTAssertEqual(s.totals, [6, 5, 4, 3])
        XCTAssertEqual(s.precisions.count, 4)
        var t = s
        t.counts = [1, 2, 3, 4]
        XCTAssertEqual(t.countsVector, SIMD4(1, 2, 3, 4))
    }
}
