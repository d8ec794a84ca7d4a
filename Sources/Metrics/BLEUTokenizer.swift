#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

// sacreBLEU 2.6.0's tokenizers (13a, intl, zh, char, none), reimplemented on UTF-8 bytes.
//
// Each regular expression of sacreBLEU matches two characters and replaces them; Python's
// `re.sub` scans left to right without overlap. A pass here does the same scan. On bytes this
// is exact for 13a and zh because every character their patterns name is ASCII: a multi-byte
// character can only ever be the "[^0-9]" half of a match, and its bytes are never '.', ',',
// '-' or a digit.

/// A tokenizer of sacreBLEU 2.6.0, chosen by its signature name.
///
/// - `13a`: mteval-v13a (WMT's default): unescapes `&quot; &amp; &lt; &gt;`, drops
///   `<skipped>`, splits ASCII punctuation, periods and commas unless beside a digit, and a
///   dash after a digit.
/// - `intl`: mteval-v14 international: splits Unicode punctuation (`\p{P}`) unless between
///   digits, and every symbol (`\p{S}`).
/// - `zh`: each character of sacreBLEU's "Chinese" ranges becomes a token (these ranges include
///   U+2001–U+2A6D and U+2F81–U+2FA1 through a Python escape bug, sacreBLEU #298: curly quotes,
///   ellipsis, dashes, ‰, the Kelvin sign…), then 13a's regular expressions.
/// - `char`: every Unicode scalar (not grapheme) is a token.
/// - `none`: whitespace splitting only.
public enum BLEUTokenizer: String, CaseIterable, Sendable, Codable {
    case thirteenA = "13a"
    case intl
    case zh
    case char
    case none

    /// The name sacreBLEU's signature uses (`tok:13a`).
    public var signatureName: String { rawValue }

    /// sacreBLEU's `tokenizer(line)`: the tokenized line, tokens joined by single spaces
    /// (for `char`, every scalar joined by a space, whitespace included; for `none`, the line).
    /// - Complexity: O(n) in the line's length.
    public func tokenize(_ line: String) -> String {
        var line = line
        var out: [UInt8] = []
        let ws = TokenizerWorkspace()
        line.withUTF8 { tokenizeBytes($0, into: &out, workspace: ws) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Tokenizes `bytes` (well-formed UTF-8) into `out` (replacing its contents): the exact
    /// string sacreBLEU's tokenizer returns.
    func tokenizeBytes(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8],
                       workspace ws: TokenizerWorkspace) {
        out.removeAll(keepingCapacity: true)
        switch self {
        case .none:
            out.append(contentsOf: bytes)
        case .char:
            var first = true
            for s in String(decoding: bytes, as: UTF8.self).unicodeScalars {
                if !first { out.append(0x20) }
                first = false
                appendScalar(s.value, to: &out)
            }
        case .intl:
            intlTokenize(bytes, into: &out)
        case .thirteenA, .zh:
            preSplit(bytes, workspace: ws)
            joinSplit(UnsafeBufferPointer(start: ws.a, count: ws.aCount), into: &out)
        }
    }

    /// Tokenizes into `ws.a[0..<ws.aCount]`: bytes whose Python `split()` gives the tokens
    /// (for 13a and zh without the final join, for the others the joined string).
    func preSplit(_ bytes: UnsafeBufferPointer<UInt8>, workspace ws: TokenizerWorkspace) {
        switch self {
        case .thirteenA:
            ws.load(bytes, padded: true)
            // One scan says which replacements and passes can apply (class13a's bits).
            var seen = scanClasses13a(ws)
            if seen & 56 != 0 {
                if seen & 8 != 0 { ws.replaceAll("<skipped>", "") }
                if seen & 32 != 0 { ws.replaceAll("-\n", ""); ws.replaceAll("\n", " ") }
                if seen & 16 != 0 {
                    ws.replaceAll("&quot;", "\""); ws.replaceAll("&amp;", "&")
                    ws.replaceAll("&lt;", "<"); ws.replaceAll("&gt;", ">")
                }
                seen = scanClasses13a(ws)
            }
            regexpPasses(ws, seen: seen)
        case .zh:
            ws.aCount = 0
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            let body = UnsafeBufferPointer(rebasing: bytes[pythonStripRange(base, bytes.count, leading: true)])
            var hasNonASCII = false
            for b in body where b >= 0x80 { hasNonASCII = true; break }
            if hasNonASCII {
                var tmp: [UInt8] = []
                for s in String(decoding: body, as: UTF8.self).unicodeScalars {
                    if isSacreBLEUChinese(s.value) {
                        tmp.append(0x20); appendScalar(s.value, to: &tmp); tmp.append(0x20)
                    } else {
                        appendScalar(s.value, to: &tmp)
                    }
                }
                tmp.withUnsafeBufferPointer { ws.load($0, padded: false) }
            } else {
                ws.load(body, padded: false)
            }
            regexpPasses(ws)
        case .none, .char, .intl:
            var out: [UInt8] = []
            tokenizeBytes(bytes, into: &out, workspace: ws)
            out.withUnsafeBufferPointer { ws.load($0, padded: false) }
        }
    }
}

/// Reusable raw buffers for the tokenizers (one per thread): `a` holds the text, `b` is the
/// destination of the next pass.
final class TokenizerWorkspace {
    var a: UnsafeMutablePointer<UInt8>
    var b: UnsafeMutablePointer<UInt8>
    var aCount = 0
    private var capacity: Int

