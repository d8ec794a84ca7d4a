import CICU

/// The Unicode normalization form a ``Normalizer`` applies.
///
/// See [UAX #15, Unicode Normalization Forms](https://www.unicode.org/reports/tr15/).
public enum NormalizationForm: String, CaseIterable, Sendable {
    /// Compatibility decomposition, then canonical composition: `ﬁ` → `fi`, `①` → `1`,
    /// full-width `Ａ` → `A`, no-break space → space. The default.
    case nfkc
    /// Canonical decomposition, then canonical composition: `e` + U+0301 → `é`.
    case nfc
    /// No normalization (control characters and whitespace are still cleaned).
    case none
}

/// Cleans and normalizes one line of text: Unicode normalization (ICU), optional full case
/// folding (ICU), control characters removed, whitespace runs collapsed to one space, trimmed.
///
/// The steps, in order:
/// 1. clean: every `White_Space` character (tab, no-break space, U+3000, …) counts as a space;
///    control characters (general category `Cc`, other than whitespace) and the byte-order
///    mark U+FEFF are removed; runs of spaces become one U+0020; leading and trailing spaces go;
/// 2. normalize to ``form`` (ICU `unorm2_normalize`);
/// 3. with `caseFold`, full default case folding (ICU `u_strFoldCase`, *not* ASCII
///    lowercasing: `ß` → `ss`, `İ` → `i̇`), then normalize again (folding can denormalize);
/// 4. clean again (NFKC can produce spaces, e.g. U+00B4 → U+0020 U+0301).
///
/// The result is idempotent: `normalize(normalize(x)) == normalize(x)`. Its only whitespace
/// is single U+0020 characters between non-space characters.
///
/// A line of printable ASCII takes a fast path (NFC and NFKC are the identity on ASCII, and
/// case folding is ASCII lowercasing there) that never calls ICU.
///
/// - Complexity: O(n) in the line's length in bytes.
/// - Note: a value type with no mutable state; safe to share between threads.
public struct Normalizer: @unchecked Sendable {
    /// The normalization form applied.
    public let form: NormalizationForm
    /// Whether full Unicode case folding is applied.
    public let caseFold: Bool
    /// ICU's shared, immutable normalizer instance for `form` (nil for `.none`).
    private let instance: UnsafeRawPointer?

    /// Creates a normalizer.
    /// - Parameters:
    ///   - form: the normalization form (default NFKC).
    ///   - caseFold: apply full Unicode default case folding (default false).
    public init(form: NormalizationForm = .nfkc, caseFold: Bool = false) {
        self.form = form
        self.caseFold = caseFold
        let code: Int32
        switch form {
        case .nfc: code = 0
        case .nfkc: code = 1
        case .none: instance = nil; return
        }
        var status: Int32 = 0
        let p = cicu_normalizer(code, &status)
        // ICU's normalization data is compiled into libicudata; failing to load it means a
        // broken installation, not bad input.
        precondition(p != nil && status <= 0,
                     "ICU could not load its normalization data: \(String(cString: cicu_error_name(status)))")
        instance = p
    }

