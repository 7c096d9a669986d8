// MLM head forward/backward. Saved: the dense output (before GELU), the GELU output, the LayerNorm statistics, the
// transformed states (decoder input) and the softmax over the vocabulary.
#include "strata/nn/mlm_head.h"

#include "strata/core/error.h"

namespace strata::nn {

namespace {

enum Tensor : int { kDw, kDb, kLnW, kLnB, kBias };

struct Saved {
  float* dense;  // (M, C) dense(x)
  float* act;    // (M, C) gelu(dense)
  float* mean;   // (M)
  float* rstd;   // (M)
  float* t;      // (M, C) LayerNorm(act): the decoder's input
  float* probs;  // (M, V) softmax of the logits
};

Saved carve_saved(Carver& c, std::size_t M, std::size_t C, std::size_t V) {
  Saved s{};
  s.dense = c.floats(M * C);
  s.act = c.floats(M * C);
  s.mean = c.floats(M);
  s.rstd = c.floats(M);
  s.t = c.floats(M * C);
  s.probs = c.floats(M * V);
  return s;
}

struct Work {
  float *a, *b;    // (M, C) temporaries
  float* dlogits;  // (M, V)
};

Work carve_work(Carver& c, std::size_t M, std::size_t C, std::size_t V) {
  Work w{};
  w.a = c.floats(M * C);
  w.b = c.floats(M * C);
  w.dlogits = c.floats(M * V);
  return w;
}

}  // namespace

MlmHead::MlmHead(const MlmHeadConfig& cfg) : cfg_(cfg) {
  if (cfg.hidden <= 0 || cfg.vocab <= 0)
    bad_input("MLM head: hidden (", cfg.hidden, ") and vocab (", cfg.vocab, ") must be positive");
  const std::int64_t C = cfg.hidden, V = cfg.vocab;
  std::size_t off = 0;
  add_param(specs_, off, "cls.predictions.transform.dense.weight", {C, C});
  add_param(specs_, off, "cls.predictions.transform.dense.bias", {C});
  add_param(specs_, off, "cls.predictions.transform.LayerNorm.weight", {C});
  add_param(specs_, off, "cls.predictions.transform.LayerNorm.bias", {C});
  add_param(specs_, off, "cls.predictions.bias", {V});
  floats_ = off;
}

std::size_t MlmHead::saved_bytes(int M) const {
  Carver c(nullptr);
  carve_saved(c, M, cfg_.hidden, cfg_.vocab);
  return c.bytes();
}

std::size_t MlmHead::workspace_bytes(int M) const {
  Carver c(nullptr);
  carve_work(c, M, cfg_.hidden, cfg_.vocab);
  return c.bytes();
}

void MlmHead::forward(const Ctx& ctx, const float* params, const float* wte, const float* x,
                      const std::int32_t* labels, int M, float* logits, float* losses, void* saved,
                      void* workspace) const {
  backend::Backend& be = *ctx.be;
  const int C = cfg_.hidden, V = cfg_.vocab;
  STRATA_CHECK(labels == nullptr || losses != nullptr, "the MLM head needs a losses buffer");
  if (M == 0) return;
  Carver cs(saved);
  const Saved s = carve_saved(cs, M, C, V);
  const float* w[5];
  for (int i = 0; i < 5; ++i) w[i] = params + specs_[i].offset;
  be.linear_forward(s.dense, x, w[kDw], w[kDb], M, C, C);                           // (M, C)
  be.gelu_forward(s.act, s.dense, static_cast<std::size_t>(M) * C);                // (M, C)
  be.layernorm_forward(s.t, s.mean, s.rstd, s.act, w[kLnW], w[kLnB], M, C, cfg_.layer_norm_eps);
  be.linear_forward(logits, s.t, wte, w[kBias], M, C, V);                          // (M, V) tied decoder
  if (labels) be.softmax_xent_forward(losses, s.probs, logits, labels, M, V);
  (void)workspace;
}

void MlmHead::backward(const Ctx& ctx, const float* params, const float* wte, const float* x,
                       const std::int32_t* labels, int M, const void* saved, float* dx, float* dparams, float* dwte,
                       void* workspace) const {
  STRATA_CHECK(labels != nullptr, "the MLM head's backward needs labels");
  if (M == 0) return;
  backend::Backend& be = *ctx.be;
  const int C = cfg_.hidden, V = cfg_.vocab;
  const float* w[5];
  float* dw[5];
  for (int i = 0; i < 5; ++i) {
    w[i] = params + specs_[i].offset;
    dw[i] = dparams + specs_[i].offset;
  }
  Carver cs(const_cast<void*>(saved)), cw(workspace);
  const Saved s = carve_saved(cs, M, C, V);
  const Work k = carve_work(cw, M, C, V);
  const std::size_t MC = static_cast<std::size_t>(M) * C;
  auto zero = [&](float* p, std::size_t n) { be.zero(p, Space::kDevice, n * sizeof(float)); };
  zero(k.dlogits, static_cast<std::size_t>(M) * V);
  be.softmax_xent_backward(k.dlogits, s.probs, labels, M, V, ctx.loss_scale);  // (M, V)
  zero(k.a, MC);                                                                 // d t
  be.linear_backward(k.a, dwte, dw[kBias], k.dlogits, s.t, wte, M, C, V);
  zero(k.b, MC);  // d act
  be.layernorm_backward(k.b, dw[kLnW], dw[kLnB], k.a, s.act, w[kLnW], s.mean, s.rstd, M, C);
  zero(k.a, MC);  // d dense
  be.gelu_backward(k.a, s.dense, k.b, MC);
  be.linear_backward(dx, dw[kDw], dw[kDb], k.a, x, w[kDw], M, C, C);
}

}  // namespace strata::nn
