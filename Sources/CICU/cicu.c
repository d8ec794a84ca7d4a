#include "cicu.h"

#include <unicode/ubrk.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/uversion.h>
#include <unicode/utypes.h>
#include <stdlib.h>

const char *cicu_version(void) {
    static char buffer[U_MAX_VERSION_STRING_LENGTH];
    UVersionInfo info;
    u_getVersion(info);
    u_versionToString(info, buffer);
    return buffer;
}

const char *cicu_error_name(int32_t status) { return u_errorName((UErrorCode)status); }

int64_t cicu_utf8_first_invalid(const char *bytes, int64_t length) {
    const unsigned char *s = (const unsigned char *)bytes;
    int64_t i = 0;
    while (i < length) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        int need; uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
        else return i;
        if (i + need >= length) return i; /* truncated sequence */
        for (int k = 1; k <= need; k++) {
            unsigned char d = s[i + k];
            if ((d & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return i;
        i += need + 1;
    }
    return -1;
}

const void *cicu_normalizer(int32_t form, int32_t *status) {
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *n = NULL;
    switch (form) {
    case 0: n = unorm2_getNFCInstance(&err); break;
    case 1: n = unorm2_getNFKCInstance(&err); break;
    case 2: n = unorm2_getNFKCCasefoldInstance(&err); break;
    case 3: n = unorm2_getNFDInstance(&err); break;
    case 4: n = unorm2_getNFKDInstance(&err); break;
    default: err = U_ILLEGAL_ARGUMENT_ERROR;
    }
    *status = err;
    return U_SUCCESS(err) ? n : NULL;
}

int32_t cicu_normalize(const void *normalizer, const uint16_t *src, int32_t srcLength,
                       uint16_t *dst, int32_t dstCapacity, int32_t *status) {
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = unorm2_normalize((const UNormalizer2 *)normalizer, (const UChar *)src, srcLength,
                                 (UChar *)dst, dstCapacity, &err);
    *status = err;
    return n;
}

int32_t cicu_normalized_prefix(const void *normalizer, const uint16_t *src, int32_t srcLength,
                               int32_t *status) {
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = unorm2_spanQuickCheckYes((const UNormalizer2 *)normalizer, (const UChar *)src,
                                         srcLength, &err);
    *status = err;
    return n;
}

int32_t cicu_fold_case(const uint16_t *src, int32_t srcLength, uint16_t *dst,
                       int32_t dstCapacity, int32_t *status) {
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = u_strFoldCase((UChar *)dst, dstCapacity, (const UChar *)src, srcLength,
                              U_FOLD_CASE_DEFAULT, &err);
    *status = err;
    return n;
}

typedef struct {
    UBreakIterator *bi;
    UText *text;
} cicu_word_break;

void *cicu_word_break_open(const char *locale, int32_t *status) {
    UErrorCode err = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, locale ? locale : "", NULL, 0, &err);
    *status = err;
    if (U_FAILURE(err)) return NULL;
    cicu_word_break *wb = (cicu_word_break *)calloc(1, sizeof(cicu_word_break));
    if (!wb) { ubrk_close(bi); *status = U_MEMORY_ALLOCATION_ERROR; return NULL; }
    wb->bi = bi;
    return wb;
}

void *cicu_sentence_break_open(const char *locale, int32_t *status) {
    UErrorCode err = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_SENTENCE, locale ? locale : "", NULL, 0, &err);
    *status = err;
    if (U_FAILURE(err)) return NULL;
    cicu_word_break *wb = (cicu_word_break *)calloc(1, sizeof(cicu_word_break));
    if (!wb) { ubrk_close(bi); *status = U_MEMORY_ALLOCATION_ERROR; return NULL; }
    wb->bi = bi;
    return wb;
}

void cicu_word_break_close(void *iterator) {
    cicu_word_break *wb = (cicu_word_break *)iterator;
    if (!wb) return;
    if (wb->text) utext_close(wb->text);
    ubrk_close(wb->bi);
    free(wb);
}

void cicu_word_break_set_text(void *iterator, const char *utf8, int64_t length,
                              int32_t *status) {
    cicu_word_break *wb = (cicu_word_break *)iterator;
    UErrorCode err = U_ZERO_ERROR;
    wb->text = utext_openUTF8(wb->text, utf8, length, &err);
    if (U_SUCCESS(err)) ubrk_setUText(wb->bi, wb->text, &err);
    *status = err;
}

int32_t cicu_word_break_next(void *iterator) {
    cicu_word_break *wb = (cicu_word_break *)iterator;
    int32_t b = ubrk_next(wb->bi);
    return b == UBRK_DONE ? -1 : b;
}

int32_t cicu_word_break_rule_status(void *iterator) {
    return ubrk_getRuleStatus(((cicu_word_break *)iterator)->bi);
}
