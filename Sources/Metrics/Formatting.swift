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
