// libFuzzer target: bytes split into hypothesis | reference (at the first 0x01 byte), scored by
// BLEU (every tokenizer) and ROUGE (both tokenizers, stemming on and off). Built by fuzz/run.sh
// with Sources/Tokenize and Sources/Metrics (one module); not part of `make test`.
// Invariants: figures finite and in range; identical hypothesis and reference give 100 / 1.0.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetrics(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    let cut = bytes.firstIndex(of: 1) ?? bytes.count / 2
    let hyp = String(decoding: bytes[..<cut].filter { $0 != 0x0A }, as: UTF8.self)
    let ref = String(decoding: bytes[min(cut + 1, bytes.count)...].filter { $0 != 0x0A }, as: UTF8.self)
    let k = count > 0 ? Int(bytes[0]) : 0
    let bleu = BLEU(tokenizer: BLEUTokenizer.allCases[k % 5], lowercase: k & 8 != 0,
                    smoothing: BLEUSmoothing.allCases[(k / 5) % BLEUSmoothing.allCases.count], effectiveOrder: true)
    for (h, r) in [(hyp, ref), (hyp, hyp)] {
        let st = bleu.statistics(hypothesis: h, references: [r])
        let s = bleu.score(st)
        if !(s.score.isFinite && s.score >= 0 && s.score <= 100 + 1e-9) { fatalError("BLEU out of range: \(s.score)") }
        if h == r && st.totals[0] > 0 && abs(s.score - 100) > 1e-9 { fatalError("BLEU of identical text is \(s.score)") }
    }
    let rouge = ROUGE(types: ROUGEType.allCases, useStemmer: k & 16 != 0, tokenizer: k & 32 != 0 ? .unicode : .compatible)
    for (h, r) in [(hyp, ref), (hyp, hyp)] {
        for (t, s) in rouge.score(hypothesis: h, reference: r) {
            for v in [s.precision, s.recall, s.f] where !(v.isFinite && v >= 0 && v <= 1 + 1e-12) { fatalError("\(t) out of range: \(v)") }
            if h == r && t != .rouge2 && !rouge.tokenize(h).isEmpty && abs(s.f - 1) > 1e-12 { fatalError("\(t) of identical text is \(s.f)") }
        }
    }
    return 0
}