    init() {
        capacity = 1024
        a = .allocate(capacity: capacity)
        b = .allocate(capacity: capacity)
    }
    deinit { a.deallocate(); b.deallocate() }

    /// Makes both buffers hold at least `n` bytes (keeping `a`'s contents), growing by at least
    /// an eighth: a pass that needs more rewrites all `aCount` bytes anyway, so the copy costs
    /// O(1) per byte, and one huge line gets buffers about its size (doubling gave 2×).
    @inline(__always) func reserve(_ n: Int) {
        guard n > capacity else { return }
        let c = max(n, capacity + capacity / 8)
        let na = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        na.update(from: a, count: aCount)
        a.deallocate(); a = na
        b.deallocate(); b = .allocate(capacity: c)
        capacity = c
    }

    /// Back to small buffers when a huge line (over 1 MiB) grew them; forgets `a`'s contents.
    /// Returns whether it released them.
    @discardableResult
    func releaseIfLarge() -> Bool {
        guard capacity > 1 << 20 else { return false }
        a.deallocate(); b.deallocate()
        capacity = 1024
        a = .allocate(capacity: capacity)
        b = .allocate(capacity: capacity)
        aCount = 0
        return true
    }

    /// Gives the pages of `b` back to the system (its contents are scratch: the next pass
    /// overwrites them; a page read before that reads zeros), keeping both allocations: the
    /// lean path of BLEU reads the tokens in `a` while it counts a huge line, and `b` need not
    /// stay resident meanwhile. Only buffers over 1 MiB; whole pages inside `b` only.
    func dropSpareIfLarge() {
        guard capacity > 1 << 20 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: b) + page - 1) / page * page
        let end = (Int(bitPattern: b) + capacity) / page * page
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, Int32(MADV_DONTNEED))
    }

    func load(_ bytes: UnsafeBufferPointer<UInt8>, padded: Bool) {
        reserve(bytes.count + 2)
        var j = 0
        if padded { a[0] = 0x20; j = 1 }
        if let base = bytes.baseAddress { (a + j).update(from: base, count: bytes.count) }
        j += bytes.count
        if padded { a[j] = 0x20; j += 1 }
        aCount = j
    }

    /// How many bytes of `a` satisfy `isIn`: a pass that turns each of them into k bytes needs
    /// `aCount + (k - 1) * count` (so memory follows the text, not the worst case k · aCount).
    @inline(__always) func countA(_ isIn: (UInt8) -> Bool) -> Int {
        var c = 0
        for i in 0..<aCount where isIn(a[i]) { c += 1 }
        return c
    }

    func containsA(_ byte: UInt8) -> Bool { aCount > 0 && memchr(a, Int32(byte), aCount) != nil }

    @inline(__always) func swapBuffers(_ newCount: Int) {
        let t = a; a = b; b = t
        aCount = newCount
    }

    /// Python's `str.replace(old, new)` on `a`.
    func replaceAll(_ old: StaticString, _ new: StaticString) {
        let o = UnsafeBufferPointer(start: old.utf8Start, count: old.utf8CodeUnitCount)
        let nw = UnsafeBufferPointer(start: new.utf8Start, count: new.utf8CodeUnitCount)
        reserve(aCount + max(0, nw.count - o.count) * countA { $0 == o[0] } + 8)
        var i = 0, j = 0
        let n = aCount
        while i < n {
            if a[i] == o[0] && i + o.count <= n && memcmp(a + i, o.baseAddress!, o.count) == 0 {
                for c in nw { b[j] = c; j += 1 }
                i += o.count
            } else {
                b[j] = a[i]; j += 1; i += 1
            }
        }
        swapBuffers(j)
    }
}