    /// Returns the normalized form of `s` (see the type's documentation for the steps).
    /// - Complexity: O(n) in the length of `s`.
    public func normalize(_ s: String) -> String {
        var s = s
        var out: [UInt8] = []
        s.withUTF8 { normalize(utf8: $0, appendingTo: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the normalized form of the well-formed UTF-8 text `input` to `out`.
    ///
    /// - Precondition: `input` is well-formed UTF-8 (``LineReader`` guarantees it).
    /// - Complexity: O(n) in `input.count`.
    public func normalize(utf8 input: UnsafeBufferPointer<UInt8>, appendingTo out: inout [UInt8]) {
        let buffer = ByteBuffer(capacity: input.count + 16)
        normalize(utf8: input, into: buffer)
        out.append(contentsOf: buffer.bytes)
    }

    /// Appends the normalized form of `input` to `out` (the tokenizer's allocation-free path).
    func normalize(utf8 input: UnsafeBufferPointer<UInt8>, into out: ByteBuffer) {
        out.reserve(input.count)
        if let n = Normalizer.cleanASCII(input, lowercase: caseFold, into: out.end) {
            out.count += n
            return
        }
        // 1. clean, into UTF-16 for ICU.
        var utf16: [UInt16] = []
        utf16.reserveCapacity(input.count + 8)
        Normalizer.clean(String(decoding: input, as: UTF8.self).unicodeScalars) { scalar in
            UTF16.encode(scalar) { utf16.append($0) }
        }
        if utf16.isEmpty { return }
        // 2-3. normalize, fold, normalize.
        if let instance { utf16 = Normalizer.icuNormalize(instance, utf16) }
        if caseFold {
            let folded = Normalizer.icuFold(utf16)
            if folded != utf16 {
                utf16 = folded
                if let instance { utf16 = Normalizer.icuNormalize(instance, utf16) }
            }
        }
        // 4. clean again, into UTF-8.
        Normalizer.clean(String(decoding: utf16, as: UTF16.self).unicodeScalars) { scalar in
            UTF8.encode(scalar) { out.append($0) }
        }
    }

    /// Whether `v` has the Unicode `White_Space` property (PropList.txt, stable since
    /// Unicode 6.3).
    @inline(__always)
    static func isWhitespace(_ v: UInt32) -> Bool {
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Whether `scalar` is removed by cleaning: a control character (`Cc`) that is not
    /// whitespace, or the byte-order mark.
    @inline(__always)
    static func isRemoved(_ v: UInt32) -> Bool {
        v < 0x20 || (v >= 0x7F && v <= 0x9F) || v == 0xFEFF
    }

    /// Cleans a sequence of scalars: whitespace runs → one space, controls removed, trimmed.
    static func clean<S: Sequence>(_ scalars: S, emit: (Unicode.Scalar) -> Void)
    where S.Element == Unicode.Scalar {
        var pendingSpace = false, started = false
        for s in scalars {
            if isWhitespace(s.value) {
                pendingSpace = started
            } else if !isRemoved(s.value) {
                if pendingSpace { emit(" ") }
                pendingSpace = false
                started = true
                emit(s)
            }
        }
    }

    /// The fast path for ASCII: the same cleaning as ``clean(_:emit:)``, on bytes, into `out`
    /// (room for `input.count` bytes). Returns the number of bytes written, or nil as soon as
    /// it meets a non-ASCII byte (what it wrote is then garbage).
    @inline(__always)
    static func cleanASCII(_ input: UnsafeBufferPointer<UInt8>, lowercase: Bool,
                           into out: UnsafeMutablePointer<UInt8>) -> Int? {
        var n = 0
        var pendingSpace = false, started = false
        for b in input {
            if b > 0x20 && b < 0x7F {
                if pendingSpace { out[n] = 0x20; n += 1 }
                pendingSpace = false
                started = true
                out[n] = lowercase && b >= 0x41 && b <= 0x5A ? b | 0x20 : b
                n += 1
            } else if b == 0x20 || (b >= 0x09 && b <= 0x0D) {
                pendingSpace = started
            } else if b >= 0x80 {
                return nil
            }
        }
        return n
    }

    /// ICU's buffer-size retry loop: calls `f(dst, capacity, &status)` until it fits.
    private static func withICUBuffer(
        initialCapacity: Int, _ f: (UnsafeMutablePointer<UInt16>, Int32, inout Int32) -> Int32
    ) -> [UInt16] {
        var capacity = max(initialCapacity, 16)
        while true {
            var status: Int32 = 0
            var length: Int32 = 0
            let result = [UInt16](unsafeUninitializedCapacity: capacity) { buf, count in
                length = f(buf.baseAddress!, Int32(clamping: capacity), &status)
                count = status > 0 ? 0 : Int(length)
            }
            if status <= 0 { return result }
            // U_BUFFER_OVERFLOW_ERROR = 15: retry with the length ICU asked for.
            precondition(status == 15 && Int(length) > capacity,
                         "ICU failed: \(String(cString: cicu_error_name(status)))")
            capacity = Int(length)
        }
    }

    private static func icuNormalize(_ instance: UnsafeRawPointer, _ src: [UInt16]) -> [UInt16] {
        src.withUnsafeBufferPointer { s in
            // Skip the work when the text is already normalized (the common case).
            var status: Int32 = 0
            let prefix = cicu_normalized_prefix(instance, s.baseAddress, Int32(s.count), &status)
            if status <= 0 && Int(prefix) == s.count { return src }
            return withICUBuffer(initialCapacity: s.count * 2 + 8) { dst, cap, status in
                cicu_normalize(instance, s.baseAddress, Int32(s.count), dst, cap, &status)
            }
        }
    }

    private static func icuFold(_ src: [UInt16]) -> [UInt16] {
        src.withUnsafeBufferPointer { s in
            withICUBuffer(initialCapacity: s.count + s.count / 2 + 8) { dst, cap, status in
                cicu_fold_case(s.baseAddress, Int32(s.count), dst, cap, &status)
            }
        }
    }
}
