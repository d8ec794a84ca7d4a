// Python's notion of whitespace and lower case, on UTF-8 bytes.
//
// sacreBLEU and rouge-score are defined by what Python's `str.split()`, `str.strip()` and
// `str.lower()` do, which is not what Swift's `String` does: Python splits on NBSP, U+2009,
// U+3000, U+2028 and `\x1c`–`\x1f`; it lowercases `İ` to `i̇` and `Σ` to `ς` at a word's end;
// and it compares strings by code points (NFD ≠ NFC). Everything here works on bytes or
// scalars, never on `Character`.

/// Python's `str.isspace()` for one scalar: bidi classes WS, B, S or category Zs
/// (Python 3.11, Unicode 14).
@inlinable
func isPythonWhitespace(_ c: UInt32) -> Bool {
    switch c {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029,
         0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}

/// The byte length of the Python whitespace character starting at `p[i]` (0 when there is none).
/// `p[i..<end]` must be well-formed UTF-8.
@inline(__always)
func pythonWhitespaceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
    let b = p[i]
    if b < 0x80 {
        return (b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F)) ? 1 : 0
    }
    if b == 0xC2, i + 1 < end {
        let c = p[i + 1]
        return (c == 0x85 || c == 0xA0) ? 2 : 0
    }
    if b == 0xE1, i + 2 < end { return (p[i + 1] == 0x9A && p[i + 2] == 0x80) ? 3 : 0 }
    if b == 0xE2, i + 2 < end {
        let c = p[i + 1], d = p[i + 2]
        if c == 0x80 { return (d <= 0x8A && d >= 0x80) || d == 0xA8 || d == 0xA9 || d == 0xAF ? 3 : 0 }
        if c == 0x81 { return d == 0x9F ? 3 : 0 }
        return 0
    }
    if b == 0xE3, i + 2 < end { return (p[i + 1] == 0x80 && p[i + 2] == 0x80) ? 3 : 0 }
    return 0
}

/// Python's `str.split()` (no argument) over UTF-8 bytes: calls `body(start, end)` for each
/// maximal run of non-whitespace bytes. Printable ASCII (0x21–0x7E) is never whitespace: inside
/// a token the scan skips 8 bytes at a time while they all are, and checks only other bytes
/// with `pythonWhitespaceLength`. - Complexity: O(n).
@inline(__always)
func pythonSplit(_ p: UnsafePointer<UInt8>, _ count: Int, _ body: (Int, Int) -> Void) {
    var i = 0
    while i < count {
        // Skip whitespace.
        let b = p[i]
        if b == 0x20 { i += 1; continue }
        if b &- 0x21 < 0x5E { } else {
            let w = pythonWhitespaceLength(p, i, count)
            if w > 0 { i += w; continue }
        }
        // A token: printable ASCII fast, anything else checked.
        let start = i
        i += 1
        while i < count {
            i = nextNonPrintableASCII(p, from: i, count)
            if i == count || p[i] == 0x20 || pythonWhitespaceLength(p, i, count) > 0 { break }
            i += 1
        }
        body(start, i)
    }
}