@inline(__always)
func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 { out.append(UInt8(v)) }
    else if v < 0x800 { out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F))) }
    else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

/// The class of sacreBLEU's first 13a expression `[\{-\~\[-\` -\&\(-\+\:-\@\/]`, space excluded
/// (a space around a space changes nothing after the split).
private let punct13a: [Bool] = (0..<256).map { b in
    (b >= 0x7B && b <= 0x7E) || (b >= 0x5B && b <= 0x60) || (b >= 0x21 && b <= 0x26)
        || (b >= 0x28 && b <= 0x2B) || (b >= 0x3A && b <= 0x40) || b == 0x2F
}
/// Per byte: 1 = '.' or ',', 2 = '-', 4 = in `punct13a`, and for the replacements before the
/// passes 8 = '<', 16 = '&', 32 = '\n'.
private let class13a: [UInt8] = (0..<256).map { b in
    var c: UInt8 = b == 0x2E || b == 0x2C ? 1 : b == 0x2D ? 2 : punct13a[b] ? 4 : 0
    if b == 0x3C { c |= 8 }
    if b == 0x26 { c |= 16 }
    if b == 0x0A { c |= 32 }
    return c
}

/// The OR of `class13a` over `ws.a`: one table lookup and OR per byte, no branch.
func scanClasses13a(_ ws: TokenizerWorkspace) -> UInt8 {
    var seen: UInt8 = 0
    let s = ws.a, n = ws.aCount
    class13a.withUnsafeBufferPointer { cls in
        for i in 0..<n { seen |= cls[Int(s[i])] }
    }
    return seen
}
@inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

/// The first index in `p[from..<n]` holding '.' or ',' (n when none), eight bytes at a time:
/// `x | 0x02` maps exactly '.' and ',' to 0x2E, and the lowest byte flagged by the zero-byte
/// test `(y − 0x01…) & ~y & 0x80…` of `y = (x | 0x02…) ^ 0x2E…` is the first zero byte of y.
@inline(__always)
private func nextDotComma(_ p: UnsafePointer<UInt8>, from: Int, _ n: Int) -> Int {
    var i = from
    let raw = UnsafeRawPointer(p)
    while i + 8 <= n {
        let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let y = (x | 0x0202_0202_0202_0202) ^ 0x2E2E_2E2E_2E2E_2E2E
        let z = (y &- 0x0101_0101_0101_0101) & ~y & 0x8080_8080_8080_8080
        if z != 0 { return i + z.trailingZeroBitCount / 8 }
        i += 8
    }
    while i < n && !isDotComma(p[i]) { i += 1 }
    return i
}
@inline(__always) private func isDotComma(_ b: UInt8) -> Bool { b == 0x2E || b == 0x2C }

