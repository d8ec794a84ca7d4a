// libFuzzer target: arbitrary bytes as one line of text through the tokenizer pipeline.
// Built by fuzz/run.sh together with Sources/Tokenize (one module); not part of `make test`.
// Invariants: ill-formed UTF-8 and NUL are detected (as LineReader does); well-formed text
// round-trips exactly (Detokenizer.join(tokenize(x)) == normalize(x)), the byte fast path of
// `mixer-cli tokenize` agrees with `words`, and the normalizer is idempotent.
import CICU

nonisolated(unsafe) var tokenizers: [WordTokenizer] = []

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenize(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    if tokenizers.isEmpty {
        tokenizers = [try! WordTokenizer(), try! WordTokenizer(normalizer: Normalizer(form: .nfkc, caseFold: true)),
                      try! WordTokenizer(locale: "th", normalizer: Normalizer(form: .none))]
    }
    guard count > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: count)
    let invalid = data.withMemoryRebound(to: CChar.self, capacity: count) { cicu_utf8_first_invalid($0, Int64(count)) }
    var line = String(decoding: bytes, as: UTF8.self)
    // The checker and Swift's decoder must agree on well-formedness.
    if (invalid >= 0) != (Array(line.utf8) != Array(bytes)) { fatalError("UTF-8 validity disagrees") }
    if bytes.contains(0) || bytes.contains(0x0A) { return 0 }
    let tok = tokenizers[Int(bytes[0]) % tokenizers.count]
    let normalized = tok.normalizer.normalize(line)
    if tok.normalizer.normalize(normalized) != normalized { fatalError("normalizer not idempotent") }
    let tokens = tok.tokenize(line)
    if Detokenizer.join(tokens) != normalized { fatalError("tokenization is not lossless") }
    let words = tok.words(line)
    if words.contains(where: { $0.isEmpty || $0.utf8.contains(0x20) }) { fatalError("bad token") }
    var out: [UInt8] = []
    _ = line.withUTF8 { tok.appendTokenized(utf8: $0, to: &out) }
    if String(decoding: out, as: UTF8.self) != words.joined(separator: " ") { fatalError("fast path differs") }
    if Detokenizer.split(words.joined(separator: " ")) != words { fatalError("split differs") }
    _ = Detokenizer().detokenize(words)
    return 0
}
