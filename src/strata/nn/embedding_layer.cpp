// BertEmbeddings forward/backward. Saved: the embedding sum (LayerNorm input) and the LayerNorm statistics.
#include "strata/nn/embedding_layer.h"

#include "strata/core/error.h"

namespace strata::nn {

namespace {

enum Tensor : int { kWord, kPos, kType, kLnW, kLnB };

struct Saved {
  float* e;            // (B, T, C) word + type + position
  float *mean, *rstd;  // (B*T)
};

Saved carve_saved(Carver& c, std::size_t N, std::size_t C) {
  Saved s{};
  s.e = c.floats(N * C);
  s.mean = c.floats(N);
  s.rstd = c.floats(N);
  return s;
}

struct Work {
  float *a, *b;    // (B, T, C) temporaries
  float* pad_row;  // (C) the padding row's gradient before this backward
};

Work carve_work(Carver& c, std::size_t N, std::size_t C) {
  Work w{};
  w.a = c.floats(N * C);
  w.b = c.floats(N * C);
  w.pad_row = c.floats(C);
  return w;
}

}  // namespace

EmbeddingLayer::EmbeddingLayer(const EmbeddingConfig& cfg) : cfg_(cfg) {
  if (cfg.vocab <= 0 || cfg.hidden <= 0 || cfg.max_positions <= 0 || cfg.type_vocab < 0)
    bad_input("embeddings: vocab (", cfg.vocab, "), hidden (", cfg.hidden, ") and max_positions (", cfg.max_positions,
              ") must be positive and type_vocab (", cfg.type_vocab, ") non-negative");
  if (cfg.pad_token_id < -1 || cfg.pad_token_id >= cfg.vocab)
    bad_input("embeddings: pad_token_id ", cfg.pad_token_id, " is outside the vocabulary [0, ", cfg.vocab, ")");
  const std::int64_t C = cfg.hidden;
  std::size_t off = 0;
  add_param(specs_, off, "word_embeddings.weight", {cfg.vocab, C});
  add_param(specs_, off, "position_embeddings.weight", {cfg.max_positions, C});
  add_param(specs_, off, "token_type_embeddings.weight", {cfg.type_vocab, C});
  add_param(specs_, off, "LayerNorm.weight", {C});
  add_param(specs_, off, "LayerNorm.bias", {C});
  floats_ = off;
}

std::size_t EmbeddingLayer::saved_bytes(int B, int T) const {
  Carver c(nullptr);
  carve_saved(c, static_cast<std::size_t>(B) * T, cfg_.hidden);
  return c.bytes();
}

std::size_t EmbeddingLayer::workspace_bytes(int B, int T) const {
  Carver c(nullptr);
  carve_work(c, static_cast<std::size_t>(B) * T, cfg_.hidden);
  return c.bytes();
}

void EmbeddingLayer::check_tokens(const std::int32_t* ids, const std::int32_t* segs, int B, int T) const {
  if (T > cfg_.max_positions)
    bad_input("embeddings: sequence length ", T, " exceeds max_position_embeddings ", cfg_.max_positions);
  const std::size_t N = static_cast<std::size_t>(B) * T;
  for (std::size_t i = 0; i < N; ++i) {
    if (ids[i] < 0 || ids[i] >= cfg_.vocab)
      bad_input("embeddings: token id ", ids[i], " at sequence ", i / T, " position ", i % T,
                " is outside the vocabulary [0, ", cfg_.vocab, ")");
    if (segs && (segs[i] < 0 || segs[i] >= cfg_.type_vocab))
      bad_input("embeddings: token type id ", segs[i], " at sequence ", i / T, " position ", i % T, " is outside [0, ",
                cfg_.type_vocab, ")");
  }
}

void EmbeddingLayer::forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
                             void* workspace) const {
  backend::Backend& be = *ctx.be;
  const int B = in.B, T = in.T, C = cfg_.hidden, N = B * T;
  check_tokens(in.ids, in.segs, B, T);
  const float* wt[5];
  for (int i = 0; i < 5; ++i) wt[i] = params + specs_[i].offset;
  Carver cs(saved), cw(workspace);
  const Saved s = carve_saved(cs, N, C);
  const Work w = carve_work(cw, N, C);
  const float* wse = cfg_.type_vocab > 0 ? wt[kType] : nullptr;
  be.embedding_forward(s.e, in.ids, wse ? in.segs : nullptr, wt[kWord], wt[kPos], wse, B, T, C);
  be.layernorm_forward(w.a, s.mean, s.rstd, s.e, wt[kLnW], wt[kLnB], N, C, cfg_.layer_norm_eps);
  be.dropout_forward(out.x, w.a, static_cast<std::size_t>(N) * C, ctx.dropout_p(cfg_.dropout),
                     ctx.dropout_key(kSiteEmbeddings));
}

void EmbeddingLayer::backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved,
                              const float* dout, float* din, float* dparams, void* workspace) const {
  STRATA_CHECK(din == nullptr, "the embeddings have no float input to take a gradient");
  backend::Backend& be = *ctx.be;
  const int B = in.B, T = in.T, C = cfg_.hidden, N = B * T;
  const std::size_t NC = static_cast<std::size_t>(N) * C;
  float* dwt[5];
  for (int i = 0; i < 5; ++i) dwt[i] = dparams + specs_[i].offset;
  Carver cs(const_cast<void*>(saved)), cw(workspace);
  const Saved s = carve_saved(cs, N, C);
  const Work w = carve_work(cw, N, C);
  be.zero(w.a, Space::kDevice, NC * sizeof(float));
  be.dropout_backward(w.a, dout, NC, ctx.dropout_p(cfg_.dropout), ctx.dropout_key(kSiteEmbeddings));
  be.zero(w.b, Space::kDevice, NC * sizeof(float));
  be.layernorm_backward(w.b, dwt[kLnW], dwt[kLnB], w.a, s.e, params + specs_[kLnW].offset, s.mean, s.rstd, N, C);
  // nn.Embedding(padding_idx) never updates the padding row: keep what it held before this backward.
  float* pad = cfg_.pad_token_id >= 0 ? dwt[kWord] + static_cast<std::size_t>(cfg_.pad_token_id) * C : nullptr;
  const std::size_t row_bytes = static_cast<std::size_t>(C) * sizeof(float);
  if (pad) be.copy_async(w.pad_row, Space::kDevice, pad, Space::kDevice, row_bytes).wait();
  const bool typed = cfg_.type_vocab > 0;
  be.embedding_backward(dwt[kWord], dwt[kPos], typed ? dwt[kType] : nullptr, w.b, in.ids, typed ? in.segs : nullptr, B,
                        T, C);
  if (pad) be.copy_async(pad, Space::kDevice, w.pad_row, Space::kDevice, row_bytes).wait();
}

}  // namespace strata::nn
