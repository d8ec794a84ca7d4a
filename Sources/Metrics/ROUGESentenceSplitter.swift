import CICU

/// The sentences of a summary for `rougeLsum` when ``ROUGE/splitSentences`` is on: ICU's
/// sentence `BreakIterator` (Unicode UAX #29 sentence boundaries, https://unicode.org/reports/tr29/)
/// with the locale `en@ss=standard`, whose suppression list keeps some abbreviations ("Mr.")
/// inside their sentence (not "Dr.", "U.S." or initials: tested). mixer's counterpart of rouge-score's `split_summaries=True`,
/// which runs nltk's punkt (`nltk.sent_tokenize`).
///
/// Where the two differ (docs/scoring.md lists the tested examples): ICU breaks after every
/// newline (so a `--rouge-newline` marker still splits), where punkt ignores newlines; ICU
/// breaks after an abbreviation outside its fixed list when a capitalised word follows
/// ("The U.S. Army" is split after "U.S."), where punkt decides from its learnt abbreviations
/// and capitalisation statistics. Neither splits inside "3.5" or before a lowercase word
/// after a period ("e.g. the").
///
/// Sentences that are only whitespace are dropped (punkt never returns them), so an empty or
/// blank summary has no sentences.
/// - Note: not thread-safe (it owns an ICU iterator); use one per thread.
public final class ROUGESentenceSplitter {
    private let iterator: UnsafeMutableRawPointer

    /// Opens the iterator (`en@ss=standard`, or the root locale if ICU lacks the suppressions).
    /// ICU's break rules are compiled into its data, which every build links.
    public init() {
        var status: Int32 = 0
        if let it = cicu_sentence_break_open("en@ss=standard", &status), status <= 0 {
            iterator = it
            return
        }
        status = 0
        guard let it = cicu_sentence_break_open("", &status), status <= 0 else {
            fatalError("ICU cannot open a sentence break iterator: \(String(cString: cicu_error_name(status)))")
        }
        iterator = it
    }

    deinit { cicu_word_break_close(iterator) }

    /// Calls `body` with the byte range of each sentence of the UTF-8 `text`, in order (each
    /// range ends after the sentence's trailing spaces, as ICU's segments do), skipping
    /// whitespace-only ones.
    /// - Precondition: `text` is well-formed UTF-8 of fewer than 2³¹ bytes.
    /// - Complexity: O(n) in `text.count`.
    public func forEachSentence(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        var status: Int32 = 0
        base.withMemoryRebound(to: CChar.self, capacity: text.count) {
            cicu_word_break_set_text(iterator, $0, Int64(text.count), &status)
        }
        precondition(status <= 0, "ICU rejected the text: \(String(cString: cicu_error_name(status)))")
        var start = 0
        while true {
            let end = Int(cicu_word_break_next(iterator))
            if end < 0 { break }
            if text[start..<end].contains(where: { !Self.isSpace($0) }) { body(start..<end) }
            start = end
        }
        // The iterator keeps a pointer into `text`: point it at nothing before returning.
        cicu_word_break_set_text(iterator, "", 0, &status)
    }

    /// The sentences of `text` as strings (for tests and the library).
    public func sentences(_ text: String) -> [String] {
        var t = text
        var out: [String] = []
        t.withUTF8 { p in forEachSentence(p) { out.append(String(decoding: UnsafeBufferPointer(rebasing: p[$0]), as: UTF8.self)) } }
        return out
    }

    /// Python's `str.isspace` on ASCII bytes (a non-ASCII space such as U+00A0 alone still
    /// makes a sentence, which the tokenizer then reads as no tokens).
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F) }
}