/// sacreBLEU's `TokenizerRegexp` passes (before its final split/join) on `ws.a`.
///
/// Passes 2–4 can only match next to a '.', ',' or '-', so the fast passes jump from one such
/// byte to the next and copy the bytes between in bulk; `reference: true` runs the plain
/// byte-by-byte scans instead (the test oracle: both give byte-identical output).
/// - Complexity: O(n) per pass.
func regexpPasses(_ ws: TokenizerWorkspace, reference: Bool = false, seen known: UInt8? = nil) {
    let n0 = ws.aCount
    let seen = known ?? scanClasses13a(ws)
    let hasDot = seen & 1 != 0, hasDash = seen & 2 != 0, hasPunct = seen & 4 != 0
    punct13a.withUnsafeBufferPointer { table in
        // 1: ([\{-\~\[-\` -\&\(-\+\:-\@\/]) → " \1 "
        if hasPunct {
            ws.reserve(n0 + 2 * ws.countA { table[Int($0)] } + 8)
            let s = ws.a, d = ws.b
            var j = 0
            for i in 0..<n0 {
                let c = s[i]
                if table[Int(c)] { d[j] = 0x20; d[j + 1] = c; d[j + 2] = 0x20; j += 3 } else { d[j] = c; j += 1 }
            }
            ws.swapBuffers(j)
        }
    }
    if reference {
        if hasDot {
            twoCharPass(ws, { a, b in !isDigit(a) && isDotComma(b) }, prefixSpace: false)
            twoCharPass(ws, { a, b in isDotComma(a) && !isDigit(b) }, prefixSpace: true)
        }
        if hasDash { twoCharPass(ws, { a, b in isDigit(a) && b == 0x2D }, prefixSpace: false) }
        return
    }
    if hasDot {
        // 2: ([^0-9])([\.,]) → "\1 \2 "
        splitBeforeMarks(ws, isDotComma, unlessDigit: true)
        // 3: ([\.,])([^0-9]) → " \1 \2"
        splitAfterDotComma(ws)
    }
    if hasDash {
        // 4: ([0-9])(-) → "\1 \2 "
        splitBeforeMarks(ws, { $0 == 0x2D }, unlessDigit: false)
    }
}

/// Pass 2 (`unlessDigit`: `([^0-9])([\.,])`) or pass 4 (`([0-9])(-)`), replacement "\1 \2 ":
/// a match starts one byte before a mark, so the scan jumps to the byte before the next mark,
/// copying what lies between (those positions cannot start a match).
@inline(__always)
private func splitBeforeMarks(_ ws: TokenizerWorkspace, _ isMark: (UInt8) -> Bool, unlessDigit: Bool) {
    let dotComma = unlessDigit                    // pass 2's marks are '.' and ','; pass 4's '-'

    let n = ws.aCount
    ws.reserve(n + 2 * (dotComma ? ws.countA(isDotComma) : ws.countA(isMark)) + 8)   // 2 bytes more per match
    let s = ws.a, d = ws.b
    var i = 0, j = 0
    while i + 1 < n {
        var p = i + 1
        if dotComma { p = nextDotComma(s, from: p, n) } else { while p < n && !isMark(s[p]) { p += 1 } }
        if p == n { break }
        let q = p - 1                             // the only start that can match before p
        if q > i { (d + j).update(from: s + i, count: q - i); j += q - i }
        let x = s[q]
        if isDigit(x) != unlessDigit {
            d[j] = x; d[j + 1] = 0x20; d[j + 2] = s[p]; d[j + 3] = 0x20
            j += 4; i = p + 1
        } else {
            d[j] = x; j += 1; i = p
        }
    }
    if i < n { (d + j).update(from: s + i, count: n - i); j += n - i }
    ws.swapBuffers(j)
}

/// Pass 3, `([\.,])([^0-9])` → " \1 \2": a match starts at a '.' or ','.
@inline(__always)
private func splitAfterDotComma(_ ws: TokenizerWorkspace) {
    let n = ws.aCount
    ws.reserve(n + 2 * ws.countA(isDotComma) + 8)   // 2 bytes more per match
    let s = ws.a, d = ws.b
    var i = 0, j = 0
    while i + 1 < n {
        let p = nextDotComma(s, from: i, n)
        if p + 1 >= n { break }                   // no mark, or one at the very end: no match
        if p > i { (d + j).update(from: s + i, count: p - i); j += p - i }
        let y = s[p + 1]
        if !isDigit(y) {
            d[j] = 0x20; d[j + 1] = s[p]; d[j + 2] = 0x20; d[j + 3] = y
            j += 4; i = p + 2
        } else {
            d[j] = s[p]; j += 1; i = p + 1
        }
    }
    if i < n { (d + j).update(from: s + i, count: n - i); j += n - i }
    ws.swapBuffers(j)
}

