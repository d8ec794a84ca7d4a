// CICU — a small C shim over ICU4C.
//
// ICU's C API renames every symbol with a version suffix through macros (ubrk_open becomes
// ubrk_open_72), which Swift's C importer cannot follow. Each function here wraps one ICU
// call under a stable name. Strings cross the boundary as UTF-8 (const char*, byte length)
// or UTF-16 (uint16_t*, code-unit length). Errors come back as ICU's UErrorCode value in
// *status (0 = success, > 0 = failure, < 0 = warning); cicu_error_name() names them.
#ifndef MIXER_CICU_H
#define MIXER_CICU_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The ICU version string, for example "72.1".
const char *cicu_version(void);

/// A readable name for an ICU error code ("U_BUFFER_OVERFLOW_ERROR").
const char *cicu_error_name(int32_t status);

// MARK: - UTF-8 validation

/// Returns the byte offset of the first ill-formed UTF-8 sequence in bytes[0..<length], or -1
/// when all of it is well-formed (surrogates and overlong forms are ill-formed).
int64_t cicu_utf8_first_invalid(const char *bytes, int64_t length);

// MARK: - Normalization (UTF-16)

/// Normalization forms: 0 = NFC, 1 = NFKC, 2 = NFKC_Casefold, 3 = NFD, 4 = NFKD.
/// Returns a shared, immutable normalizer owned by ICU (never freed), or NULL.
const void *cicu_normalizer(int32_t form, int32_t *status);

/// Normalizes src into dst; returns the needed length in UTF-16 units (call again with a
/// larger buffer on U_BUFFER_OVERFLOW_ERROR).
int32_t cicu_normalize(const void *normalizer, const uint16_t *src, int32_t srcLength,
                       uint16_t *dst, int32_t dstCapacity, int32_t *status);

/// Length of the prefix of src that is already normalized ("quick check yes").
int32_t cicu_normalized_prefix(const void *normalizer, const uint16_t *src, int32_t srcLength,
                               int32_t *status);

/// Full Unicode default case folding (u_strFoldCase with U_FOLD_CASE_DEFAULT); returns the
/// needed length. Not locale-sensitive: Turkish dotted capital I folds to "i̇" (i + U+0307).
int32_t cicu_fold_case(const uint16_t *src, int32_t srcLength, uint16_t *dst,
                       int32_t dstCapacity, int32_t *status);

// MARK: - Word segmentation (UTF-8, UBRK_WORD)

/// Opens a word break iterator for a locale ("" or NULL = root). Free with cicu_word_break_close.
void *cicu_word_break_open(const char *locale, int32_t *status);
void cicu_word_break_close(void *iterator);

/// Points the iterator at UTF-8 text (not copied: the bytes must outlive the iteration).
void cicu_word_break_set_text(void *iterator, const char *utf8, int64_t length,
                              int32_t *status);

/// The next boundary as a UTF-8 byte offset, or -1 at the end.
int32_t cicu_word_break_next(void *iterator);

/// The rule status of the segment that ends at the last boundary returned: 0 = none (spaces,
/// punctuation), 100..<200 number, 200..<300 letter, 300..<400 kana, 400..<500 ideograph.
int32_t cicu_word_break_rule_status(void *iterator);

// MARK: - Sentence segmentation (UTF-8, UBRK_SENTENCE)

/// Opens a sentence break iterator (Unicode UAX #29 sentence boundaries, with the locale's
/// tailoring: "en@ss=standard" suppresses breaks after abbreviations such as "Mr." and "e.g.").
/// It is driven by cicu_word_break_set_text, cicu_word_break_next and freed by
/// cicu_word_break_close, as a word break iterator.
void *cicu_sentence_break_open(const char *locale, int32_t *status);

#ifdef __cplusplus
}
#endif
#endif
