// The C interface of include/csentencepiece.h over SentencePiece's C++ API. Every C++
// exception and error status becomes a NULL / -1 return and a message; nothing throws across the
// C boundary.
#include "csentencepiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

// Exported by libsentencepiece (0.1.97) though no installed header declares it: the level below
// which the library's LOG() lines are dropped. The trainer prints its whole command line at
// INFO before it reads --minloglevel, so it is set here first (2: errors only).
namespace sentencepiece {
namespace logging {
void SetMinLogLevel(int v);
}
}  // namespace sentencepiece

struct csp_model {
    sentencepiece::SentencePieceProcessor processor;
};

static char *copy_string(const std::string &s) {
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (p) {
        std::memcpy(p, s.data(), s.size());
        p[s.size()] = 0;
    }
    return p;
}

static void set_error(char **error, const std::string &message) {
    if (error) *error = copy_string(message);
}

extern "C" csp_model *csp_load(const char *data, size_t size, char **error) {
    try {
        auto *m = new csp_model();
        auto status = m->processor.LoadFromSerializedProto(std::string(data, size));
        if (!status.ok()) {
            set_error(error, status.ToString());
            delete m;
            return nullptr;
        }
        return m;
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return nullptr;
    }
}

extern "C" void csp_free(csp_model *model) { delete model; }

extern "C" void csp_free_string(char *s) { std::free(s); }

extern "C" int csp_piece_count(const csp_model *model) { return model->processor.GetPieceSize(); }

extern "C" const char *csp_id_to_piece(const csp_model *model, int id, size_t *len) {
    const std::string &piece = model->processor.IdToPiece(id);
    *len = piece.size();
    return piece.data();
}

extern "C" int csp_piece_to_id(const csp_model *model, const char *piece, size_t len) {
    return model->processor.PieceToId(std::string(piece, len));
}

extern "C" int csp_is_unknown(const csp_model *model, int id) { return model->processor.IsUnknown(id) ? 1 : 0; }
extern "C" int csp_is_control(const csp_model *model, int id) { return model->processor.IsControl(id) ? 1 : 0; }
extern "C" int csp_is_byte(const csp_model *model, int id) { return model->processor.IsByte(id) ? 1 : 0; }

extern "C" long csp_encode(const csp_model *model, const char *text, size_t len, int *out, size_t capacity,
                           char **error) {
    try {
        std::vector<int> ids;
        auto status = model->processor.Encode(std::string(text, len), &ids);
        if (!status.ok()) {
            set_error(error, status.ToString());
            return -1;
        }
        for (size_t i = 0; i < ids.size() && i < capacity; i++) out[i] = ids[i];
        return static_cast<long>(ids.size());
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return -1;
    }
}

extern "C" char *csp_decode(const csp_model *model, const int *ids, size_t count, size_t *len, char **error) {
    try {
        std::vector<int> v(ids, ids + count);
        std::string text;
        auto status = model->processor.Decode(v, &text);
        if (!status.ok()) {
            set_error(error, status.ToString());
            return nullptr;
        }
        *len = text.size();
        return copy_string(text);
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return nullptr;
    }
}

namespace {
// Feeds the caller's sentences to the trainer.
class CallbackIterator : public sentencepiece::SentenceIterator {
  public:
    CallbackIterator(csp_next_sentence next, void *context) : next_(next), context_(context) { Next(); }
    bool done() const override { return done_; }
    void Next() override {
        const char *line = nullptr;
        size_t len = 0;
        if (next_(context_, &line, &len)) {
            value_.assign(line, len);
        } else {
            done_ = true;
        }
    }
    const std::string &value() const override { return value_; }
    sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

  private:
    csp_next_sentence next_;
    void *context_;
    std::string value_;
    bool done_ = false;
};
}  // namespace

extern "C" char *csp_train(const char *args, csp_next_sentence next, void *context, size_t *size, char **error) {
    try {
        sentencepiece::logging::SetMinLogLevel(2);
        CallbackIterator it(next, context);
        std::string proto;
        auto status = sentencepiece::SentencePieceTrainer::Train(std::string(args), &it, &proto);
        if (!status.ok()) {
            set_error(error, status.ToString());
            return nullptr;
        }
        char *p = static_cast<char *>(std::malloc(proto.size() ? proto.size() : 1));
        if (!p) {
            set_error(error, "out of memory");
            return nullptr;
        }
        std::memcpy(p, proto.data(), proto.size());
        *size = proto.size();
        return p;
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return nullptr;
    }
}
