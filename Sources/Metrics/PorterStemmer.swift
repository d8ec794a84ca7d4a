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
    private static let poolStrings: [String: String] = [
        "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
        "news": "news", "innings": "inning", "inning": "inning", "outings": "outing",
        "outing": "outing", "cannings": "canning", "canning": "canning", "howe": "howe",
        "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
    ]
    private static let pool: [[UInt8]: [UInt8]] =
        Dictionary(uniqueKeysWithValues: poolStrings.map { (Array($0.key.utf8), Array($0.value.utf8)) })

    /// The stem of `word` (lowercase ASCII letters and digits).
    public static func stem(_ word: String) -> String {
        String(decoding: stem(Array(word.utf8)), as: UTF8.self)
    }

    /// The stem of `word`, bytes in and out.
    static func stem(_ word: [UInt8]) -> [UInt8] {
        if word.count <= 8, let p = pool[word] { return p }
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
    private static func ends(_ w: [UInt8], _ s: [UInt8]) -> Bool {
        guard w.count >= s.count else { return false }
        var i = w.count - s.count
        for c in s { if w[i] != c { return false }; i += 1 }
        return true
    }
    private static func ends(_ w: [UInt8], _ s: StaticString) -> Bool {
        ends(w, Array(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)))
    }
    private static func stemOf(_ w: [UInt8], _ s: StaticString) -> ArraySlice<UInt8> { w[0..<(w.count - s.utf8CodeUnitCount)] }
    private static func bytes(_ s: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// A rule's condition on the stem (what remains once the suffix is removed); `word` is the
    /// whole word the rule list was applied to. The cases without a name in NLTK are the
    /// lambdas of its rule lists.
    private enum Condition {
        case none, positiveMeasure, measureGT1
        case notLSZ            // step 1b, "*d": the doubled letter is not l, s or z
        case measure1CVC       // step 1b: m = 1 and *o
        case consonantBeforeY  // step 1c: a consonant that is not the first letter before y
        case logi              // step 2: m > 0 of the word without its last 3 letters
        case ionAfterST        // step 4: m > 1 and the stem ends in s or t
        case llMeasure         // step 5b: m > 1 of the word without its last letter
    }

    private static func holds(_ c: Condition, _ stem: ArraySlice<UInt8>, _ word: [UInt8]) -> Bool {
        switch c {
        case .none: return true
        case .positiveMeasure: return measure(stem) > 0
        case .measureGT1: return measure(stem) > 1
        case .notLSZ:
            let last = word.last ?? 0
            return last != 0x6C && last != 0x73 && last != 0x7A
        case .measure1CVC: return measure(stem) == 1 && endsCVC(stem)
        case .consonantBeforeY: return stem.count > 1 && isConsonant(stem, stem.count - 1)
        case .logi: return measure(word[0..<(word.count - 3)]) > 0
        case .ionAfterST: return measure(stem) > 1 && (stem.last == 0x73 || stem.last == 0x74)
        case .llMeasure: return measure(word[0..<(word.count - 1)]) > 1
        }
    }

    /// One rule: suffix, replacement, condition; the suffix "*d" (a doubled consonant) is
    /// replaced by one of its letters.
    private struct Rule {
        let suffix: [UInt8], replacement: [UInt8], condition: Condition, doubled: Bool
        init(_ suffix: StaticString, _ replacement: StaticString, _ condition: Condition = .none) {
            self.suffix = PorterStemmer.bytes(suffix)
            self.replacement = PorterStemmer.bytes(replacement)
            self.condition = condition
            doubled = self.suffix == Array("*d".utf8)
        }
    }

    /// NLTK's `_apply_rule_list`: the first rule whose suffix matches decides.
    private static func applyRules(_ w: [UInt8], _ rules: [Rule]) -> [UInt8] {
        for r in rules {
            if r.doubled {
                if endsDoubleConsonant(w[...]) {
                    let stem = w[0..<(w.count - 2)]
                    return holds(r.condition, stem, w) ? Array(stem) + [w[w.count - 1]] : w
                }
                continue
            }
            if ends(w, r.suffix) {
                let stem = w[0..<(w.count - r.suffix.count)]
                return holds(r.condition, stem, w) ? Array(stem) + r.replacement : w
            }
        }
        return w
    }

    private static let step1aRules = [Rule("sses", "ss"), Rule("ies", "i"), Rule("ss", "ss"), Rule("s", "")]
    private static let step1bRules = [
        Rule("at", "ate"), Rule("bl", "ble"), Rule("iz", "ize"), Rule("*d", "", .notLSZ), Rule("", "e", .measure1CVC),
    ]
    private static let step1cRules = [Rule("y", "i", .consonantBeforeY)]
    private static let step2Rules: [Rule] = [
        Rule("ational", "ate", .positiveMeasure), Rule("tional", "tion", .positiveMeasure),
        Rule("enci", "ence", .positiveMeasure), Rule("anci", "ance", .positiveMeasure),
        Rule("izer", "ize", .positiveMeasure), Rule("bli", "ble", .positiveMeasure),
        Rule("alli", "al", .positiveMeasure), Rule("entli", "ent", .positiveMeasure),
        Rule("eli", "e", .positiveMeasure), Rule("ousli", "ous", .positiveMeasure),
        Rule("ization", "ize", .positiveMeasure), Rule("ation", "ate", .positiveMeasure),
        Rule("ator", "ate", .positiveMeasure), Rule("alism", "al", .positiveMeasure),
        Rule("iveness", "ive", .positiveMeasure), Rule("fulness", "ful", .positiveMeasure),
        Rule("ousness", "ous", .positiveMeasure), Rule("aliti", "al", .positiveMeasure),
        Rule("iviti", "ive", .positiveMeasure), Rule("biliti", "ble", .positiveMeasure),
        Rule("fulli", "ful", .positiveMeasure), Rule("logi", "log", .logi),
    ]
    private static let step3Rules: [Rule] = [
        Rule("icate", "ic", .positiveMeasure), Rule("ative", "", .positiveMeasure),
        Rule("alize", "al", .positiveMeasure), Rule("iciti", "ic", .positiveMeasure),
        Rule("ical", "ic", .positiveMeasure), Rule("ful", "", .positiveMeasure), Rule("ness", "", .positiveMeasure),
    ]
    private static let step4Rules: [Rule] = [
        Rule("al", "", .measureGT1), Rule("ance", "", .measureGT1), Rule("ence", "", .measureGT1),
        Rule("er", "", .measureGT1), Rule("ic", "", .measureGT1), Rule("able", "", .measureGT1),
        Rule("ible", "", .measureGT1), Rule("ant", "", .measureGT1), Rule("ement", "", .measureGT1),
        Rule("ment", "", .measureGT1), Rule("ent", "", .measureGT1), Rule("ion", "", .ionAfterST),
        Rule("ou", "", .measureGT1), Rule("ism", "", .measureGT1), Rule("ate", "", .measureGT1),
        Rule("iti", "", .measureGT1), Rule("ous", "", .measureGT1), Rule("ive", "", .measureGT1),
        Rule("ize", "", .measureGT1),
    ]
    private static let step5bRules = [Rule("ll", "l", .llMeasure)]

    // MARK: steps

    private static func step1a(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "ies") && w.count == 4 { return Array(stemOf(w, "ies")) + bytes("ie") }
        return applyRules(w, step1aRules)
    }

    private static func step1b(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "ied") {
            return Array(stemOf(w, "ied")) + (w.count == 4 ? bytes("ie") : bytes("i"))
        }
        if ends(w, "eed") {
            let stem = stemOf(w, "eed")
            return measure(stem) > 0 ? Array(stem) + bytes("ee") : w
        }
        var inter: [UInt8]? = nil
        if ends(w, "ed"), containsVowel(stemOf(w, "ed")) { inter = Array(stemOf(w, "ed")) }
        else if ends(w, "ing"), containsVowel(stemOf(w, "ing")) { inter = Array(stemOf(w, "ing")) }
        guard let st = inter else { return w }
        return applyRules(st, step1bRules)
    }

    private static func step1c(_ w: [UInt8]) -> [UInt8] { applyRules(w, step1cRules) }

    private static func step2(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "alli") && measure(stemOf(w, "alli")) > 0 {
            return step2(Array(stemOf(w, "alli")) + bytes("al"))
        }
        return applyRules(w, step2Rules)
    }

    private static func step3(_ w: [UInt8]) -> [UInt8] { applyRules(w, step3Rules) }

    private static func step4(_ w: [UInt8]) -> [UInt8] { applyRules(w, step4Rules) }

    private static func step5a(_ w: [UInt8]) -> [UInt8] {
        if ends(w, "e") {
            let stem = stemOf(w, "e")
            let m = measure(stem)
            if m > 1 { return Array(stem) }
            if m == 1 && !endsCVC(stem) { return Array(stem) }
        }
        return w
    }

    private static func step5b(_ w: [UInt8]) -> [UInt8] { applyRules(w, step5bRules) }
}
