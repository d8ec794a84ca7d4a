// Streaming corpus scoring of line-aligned files: the engine of `mixer-cli score`.
import Tokenize

/// What to compute over a hypothesis file and its reference files.
public struct FileScoringOptions: Sendable {
    /// BLEU's configuration, or nil for no BLEU.
    public var bleu: BLEU?
    /// ROUGE's configuration, or nil for no ROUGE.
    public var rouge: ROUGE?
    /// chrF configurations (chrF, chrF++, …), each scored on its own; empty for none.
    public var chrf: [CHRF]
    /// TER's configuration, or nil for no TER.
    public var ter: TER?
    /// Keep per-segment statistics (needed for confidence intervals and paired tests).
    public var keepSegments: Bool
    /// Replace ill-formed UTF-8 with U+FFFD instead of failing.
    public var replaceInvalid: Bool
    /// A string (such as `<n>`) that marks sentence breaks in ROUGE's input: it becomes a
    /// newline before ROUGE scores a line, so that `rougeLsum` splits sentences there (line
    /// files cannot hold newlines). BLEU, chrF and TER read the lines unchanged.
    public var rougeNewline: String?
    /// References per line of the reference file, separated by tabs (sacreBLEU's `--num-refs`):
    /// with N > 1 there is one reference file; each line is `rstrip()`ped, then split on its
    /// first N − 1 tabs (so a further tab stays in the last reference, as sacreBLEU's
    /// `split('\t', maxsplit=N-1)`), and a line with fewer than N fields is an ``InputError``.
    public var referencesPerLine = 1
    /// Keep each segment's ROUGE precision, recall and F too (``CorpusScores/segmentROUGEScores``,
    /// 24 bytes a line per type), for rouge-score's bootstrap aggregate; `keepSegments` alone
    /// keeps F only.
    public var keepROUGEScores = false
    public init(bleu: BLEU?, rouge: ROUGE?, chrf: [CHRF] = [], ter: TER? = nil, keepSegments: Bool = false,
                replaceInvalid: Bool = false) {
        self.bleu = bleu; self.rouge = rouge; self.chrf = chrf; self.ter = ter
        self.keepSegments = keepSegments; self.replaceInvalid = replaceInvalid
    }