/// One left-to-right, non-overlapping pass of a two-character pattern, byte by byte (the
/// oracle of the fast passes). The replacement is "\1 \2 " (`prefixSpace == false`) or
/// " \1 \2" (`prefixSpace == true`).
@inline(__always)
private func twoCharPass(_ ws: TokenizerWorkspace, _ match: (UInt8, UInt8) -> Bool, prefixSpace: Bool) {
    let n = ws.aCount
    ws.reserve(2 * n + 8)
    let s = ws.a, d = ws.b
    var i = 0, j = 0
    while i + 1 < n {
        let x = s[i], y = s[i + 1]
        if match(x, y) {
            if prefixSpace { d[j] = 0x20; d[j + 1] = x; d[j + 2] = 0x20; d[j + 3] = y }
            else { d[j] = x; d[j + 1] = 0x20; d[j + 2] = y; d[j + 3] = 0x20 }
            j += 4; i += 2
        } else { d[j] = x; j += 1; i += 1 }
    }
    if i < n { d[j] = s[i]; j += 1 }
    ws.swapBuffers(j)
}

/// `' '.join(line.split())` on bytes.
private func joinSplit(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    guard let base = p.baseAddress else { return }
    pythonSplit(base, p.count) { s, e in
        if !out.isEmpty { out.append(0x20) }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: p[s..<e]))
    }
}
private func joinSplit(_ a: [UInt8], into out: inout [UInt8]) {
    a.withUnsafeBufferPointer { joinSplit($0, into: &out) }
}

/// sacreBLEU's `TokenizerZh._is_chinese_char`, including the ranges that Python's
/// `u'\u20000'` (= U+2000 followed by "0") turns into U+2001–U+2A6D and U+2F81–U+2FA1.
func isSacreBLEUChinese(_ c: UInt32) -> Bool {
    switch c {
    case 0x3400...0x4DB5, 0x4E00...0x9FA5, 0x9FA6...0x9FBB, 0xF900...0xFA2D, 0xFA30...0xFA6A,
         0xFA70...0xFAD9, 0x2001...0x2A6D, 0x2F81...0x2FA1, 0xFF00...0xFFEF, 0x2E80...0x2EFF,
         0x3000...0x303F, 0x31C0...0x31EF, 0x2F00...0x2FDF, 0x2FF0...0x2FFF, 0x3100...0x312F,
         0x31A0...0x31BF, 0xFE10...0xFE1F, 0xFE30...0xFE4F, 0x2600...0x26FF, 0x2700...0x27BF,
         0x3200...0x32FF, 0x3300...0x33FF:
        return true
    default:
        return false
    }
}

// MARK: - intl

private enum UClass { case number, punct, symbol, other }

@inline(__always) private func uclass(_ v: UInt32) -> UClass {
    if v < 0x80 {
        let b = UInt8(v)
        if isDigit(b) { return .number }
        switch b {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x60, 0x7C, 0x7E: return .symbol
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return .punct
        default: return .other
        }
    }
    guard let s = Unicode.Scalar(v) else { return .other }
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation: return .punct
    case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: return .symbol
    default: return .other
    }
}

/// mteval-v14's international tokenization as sacreBLEU's `TokenizerV14International` does it.
private func intlTokenize(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    var s = String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
    var t: [UInt32] = []
    t.reserveCapacity(s.count * 2)
    let space: UInt32 = 0x20
    // 1: (\P{N})(\p{P}) → "\1 \2 "
    var i = 0
    while i + 1 < s.count {
        if uclass(s[i]) != .number && uclass(s[i + 1]) == .punct {
            t.append(s[i]); t.append(space); t.append(s[i + 1]); t.append(space); i += 2
        } else { t.append(s[i]); i += 1 }
    }
    if i < s.count { t.append(s[i]) }
    swap(&s, &t); t.removeAll(keepingCapacity: true)
    // 2: (\p{P})(\P{N}) → " \1 \2"
    i = 0
    while i + 1 < s.count {
        if uclass(s[i]) == .punct && uclass(s[i + 1]) != .number {
            t.append(space); t.append(s[i]); t.append(space); t.append(s[i + 1]); i += 2
        } else { t.append(s[i]); i += 1 }
    }
    if i < s.count { t.append(s[i]) }
    swap(&s, &t); t.removeAll(keepingCapacity: true)
    // 3: (\p{S}) → " \1 "
    for c in s {
        if uclass(c) == .symbol { t.append(space); t.append(c); t.append(space) } else { t.append(c) }
    }
    var bytesOut: [UInt8] = []
    bytesOut.reserveCapacity(t.count + 8)
    for c in t { appendScalar(c, to: &bytesOut) }
    joinSplit(bytesOut, into: &out)
}
