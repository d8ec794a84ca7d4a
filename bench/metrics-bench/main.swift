// Times mixer's metrics in process on the benchmark corpus (bench/metrics.sh runs it beside the
// Python peers). Usage: metrics-bench HYP REF [SECTIONS]; prints one JSON object.
// SECTIONS (default: all) is a comma-separated subset of corpus, corpus2, sentence, rouge,
// rougestem, reward — handy under `perf stat` when comparing two builds. An optional 4th argument
// sets the repetitions (default 3, best taken); more of them make `perf record` see mostly scoring.
import Foundation
import Metrics
import Tokenize

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let args = CommandLine.arguments
guard args.count >= 3 else { FileHandle.standardError.write(Data("usage: metrics-bench HYP REF\n".utf8)); exit(2) }
let hyps = try LineReader.readLines(args[1]), refs = try LineReader.readLines(args[2])
var out: [String: Double] = ["pairs": Double(hyps.count)]
let sections = Set((args.count > 3 ? args[3] : "corpus,corpus2,sentence,rouge,rougestem,reward").split(separator: ",").map(String.init))

/// Corpus BLEU statistics of hyps[range] (one scorer per thread).
func corpusStats(_ range: Range<Int>) -> BLEUStatistics {
    let s = BLEUSegmentScorer(BLEU())
    var sum = BLEUStatistics()
    for i in range {
        s.beginSegment(); s.addReference(refs[i]); sum += s.finishSegment(hypothesis: hyps[i])
    }
    return sum
}

let repetitions = args.count > 4 ? max(1, Int(args[4]) ?? 3) : 3
func best(_ reps: Int, _ body: () -> Void) -> Double {
    var t = Double.infinity
    for _ in 0..<max(reps, repetitions) { let t0 = now(); body(); t = min(t, now() - t0) }
    return t
}

var score = 0.0
if sections.contains("corpus") {
out["corpus_bleu_s"] = best(3) { score = BLEU().score(corpusStats(0..<hyps.count)).score }
out["corpus_bleu"] = score
}
if sections.contains("corpus2") {
out["corpus_bleu_2threads_s"] = best(3) {
    let half = hyps.count / 2
    let parts = UnsafeMutablePointer<BLEUStatistics>.allocate(capacity: 2)
    parts.initialize(repeating: BLEUStatistics(), count: 2)
    DispatchQueue.concurrentPerform(iterations: 2) { k in
        parts[k] = corpusStats(k == 0 ? 0..<half : half..<hyps.count)
    }
    score = BLEU().score(parts[0] + parts[1]).score
    parts.deallocate()
}
out["corpus_bleu"] = score
}

let n = min(10_000, hyps.count)
var mean = 0.0
if sections.contains("sentence") {
out["sentence_bleu_s"] = best(3) {
    let s = BLEUSegmentScorer(BLEU(effectiveOrder: true))
    var sum = 0.0
    for i in 0..<n { s.beginSegment(); s.addReference(refs[i]); sum += s.bleu.score(s.finishSegment(hypothesis: hyps[i])).score }
    mean = sum / Double(n)
}
out["sentence_bleu_mean"] = mean
out["sentence_bleu_n"] = Double(n)
}
for stem in [false, true] where sections.contains(stem ? "rougestem" : "rouge") {
    var m = 0.0
    out["rouge_\(stem ? "stem" : "nostem")_s"] = best(3) {
        let s = ROUGESegmentScorer(ROUGE(types: [.rouge1, .rouge2, .rougeL], useStemmer: stem))
        var sum = 0.0
        for i in 0..<n { s.beginSegment(); s.addReference(refs[i]); sum += s.finishSegment(hypothesis: hyps[i]).bestScores[.rougeL]!.f }
        m = sum / Double(n)
    }
    out["rouge_\(stem ? "stem" : "nostem")_meanL"] = m
}
out["rouge_n"] = Double(n)

// Rewards on ids: 20-token sequences, tables built once per reference, several samples each.
if sections.contains("reward") {
var vocab: [Substring: Int32] = [:]
func ids(_ s: String) -> [Int32] {
    s.split(separator: " ").prefix(20).map { w in
        if let v = vocab[w] { return v }
        let v = Int32(vocab.count + 4); vocab[w] = v; return v
    }
}
let idRefs = refs.prefix(n).map(ids), idHyps = hyps.prefix(n).map(ids)
var acc = 0.0
let tables = idRefs.map { ReferenceTable(references: [$0], metric: .bleuPlusOne) }
out["reward_bleu_s"] = best(3) { for i in 0..<n { acc += tables[i].reward(idHyps[i]) } }
// A training batch: 64 references' tables, hypotheses scored round robin (tables and sequences
// stay in cache, as within one minibatch); the figure above walks 10,000 cold tables.
out["reward_bleu_batch64_s"] = best(3) { for i in 0..<n { acc += tables[i & 63].reward(idHyps[i & 63]) } }
out["reward_build_bleu_s"] = best(3) { for i in 0..<n { acc += ReferenceTable(references: [idRefs[i]], metric: .bleuPlusOne).reward(idHyps[i]) } }
let rtables = idRefs.map { ReferenceTable(references: [$0], metric: .rougeN(2)) }
out["reward_rouge2_s"] = best(3) { for i in 0..<n { acc += rtables[i].reward(idHyps[i]) } }
let ltables = idRefs.map { ReferenceTable(references: [$0], metric: .rougeL()) }
out["reward_rougeL_s"] = best(3) { for i in 0..<n { acc += ltables[i].reward(idHyps[i]) } }
out["reward_n"] = Double(n)
out["checksum"] = acc
}

let body = out.keys.sorted().map { "\"\($0)\": \(out[$0]!)" }.joined(separator: ", ")
print("{\(body)}")
