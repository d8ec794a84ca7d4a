// The Porter stemmer (Porter, 1980, https://tartarus.org/martin/PorterStemmer/) exactly as
// NLTK 3.10's `PorterStemmer()` runs it by default (mode NLTK_EXTENSIONS), which is what
// rouge-score 0.1.2 calls. Words are lowercase ASCII byte strings.

/// NLTK's Porter stemmer (NLTK_EXTENSIONS mode) on lowercase ASCII words.
///
/// NLTK's extensions over the 1980 paper: a pool of irregular forms (`dying` → `die`,
/// `skies` → `sky`), `ies`/`ied` → `ie` in four-letter words, `*y` → `*i` only after a
/// consonant that is not the first letter (`fly` → `fli`), `alli`, `fulli` and `logi` rules,
/// `bli` → `ble`, and a two-letter vowel-consonant word counting as "cvc".
/// - Complexity: O(length²) in the worst case (measures are recomputed per rule), tiny for words.
public enum PorterStemmer {
    private static let pool: [String: String] = [
        "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
        "news": "news", "innings": "inning", "inning": "inning", "outings": "outing",
        "outing": "outing", "cannings": "canning", "canning": "canning", "howe": "howe",
        "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
    ]

    /// The stem of `word` (lowercase ASCII letters and digits).
    public static func stem(_ word: String) -> String {
        String(decoding: stem(Array(word.utf8)), as: UTF8.self)
    }

    /// The stem of `word`, bytes in and out.
    static func stem(_ word: [UInt8]) -> [UInt8] {
        if word.count <= 8, let p = pool[String(decoding: word, as: UTF8.self)] { return Array(p.utf8) }
        if word.count <= 2 { return word }
        var w = word
        w = step1a(w); w = step1b(w); w = step1c(w); w = step2(w); w = step3(w); w = step4(w)
        w = step5a(w); w = step5b(w)
        return w
    }

    // MARK: helpers