    public init(bleu: BLEU?, rouge: ROUGE?, chrf: [CHRF] = [], ter: TER? = nil, keepSegments: Bool = false,
                replaceInvalid: Bool = false, rougeNewline: String?) {
        self.init(bleu: bleu, rouge: rouge, chrf: chrf, ter: ter, keepSegments: keepSegments, replaceInvalid: replaceInvalid)
        self.rougeNewline = rougeNewline.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// One segment's scores (sentence BLEU uses the configuration as given: set
/// `effectiveOrder` for sacreBLEU's sentence defaults).
public struct SegmentScores: Sendable {
    public var bleu: BLEUScore?
    public var bleuStatistics: BLEUStatistics?
    public var rouge: [ROUGEType: ROUGEScore]
    /// chrF statistics, one per configuration of ``FileScoringOptions/chrf``.
    public var chrfStatistics: [CHRFStatistics] = []
    public var terStatistics: TERStatistics?
}

/// A corpus's scores and, when kept, its per-segment data.
public struct CorpusScores: Sendable {
    /// The number of segments.
    public var segments: Int
    /// The summed BLEU statistics and their score.
    public var bleuStatistics: BLEUStatistics
    public var bleu: BLEUScore?
    /// How many references the segments had: a count, or `var`.
    public var references: ReferenceCount
    /// ROUGE: the mean precision, recall and F over segments (rouge-score's corpus figure).
    public var rouge: [ROUGEType: ROUGEScore]
    /// Per-segment BLEU statistics (when kept).
    public var segmentBLEU: [BLEUStatistics] = []
    /// Per-segment ROUGE F (when kept).
    public var segmentROUGE: [ROUGEType: [Double]] = [:]
    /// Per-segment ROUGE precision, recall and F (when ``FileScoringOptions/keepROUGEScores``):
    /// rouge-score's bootstrap aggregate resamples all three (``Bootstrap/rougeAggregate(_:samples:seed:level:)``).
    public var segmentROUGEScores: [ROUGEType: [ROUGEScore]] = [:]
    /// The summed chrF statistics and their scores, one per configuration.
    public var chrfStatistics: [CHRFStatistics] = []
    public var chrf: [CHRFScore] = []
    /// The summed TER statistics and their score.
    public var terStatistics = TERStatistics()
    public var ter: TERScore?
    /// Per-segment chrF statistics, per configuration (when kept).
    public var segmentCHRF: [[CHRFStatistics]] = []
    /// Per-segment TER statistics (when kept).
    public var segmentTER: [TERStatistics] = []
}

/// Scores hypothesis files against reference files, streaming line by line (UTF-8 checked by
/// ``LineReader``): memory is O(1) in the corpus size unless segments are kept.
public enum FileScorer {
    /// Scores `hypotheses` (a path or "-") against `references` (paths, each line-aligned with it),
    /// calling `segment` for each line when given.
    /// - Throws: ``InputError`` naming the file and line (invalid UTF-8, unreadable file), or
    ///   naming both files and both line counts when they differ; what `segment` throws (a
    ///   failed write), at once.
    public static func score(hypotheses: String, references: [String], options: FileScoringOptions,
                             segment: ((Int, SegmentScores) throws -> Void)? = nil) throws -> CorpusScores {
        try score(files: [(hypotheses, references)], options: options, segment: segment)
    }

    /// Scores several hypothesis files, each against its own reference files, as one corpus:
    /// the segments of `files[0]`, then those of `files[1]`, … (rouge-score's file patterns,
    /// whose matches are scored pair by pair in sorted order and aggregated together). The
    /// figures are those of the concatenated files; `segment` gets the 1-based line number in
    /// that concatenation.
    /// - Precondition: `files` is not empty, and every entry has the same number of references.
    /// - Throws: as ``score(hypotheses:references:options:segment:)``, naming the pair whose
    ///   line counts differ.
    public static func score(files: [(hypotheses: String, references: [String])], options: FileScoringOptions,
                             segment: ((Int, SegmentScores) throws -> Void)? = nil) throws -> CorpusScores {
        precondition(!files.isEmpty, "Give at least one hypothesis file")
        let references = files[0].references
        precondition(files.allSatisfy { $0.references.count == references.count }, "Every hypothesis file needs as many reference files")
        let bleuScorer = options.bleu.map { BLEUSegmentScorer($0) }
        let rougeScorer = options.rouge.map { ROUGESegmentScorer($0) }
        let chrfScorers = options.chrf.map { CHRFSegmentScorer($0) }
        let terScorer = options.ter.map { TERSegmentScorer($0) }
        var result = CorpusScores(segments: 0, bleuStatistics: BLEUStatistics(), bleu: nil,
                                  references: .fixed(references.count * options.referencesPerLine), rouge: [:])
        result.chrfStatistics = options.chrf.map { CHRFStatistics(orders: $0.order) }
        result.segmentCHRF = options.chrf.map { _ in [] }
        var rougeSums: [ROUGEType: (Double, Double, Double)] = [:]
        // ROUGE's input: the line, or a copy with the sentence marker replaced by "\n".
        let marker = options.rougeNewline.map { Array($0.utf8) } ?? []
        var replaced: [UInt8] = []
        func rougeInput<R>(_ line: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            guard !marker.isEmpty else { return body(line) }
            replaced.removeAll(keepingCapacity: true)
            var i = 0
            while i < line.count {
                if line[i] == marker[0], i + marker.count <= line.count,
                   marker.indices.allSatisfy({ line[i + $0] == marker[$0] }) {
                    replaced.append(0x0A)
                    i += marker.count
                } else {
                    replaced.append(line[i]); i += 1
                }
            }
            return replaced.withUnsafeBufferPointer(body)
        }
        var rougeBest = ROUGEScores()
        for (hypotheses, references) in files {
            let hypReader = try LineReader(path: hypotheses, replaceInvalid: options.replaceInvalid)
            let refReaders = try references.map { try LineReader(path: $0, replaceInvalid: options.replaceInvalid) }
            while true {
                bleuScorer?.beginSegment()
                rougeScorer?.beginSegment()
                for s in chrfScorers { s.beginSegment() }
                terScorer?.beginSegment()
                var ended: [Int] = []
                func addReference(_ line: UnsafeBufferPointer<UInt8>) {
                    bleuScorer?.addReference(line)
                    if let r = rougeScorer { rougeInput(line) { r.addReference($0) } }
                    if !chrfScorers.isEmpty {
                        // sacreBLEU's command line rstrip()s every line (it matters with --chrf-whitespace).
                        let stripped = rstripped(line)
                        for s in chrfScorers { s.addReference(stripped) }
                    }
                    terScorer?.addReference(line)
                }
                for (k, r) in refReaders.enumerated() {
                    let got = try r.withNextLine { line -> Bool in
                        if options.referencesPerLine > 1 {
                            try splitReferences(rstripped(line), count: options.referencesPerLine, reader: r, addReference)
                        } else {
                            addReference(line)
                        }
                        return true
                    }
                    if got == nil { ended.append(k) }
                }
                var seg = SegmentScores(bleu: nil, bleuStatistics: nil, rouge: [:])
                let hypGot = try hypReader.withNextLine { line -> Bool in
                    if let s = bleuScorer { seg.bleuStatistics = s.finishSegment(hypothesis: line) }
                    if let s = rougeScorer {
                        rougeBest = rougeInput(line) { s.finishSegment(hypothesis: $0) }.bestScores
                        if segment != nil { seg.rouge = rougeBest.dictionary }
                    }
                    if !chrfScorers.isEmpty {
                        let stripped = rstripped(line)
                        seg.chrfStatistics = chrfScorers.map { $0.finishSegment(hypothesis: stripped) }
                    }
                    if let s = terScorer { seg.terStatistics = s.finishSegment(hypothesis: line) }
                    return true
                }
                if hypGot == nil || !ended.isEmpty {
                    if hypGot == nil && ended.count == refReaders.count { break }
                    throw try lineCountError(hypReader, refReaders)
                }
                result.segments += 1
                if let st = seg.bleuStatistics {
                    result.bleuStatistics += st
                    if options.keepSegments { result.segmentBLEU.append(st) }
                    if segment != nil, let b = options.bleu { seg.bleu = b.score(st) }
                }
                for (k, st) in seg.chrfStatistics.enumerated() {
                    result.chrfStatistics[k] += st
                    if options.keepSegments { result.segmentCHRF[k].append(st) }
                }
                if let st = seg.terStatistics {
                    result.terStatistics += st
                    if options.keepSegments { result.segmentTER.append(st) }
                }
                for t in ROUGEType.allCases {
                    guard let s = rougeBest[t] else { continue }
                    let o = rougeSums[t] ?? (0, 0, 0)
                    rougeSums[t] = (o.0 + s.precision, o.1 + s.recall, o.2 + s.f)
                    if options.keepSegments { result.segmentROUGE[t, default: []].append(s.f) }
                    if options.keepROUGEScores { result.segmentROUGEScores[t, default: []].append(s) }
                }
                try segment?(result.segments, seg)
            }
        }
        if let b = options.bleu { result.bleu = b.score(result.bleuStatistics) }
        result.chrf = zip(options.chrf, result.chrfStatistics).map { $0.score($1) }
        if let t = options.ter { result.ter = t.score(result.terStatistics) }
        if let r = options.rouge {
            let n = Double(max(result.segments, 1))
            for t in r.types {
                let s = rougeSums[t] ?? (0, 0, 0)
                var score = ROUGEScore(precision: s.0 / n, recall: s.1 / n)
                score.f = s.2 / n
                result.rouge[t] = score
            }
        }
        return result
    }

    /// Calls `body` with each of the `count` tab-separated fields of `line` (split on its first
    /// `count` − 1 tabs, as Python's `line.split('\t', maxsplit=count-1)`).
    /// - Throws: ``InputError`` naming the reader's file and line when there are fewer fields.
    /// - Complexity: O(line length).
    private static func splitReferences(_ line: UnsafeBufferPointer<UInt8>, count: Int, reader: LineReader,
                                        _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        var tabs: [Int] = []
        var i = 0
        while i < line.count && tabs.count < count - 1 {
            if line[i] == 0x09 { tabs.append(i) }
            i += 1
        }
        guard tabs.count == count - 1 else {
            throw InputError(file: reader.name, line: reader.lineNumber,
                             "expected \(count) tab-separated references (--num-refs), found \(tabs.count + 1)")
        }
        var start = 0
        for t in tabs + [line.count] {
            body(UnsafeBufferPointer(rebasing: line[start..<t]))
            start = t + 1
        }
    }

    /// `line` without trailing Python whitespace (Python's `str.rstrip()`).
    private static func rstripped(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = line.baseAddress, !line.isEmpty else { return line }
        return UnsafeBufferPointer(rebasing: line[pythonStripRange(base, line.count, leading: false)])
    }

    /// Counts the rest of each file to name both line counts in the error.
    private static func lineCountError(_ hyp: LineReader, _ refs: [LineReader]) throws -> InputError {
        func total(_ r: LineReader) throws -> Int {
            while try r.withNextLine({ _ in true }) != nil {}
            return r.lineNumber
        }
        let hypLines = try total(hyp)
        for r in refs {
            let refLines = try total(r)
            if refLines != hypLines {
                return InputError(file: hyp.name, "has \(hypLines) lines but \(r.name) has \(refLines) lines: files must be line-aligned")
            }
        }
        return InputError(file: hyp.name, "line counts differ from the references")
    }
}