/// The first index in `p[from..<n]` whose byte is not printable ASCII (not in 0x21–0x7E), or
/// n. Eight bytes at a time: bytes ≥ 0x80 have bit 7 set; `(x & 0x7F…) + 0x01…` sets bit 7 of
/// the bytes whose low 7 bits are 0x7F; the zero-byte style test `(x − 0x21…) & ~x & 0x80…`
/// flags bytes below 0x21 (its lowest flagged byte is exact, which is all we read).
@inline(__always)
func nextNonPrintableASCII(_ p: UnsafePointer<UInt8>, from: Int, _ n: Int) -> Int {
    var i = from
    let raw = UnsafeRawPointer(p)
    while i + 8 <= n {
        let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let high: UInt64 = 0x8080_8080_8080_8080
        let del = ((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x0101_0101_0101_0101) & high
        let low = (x &- 0x2121_2121_2121_2121) & ~x & high
        let z = (x & high) | del | low
        if z != 0 { return i + z.trailingZeroBitCount / 8 }
        i += 8
    }
    while i < n && p[i] &- 0x21 < 0x5E { i += 1 }
    return i
}

/// Python's `str.split()` byte by byte (the oracle of `pythonSplit`). - Complexity: O(n).
func pythonSplitReference(_ p: UnsafePointer<UInt8>, _ count: Int, _ body: (Int, Int) -> Void) {
    var i = 0
    var start = -1
    while i < count {
        let w = pythonWhitespaceLength(p, i, count)
        if w > 0 {
            if start >= 0 { body(start, i); start = -1 }
            i += w
        } else {
            if start < 0 { start = i }
            i += 1
        }
    }
    if start >= 0 { body(start, count) }
}

/// The byte range of `p[0..<count]` without Python whitespace at the end (`str.rstrip()`),
/// and optionally at the start (`str.strip()`).
func pythonStripRange(_ p: UnsafePointer<UInt8>, _ count: Int, leading: Bool) -> Range<Int> {
    // Common case: printable ASCII at the end (and at the start, when asked) strips nothing.
    if count > 0 && p[count - 1] &- 0x21 < 0x5E && (!leading || p[0] &- 0x21 < 0x5E) { return 0..<count }
    return pythonStripRangeReference(p, count, leading: leading)
}

/// `pythonStripRange` without its printable-ASCII shortcut (the oracle of the shortcut).
func pythonStripRangeReference(_ p: UnsafePointer<UInt8>, _ count: Int, leading: Bool) -> Range<Int> {
    var end = count
    // Walk back over whitespace: whitespace chars are 1–3 bytes; test candidate starts.
    while end > 0 {
        var matched = 0
        for len in 1...3 where end - len >= 0 {
            if pythonWhitespaceLength(p, end - len, end) == len { matched = len; break }
        }
        if matched == 0 { break }
        end -= matched
    }
    var start = 0
    if leading {
        while start < end {
            let w = pythonWhitespaceLength(p, start, end)
            if w == 0 { break }
            start += w
        }
    }
    return start..<end
}

/// Python's `str.lower()` over UTF-8 bytes, appended to `out`: full lowercase mappings
/// (`İ` → `i̇`) and the Final_Sigma rule for `Σ`. ASCII-only input takes a byte loop; text
/// whose other scalars all take two UTF-8 bytes (U+0080…U+07FF: Latin, Greek, Cyrillic,
/// Hebrew, Arabic…) but `Σ` takes ``twoByteLowercase``'s table; anything else, ill-formed
/// UTF-8 included, ``pythonLowerReference(_:into:)``. - Complexity: O(n).
func pythonLower(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    var ascii = true
    for b in bytes where b >= 0x80 { ascii = false; break }
    if ascii {
        out.reserveCapacity(out.count + bytes.count)
        for b in bytes { out.append(b &- 0x41 < 26 ? b | 0x20 : b) }
        return
    }
    let start = out.count
    out.reserveCapacity(start + bytes.count + 8)
    let table = twoByteLowercase
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        if b < 0x80 { out.append(b &- 0x41 < 26 ? b | 0x20 : b); i += 1; continue }
        // Well-formed two-byte scalars but U+03A3 (Σ, whose lowercase depends on its
        // neighbours); anything else (longer or ill-formed sequences too) takes the scalar path.
        guard b >= 0xC2, b < 0xE0, i + 1 < bytes.count, bytes[i + 1] & 0xC0 == 0x80,
              !(b == 0xCE && bytes[i + 1] == 0xA3) else {
            out.removeSubrange(start...)
            pythonLowerReference(bytes, into: &out)
            return
        }
        let c = Int(b & 0x1F) << 6 | Int(bytes[i + 1] & 0x3F)
        let lo = Int(table.offsets[c - 0x80]), hi = Int(table.offsets[c - 0x80 + 1])
        table.bytes.withUnsafeBufferPointer { out.append(contentsOf: $0[lo..<hi]) }
        i += 2
    }
}

/// Python's lowercase of each scalar U+0080…U+07FF as UTF-8: scalar c's bytes are
/// `bytes[offsets[c − 0x80]..<offsets[c − 0x80 + 1]]`. Made once, from the mapping
/// ``pythonLowerReference(_:into:)`` uses (Unicode's full lowercase mapping).
let twoByteLowercase: (bytes: [UInt8], offsets: [UInt32]) = {
    var bytes: [UInt8] = [], offsets: [UInt32] = [0]
    for v in UInt32(0x80)..<0x800 {
        bytes.append(contentsOf: Unicode.Scalar(v)!.properties.lowercaseMapping.utf8)
        offsets.append(UInt32(bytes.count))
    }
    return (bytes, offsets)
}()

/// ``pythonLower(_:into:)`` scalar by scalar (its oracle, and its path for text with scalars
/// beyond U+07FF or a `Σ`). - Complexity: O(n).
func pythonLowerReference(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
    for (i, s) in scalars.enumerated() {
        if s.value < 0x80 {
            let b = UInt8(s.value)
            out.append(b &- 0x41 < 26 ? b | 0x20 : b)
        } else if s.value == 0x3A3 {
            let sigma: Unicode.Scalar = isFinalSigma(scalars, i) ? "\u{3C2}" : "\u{3C3}"
            out.append(contentsOf: String(sigma).utf8)
        } else {
            out.append(contentsOf: s.properties.lowercaseMapping.utf8)
        }
    }
}

/// Python's Final_Sigma context: a cased letter (skipping case-ignorables) before, and none after.
private func isFinalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
    var j = i - 1
    while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
    guard j >= 0 && s[j].properties.isCased else { return false }
    j = i + 1
    while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
    return j == s.count || !s[j].properties.isCased
}

/// Python's `str.lower()` of a String.
func pythonLower(_ s: String) -> String {
    var out: [UInt8] = []
    var s = s
    s.withUTF8 { pythonLower($0, into: &out) }
    return String(decoding: out, as: UTF8.self)
}
