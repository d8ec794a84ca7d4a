#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// `x` with `digits` decimals, rounded as Python's `f"{x:.{digits}f}"` (and C's `%.*f`) do:
/// correctly rounded from the binary value.
public func formatFixed(_ x: Double, _ digits: Int) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    let n = withVaList([Int32(digits), x]) { vsnprintf(&buf, 64, "%.*f", $0) }
    if n >= 64 {
        var big = [CChar](repeating: 0, count: Int(n) + 1)
        _ = withVaList([Int32(digits), x]) { vsnprintf(&big, big.count, "%.*f", $0) }
        return String(cString: big)
    }
    return String(cString: buf)
}

/// `x` in the shortest form that reads back to the same Double (Python's `repr`, JSON-safe:
/// non-finite values become `null`).
public func formatJSONNumber(_ x: Double) -> String {
    guard x.isFinite else { return "null" }
    return "\(x)"
}

/// An integer-valued `x` as an integer (`7`), any other as ``formatJSONNumber(_:)``.
public func formatJSONCount(_ x: Double) -> String {
    if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return formatJSONNumber(x)
}

/// A growable UTF-8 buffer for text output that formats numbers without intermediate
/// `String`s: `appendJSONNumber` writes the bytes of ``formatJSONNumber(_:)``, `appendFixed`
/// those of ``formatFixed(_:_:)``, `appendInt` those of `String(n)`. `mixer-cli score` writes
/// its per-line output through one reused buffer.
public struct TextBytes: TextOutputStream {
    /// The text so far.
    public var bytes: [UInt8] = []

    public init() {}

    /// Forgets the text (keeps the memory).
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Appends raw UTF-8 bytes (through a buffer pointer: appending the array itself retains
    /// and releases it, a cost per call that showed in `score --sentence-level`).
    @inline(__always) public mutating func append(_ b: [UInt8]) { b.withUnsafeBufferPointer { bytes.append(contentsOf: $0) } }

    /// Appends one byte.
    @inline(__always) public mutating func append(_ b: UInt8) { bytes.append(b) }

    /// Appends a string's UTF-8 bytes (`TextOutputStream`).
    public mutating func write(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// The ASCII text of a number printed by the standard library (`Double.write(to:)`),
    /// appended without making a `String`.
    public mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }

    /// Appends `n` in decimal, as `String(n)`: the digits are written backwards into a
    /// 24-byte stack buffer, then appended at once. - Complexity: O(digits).
    public mutating func appendInt(_ n: Int) {
        var m = n.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)       // up to 24 bytes; Int.min takes 20
        withUnsafeMutableBytes(of: &digits) { d in
            var k = d.count
            repeat { k -= 1; d[k] = UInt8(truncatingIfNeeded: m % 10) + 0x30; m /= 10 } while m > 0
            if n < 0 { k -= 1; d[k] = 0x2D }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[k...]))
        }
    }

    /// Appends ``formatJSONNumber(_:)``'s text of `x` (`null` when not finite).
    public mutating func appendJSONNumber(_ x: Double) {
        guard x.isFinite else { bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]); return }
        x.write(to: &self)
    }

    private static let powersOfTen: [Double] = (0...9).map { k in (0..<k).reduce(1.0) { a, _ in a * 10 } }

    /// Appends `x` with `digits` decimals exactly as ``formatFixed(_:_:)`` (C's `%.*f`,
    /// correctly rounded from the binary value, ties to even).
    ///
    /// For |x| · 10^digits < 2^51 and `digits` ≤ 9: y = ⌊|x| · 10^d⌋ and the remainder
    /// r = |x| · 10^d − y, computed with one rounding (`fma`), decide the last digit; when r is
    /// within 10⁻⁹ of ½ (a possible tie), and for every other value, ``formatFixed(_:_:)`` is
    /// used. - Complexity: O(digits of the result).
    public mutating func appendFixed(_ x: Double, _ digits: Int) {
        guard digits >= 0, digits <= 9, x.isFinite else { write(formatFixed(x, digits)); return }
        let p = Self.powersOfTen[digits]
        let a = x.magnitude
        let t = a * p
        guard t < 2.0e15 else { write(formatFixed(x, digits)); return }
        var y = t.rounded(.down)
        var r = (-y).addingProduct(a, p)          // a·p − y, one rounding
        if r < 0 { y -= 1; r = (-y).addingProduct(a, p) }
        if r >= 1 { y += 1; r = (-y).addingProduct(a, p) }
        guard (r - 0.5).magnitude > 1e-9 else { write(formatFixed(x, digits)); return }
        if r > 0.5 { y += 1 }
        var n = UInt64(y)
        if x.sign == .minus { bytes.append(0x2D) }
        let scale = UInt64(p)
        appendInt(Int(n / scale))
        guard digits > 0 else { return }
        bytes.append(0x2E)
        n %= scale
        var div = scale / 10
        for _ in 0..<digits {
            bytes.append(UInt8(truncatingIfNeeded: n / div) + 0x30)
            n %= div
            div = max(div / 10, 1)
        }
    }
}
