// A C interface to SentencePiece (Kudo & Richardson, 2018, https://aclanthology.org/D18-2012),
// the C++ library of Debian's libsentencepiece-dev, for Swift (which cannot import its C++
// API directly): loading, encoding, decoding and training of `.model` files.
#ifndef MIXER_CSENTENCEPIECE_H
#define MIXER_CSENTENCEPIECE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A loaded model (a SentencePieceProcessor).
typedef struct csp_model csp_model;

/// Loads a serialized ModelProto (the bytes of a `.model` file). On failure returns NULL and sets
/// *error to a message the caller frees with csp_free_string.
csp_model *csp_load(const char *data, size_t size, char **error);

/// Frees a model (NULL is ignored).
void csp_free(csp_model *model);

/// Frees a string or buffer returned by this interface.
void csp_free_string(char *s);

/// The number of pieces (ids 0 ..< count).
int csp_piece_count(const csp_model *model);

/// The piece of `id` (UTF-8, not NUL-terminated; valid while the model lives), its length in *len.
const char *csp_id_to_piece(const csp_model *model, int id, size_t *len);

/// The id of `piece`, or the unknown id when it is not a piece.
int csp_piece_to_id(const csp_model *model, const char *piece, size_t len);

/// 1 when `id` is the unknown piece, a control piece (<s>, </s>, <pad>) or a byte piece.
int csp_is_unknown(const csp_model *model, int id);
int csp_is_control(const csp_model *model, int id);
int csp_is_byte(const csp_model *model, int id);

/// Encodes UTF-8 `text` to ids: writes at most `capacity` into `out` and returns how many there
/// are (call again with more room when that is larger than capacity), or -1 and sets *error.
long csp_encode(const csp_model *model, const char *text, size_t len, int *out, size_t capacity, char **error);

/// Decodes ids to UTF-8 text (pieces joined, U+2581 as a space, byte pieces as their bytes):
/// returns a buffer the caller frees with csp_free_string, its length in *len; NULL on error.
char *csp_decode(const csp_model *model, const int *ids, size_t count, size_t *len, char **error);

/// The next training sentence: set *line and *len and return 1, or return 0 at the end.
typedef int (*csp_next_sentence)(void *context, const char **line, size_t *len);

/// Trains a model with SentencePiece's trainer on the sentences `next` gives, with `args` as
/// spm_train's flags (e.g. "--model_type=bpe --vocab_size=8000"; no --input, no --model_prefix).
/// Returns the serialized ModelProto (free it with csp_free_string), its size in *size; on
/// failure NULL and *error.
char *csp_train(const char *args, csp_next_sentence next, void *context, size_t *size, char **error);

#ifdef __cplusplus
}
#endif

#endif
