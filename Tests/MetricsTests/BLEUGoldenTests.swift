import XCTest
@testable import Metrics

/// Every BLEU figure of golden.json (sacreBLEU 2.6.0), to a relative 1e-9.
final class BLEUGoldenTests: XCTestCase {
    private let smoothings: [(String, BLEUSmoothing)] = [("exp", .exp), ("floor", .floor), ("add-k", .addK), ("none", .none)]

    func testRawStatisticsWith13a() {
        for c in Golden.cases {
            let id = c["id"] as! String
            let bleu = c["bleu"] as! [String: Any]
            let st = BLEU().statistics(hypothesis: c["hyp"] as! String, references: c["refs"] as! [String])
            XCTAssertEqual(st.flat, doubles(bleu["raw_stats"]).map { Int($0) }, id)
        }
    }

    func testTokenizerOutputs() {
        let toks: [String: BLEUTokenizer] = ["13a": .thirteenA, "intl": .intl, "zh": .zh, "char": .char]
        var checked = 0
        for c in Golden.cases {
            let id = c["id"] as! String
            let tokenized = (c["bleu"] as! [String: Any])["tokenized"] as! [String: [String: Any]]
            for (name, g) in tokenized {
                let bleu = BLEU(tokenizer: toks[name]!)
                XCTAssertEqual(bleu.preprocess(c["hyp"] as! String), g["hyp"] as! String, "\(id) \(name) hyp")
                let refs = c["refs"] as! [String]
                XCTAssertEqual(refs.map(bleu.preprocess), g["refs"] as! [String], "\(id) \(name) refs")
                checked += 1
            }
        }
        XCTAssertEqual(checked, Golden.cases.count * 4)
    }

    func testSentenceAndCorpusScoresForEverySmoothing() {
        for c in Golden.cases {
            let id = c["id"] as! String
            let g = c["bleu"] as! [String: Any]
            let hyp = c["hyp"] as! String, refs = c["refs"] as! [String]
            for (name, method) in smoothings {
                let sentence = BLEU(smoothing: method, effectiveOrder: true).sentenceScore(hypothesis: hyp, references: refs)
                assertBLEU(sentence, (g["sentence"] as! [String: Any])[name] as! [String: Any], "\(id) sentence \(name)")
                let corpus = BLEU(smoothing: method).corpusScore(hypotheses: [hyp], references: refs.map { [$0] })
                assertBLEU(corpus, (g["corpus"] as! [String: Any])[name] as! [String: Any], "\(id) corpus \(name)")
            }
        }
    }

    func testLowercaseAndOtherTokenizers() {
        let toks: [String: BLEUTokenizer] = ["intl": .intl, "zh": .zh, "char": .char, "none": .none]
        for c in Golden.cases {
            let id = c["id"] as! String
            let g = c["bleu"] as! [String: Any]
            let hyp = c["hyp"] as! String, refs = c["refs"] as! [String]
            let lc = BLEU(lowercase: true, effectiveOrder: true).sentenceScore(hypothesis: hyp, references: refs)
            assertBLEU(lc, g["sentence_lowercase_exp"] as! [String: Any], "\(id) lowercase")
            for (name, gt) in g["sentence_tok"] as! [String: [String: Any]] {
                let s = BLEU(tokenizer: toks[name]!, effectiveOrder: true).sentenceScore(hypothesis: hyp, references: refs)
                assertBLEU(s, gt, "\(id) tok \(name)")
            }
        }
    }

    func testSignatures() {
        for sig in Golden.signatures {
            let kw = sig["kwargs"] as! [String: Any]
            var bleu = BLEU()
            if let m = kw["smooth_method"] as? String { bleu.smoothing = BLEUSmoothing(rawValue: m)! }
            if let v = kw["smooth_value"] { bleu.smoothValue = number(v) }
            if let t = kw["tokenize"] as? String { bleu.tokenizer = BLEUTokenizer(rawValue: t)! }
            if kw["lowercase"] as? Bool == true { bleu.lowercase = true }
            if kw["effective_order"] as? Bool == true { bleu.effectiveOrder = true }
            var refs = ReferenceCount.fixed(1)
            if let n = kw["nrefs"] { refs = .fixed(Int(number(n))) }
            if kw["variable_refs"] as? Bool == true { refs = .variable }
            let bs: (samples: Int, seed: UInt64)? = kw["n_bootstrap"].map { (Int(number($0)), 12345) }
            XCTAssertEqual(bleu.signature(references: refs, bootstrap: bs, version: "2.6.0"), sig["long"] as! String)
            XCTAssertEqual(bleu.signature(references: refs, bootstrap: bs, version: "2.6.0", short: true), sig["short"] as! String)
        }
        XCTAssertEqual(BLEU().signature(references: .fixed(1)),
                       "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:mixer-\(mixerVersion)")
    }

    func testCorpora() {
        for co in Golden.corpora {
            let name = co["name"] as! String
            let hyps = co["hyps"] as! [String]
            let streams = (co["ref_streams"] as! [[Any]]).map { $0.map { $0 as? String } }
            let refCount: ReferenceCount = name == "varref" ? .variable : .fixed(streams.count)
            for (key, g) in co["bleu"] as! [String: [String: Any]] {
                let parts = key.split(separator: "|").map(String.init)
                let bleu = BLEU(lowercase: parts.contains("lowercase"), smoothing: BLEUSmoothing(rawValue: parts[0])!,
                                effectiveOrder: parts[1] == "eff=yes")
                assertBLEU(bleu.corpusScore(hypotheses: hyps, references: streams), g, "\(name) \(key)")
                XCTAssertEqual(bleu.signature(references: refCount, version: "2.6.0"), g["signature"] as! String)
            }
            let sentence = doubles(co["sentence_exp_eff_scores"])
            let bleu = BLEU(effectiveOrder: true)
            for (i, h) in hyps.enumerated() {
                assertClose(bleu.sentenceScore(hypothesis: h, references: streams.map { $0[i] }).score, sentence[i], "\(name) sentence \(i)")
            }
        }
    }
}