    @inline(__always) private static func isVowel(_ c: UInt8) -> Bool {
        c == 0x61 || c == 0x65 || c == 0x69 || c == 0x6F || c == 0x75
    }
    /// NLTK's `_consonant_flags`, one at a time: y is a consonant at the start or after a vowel.
    @inline(__always) private static func nextFlag(_ c: UInt8, _ i: Int, _ prev: Bool) -> Bool {
        if isVowel(c) { return false }
        if c == 0x79 { return i == 0 ? true : !prev }
        return true
    }
    private static func isConsonant(_ w: ArraySlice<UInt8>, _ i: Int) -> Bool {
        var f = false
        var k = 0
        for c in w { f = nextFlag(c, k, f); if k == i { return f }; k += 1 }
        return f
    }
    /// The number of vowel→consonant transitions ("VC" pairs).
    private static func measure(_ w: ArraySlice<UInt8>) -> Int {
        var m = 0, k = 0
        var prev = false
        for c in w {
            let f = nextFlag(c, k, prev)
            if k > 0 && !prev && f { m += 1 }
            prev = f; k += 1
        }
        return m
    }
    private static func containsVowel(_ w: ArraySlice<UInt8>) -> Bool {
        var prev = false, k = 0
        for c in w { prev = nextFlag(c, k, prev); if !prev { return true }; k += 1 }
        return false
    }
    private static func endsDoubleConsonant(_ w: ArraySlice<UInt8>) -> Bool {
        w.count >= 2 && w[w.endIndex - 1] == w[w.endIndex - 2] && isConsonant(w, w.count - 1)
    }
    private static func endsCVC(_ w: ArraySlice<UInt8>) -> Bool {
        let n = w.count
        if n >= 3 {
            let last = w[w.endIndex - 1]
            if isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1)
                && last != 0x77 && last != 0x78 && last != 0x79 { return true }
        }
        if n == 2 { return !isConsonant(w, 0) && isConsonant(w, 1) }
        return false
    }
    private static func ends(_ w: [UInt8], _ s: String) -> Bool {
        let u = s.utf8
        guard w.count >= u.count else { return false }
        var i = w.count - u.count
        for c in u { if w[i] != c { return false }; i += 1 }
        return true
    }
    private static func stemOf(_ w: [UInt8], _ s: String) -> ArraySlice<UInt8> { w[0..<(w.count - s.utf8.count)] }

    private enum Condition { case none, positiveMeasure, measureGT1, custom((ArraySlice<UInt8>) -> Bool) }

    private static func holds(_ c: Condition, _ stem: ArraySlice<UInt8>) -> Bool {
        switch c {
        case .none: return true
        case .positiveMeasure: return measure(stem) > 0
        case .measureGT1: return measure(stem) > 1
        case .custom(let f): return f(stem)
        }
    }

    /// NLTK's `_apply_rule_list`: the first rule whose suffix matches decides.
    private static func applyRules(_ w: [UInt8], _ rules: [(String, String, Condition)]) -> [UInt8] {
        for (suffix, repl, cond) in rules {
            if suffix == "*d" {
                if endsDoubleConsonant(w[...]) {
                    let stem = w[0..<(w.count - 2)]
                    return holds(cond, stem) ? Array(stem) + Array(repl.utf8) : w
                }
                continue
            }
            if ends(w, suffix) {
                let stem = stemOf(w, suffix)
                return holds(cond, stem) ? Array(stem) + Array(repl.utf8) : w
            }
        }
        return w
    }

    // MARK: steps

    private static func step1a(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "ies") && w.count == 4 { return Array(stemOf(w, "ies")) + Array("ie".utf8) }
        return applyRules(w, [("sses", "ss", .none), ("ies", "i", .none), ("ss", "ss", .none), ("s", "", .none)])
    }

    private static func step1b(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "ied") {
            return Array(stemOf(w, "ied")) + Array((w.count == 4 ? "ie" : "i").utf8)
        }
        if ends(w, "eed") {
            let stem = stemOf(w, "eed")
            return measure(stem) > 0 ? Array(stem) + Array("ee".utf8) : w
        }
        var inter: [UInt8]? = nil
        for suffix in ["ed", "ing"] where ends(w, suffix) {
            let s = stemOf(w, suffix)
            if containsVowel(s) { inter = Array(s); break }
        }
        guard let st = inter else { return w }
        let last = st.last ?? 0
        return applyRules(st, [
            ("at", "ate", .none), ("bl", "ble", .none), ("iz", "ize", .none),
            ("*d", String(UnicodeScalar(last)), .custom { _ in last != 0x6C && last != 0x73 && last != 0x7A }),
            ("", "e", .custom { s in measure(s) == 1 && endsCVC(s) }),
        ])
    }

    private static func step1c(_ w: [UInt8]) -> [UInt8] {
        applyRules(w, [("y", "i", .custom { s in s.count > 1 && isConsonant(s, s.count - 1) })])
    }

    private static func step2(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "alli") && measure(stemOf(w, "alli")) > 0 {
            return step2(Array(stemOf(w, "alli")) + Array("al".utf8))
        }
        let p = Condition.positiveMeasure
        let rules: [(String, String, Condition)] = [
            ("ational", "ate", p), ("tional", "tion", p), ("enci", "ence", p), ("anci", "ance", p),
            ("izer", "ize", p), ("bli", "ble", p), ("alli", "al", p), ("entli", "ent", p),
            ("eli", "e", p), ("ousli", "ous", p), ("ization", "ize", p), ("ation", "ate", p),
            ("ator", "ate", p), ("alism", "al", p), ("iveness", "ive", p), ("fulness", "ful", p),
            ("ousness", "ous", p), ("aliti", "al", p), ("iviti", "ive", p), ("biliti", "ble", p),
            ("fulli", "ful", p), ("logi", "log", .custom { _ in measure(w[0..<(w.count - 3)]) > 0 }),
        ]
        return applyRules(w, rules)
    }

    private static func step3(_ w: [UInt8]) -> [UInt8] {
        let p = Condition.positiveMeasure
        return applyRules(w, [("icate", "ic", p), ("ative", "", p), ("alize", "al", p), ("iciti", "ic", p),
                              ("ical", "ic", p), ("ful", "", p), ("ness", "", p)])
    }

    private static func step4(_ w: [UInt8]) -> [UInt8] {
        let g = Condition.measureGT1
        return applyRules(w, [
            ("al", "", g), ("ance", "", g), ("ence", "", g), ("er", "", g), ("ic", "", g), ("able", "", g),
            ("ible", "", g), ("ant", "", g), ("ement", "", g), ("ment", "", g), ("ent", "", g),
            ("ion", "", .custom { s in measure(s) > 1 && (s.last == 0x73 || s.last == 0x74) }),
            ("ou", "", g), ("ism", "", g), ("ate", "", g), ("iti", "", g), ("ous", "", g), ("ive", "", g),
            ("ize", "", g),
        ])
    }

    private static func step5a(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "e") {
            let stem = stemOf(w, "e")
            let m = measure(stem)
            if m > 1 { return Array(stem) }
            if m == 1 && !endsCVC(stem) { return Array(stem) }
        }
        return w
    }

    private static func step5b(_ w: [UInt8]) -> [UInt8] {
        applyRules(w, [("ll", "l", .custom { _ in measure(w[0..<(w.count - 1)]) > 1 })])
    }
}
