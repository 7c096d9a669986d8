// MLM head forward/backward. Saved: the dense output (before GELU), the GELU output, the LayerNorm statistics, the
// transformed states (decoder input) and the softmax over the vocabulary.
#include "strata/nn/mlm_head.h"

#include "strata/core/error.h"

namespace strata::nn {

namespace {

enum Tensor : int { kDw, kDb, kLnW, kLnB, kBias };

// The transform's saved activations; the full head saves the softmax after them.
struct TransformSaved {
  float* dense;  // (M, C) dense(x)
  float* act;    // (M, C) gelu(dense)
  float* mean;   // (M)
  float* rstd;   // (M)
  float* t;      // (M, C) LayerNorm(act): the decoder's input
};

TransformSaved carve_transform(Carver& c, std::size_t M, std::size_t C) {
  TransformSaved s{};
  s.dense = c.floats(M * C);
  s.act = c.floats(M * C);
  s.mean = c.floats(M);
  s.rstd = c.floats(M);
  s.t = c.floats(M * C);
  return s;
}

struct Saved {
  TransformSaved tr;
  float* probs;  // (M, V) softmax of the logits
};

Saved carve_saved(Carver& c, std::size_t M, std::size_t C, std::size_t V) {
  Saved s{};
  s.tr = carve_transform(c, M, C);
  s.probs = c.floats(M * V);
  return s;
}

struct Work {
  float *a, *b;    // (M, C) the transform's temporaries
  float* dt;       // (M, C) d t (the full head)
  float* dlogits;  // (M, V) (the full head)
};

Work carve_work(Carver& c, std::size_t M, std::size_t C, std::size_t V) {
  Work w{};
  w.a = c.floats(M * C);
  w.b = c.floats(M * C);
  w.dt = V ? c.floats(M * C) : nullptr;
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

std::size_t MlmHead::transform_saved_bytes(int M) const {
  Carver c(nullptr);
  carve_transform(c, M, cfg_.hidden);
  return c.bytes();
}

std::size_t MlmHead::transform_workspace_bytes(int M) const {
  Carver c(nullptr);
  carve_work(c, M, cfg_.hidden, 0);
  return c.bytes();
}

void MlmHead::transform_forward(const Ctx& ctx, const float* params, const float* x, int M, float* t,
                                void* saved) const {
  if (M == 0) return;
  backend::Backend& be = *ctx.be;
  const int C = cfg_.hidden;
  Carver cs(saved);
  const TransformSaved s = carve_transform(cs, M, C);
  const float* w[4];
  for (int i = 0; i < 4; ++i) w[i] = params + specs_[i].offset;
  be.linear_forward(s.dense, x, w[kDw], w[kDb], M, C, C);             // (M, C)
  be.gelu_forward(s.act, s.dense, static_cast<std::size_t>(M) * C);  // (M, C)
  be.layernorm_forward(s.t, s.mean, s.rstd, s.act, w[kLnW], w[kLnB], M, C, cfg_.layer_norm_eps);
  if (t != s.t) be.copy_async(t, Space::kDevice, s.t, Space::kDevice, static_cast<std::size_t>(M) * C * sizeof(float));
}

void MlmHead::transform_backward(const Ctx& ctx, const float* params, const float* x, int M, const void* saved,
                                 const float* dt, float* dx, float* dparams, void* workspace) const {
  if (M == 0) return;
  backend::Backend& be = *ctx.be;
  const int C = cfg_.hidden;
  Carver cs(const_cast<void*>(saved)), cw(workspace);
  const TransformSaved s = carve_transform(cs, M, C);
  const Work k = carve_work(cw, M, C, 0);
  const float* w[4];
  float* dw[4];
  for (int i = 0; i < 4; ++i) w[i] = params + specs_[i].offset, dw[i] = dparams + specs_[i].offset;
  const std::size_t MC = static_cast<std::size_t>(M) * C;
  be.zero(k.b, Space::kDevice, MC * sizeof(float));  // d act
  be.layernorm_backward(k.b, dw[kLnW], dw[kLnB], dt, s.act, w[kLnW], s.mean, s.rstd, M, C);
  be.zero(k.a, Space::kDevice, MC * sizeof(float));  // d dense
  be.gelu_backward(k.a, s.dense, k.b, MC);
  be.linear_backward(dx, dw[kDw], dw[kDb], k.a, x, w[kDw], M, C, C);
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
  transform_forward(ctx, params, x, M, s.tr.t, saved);
  be.linear_forward(logits, s.tr.t, wte, params + specs_[kBias].offset, M, C, V);  // (M, V) tied decoder
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
  Carver cs(const_cast<void*>(saved)), cw(workspace);
  const Saved s = carve_saved(cs, M, C, V);
  const Work k = carve_work(cw, M, C, V);
  auto zero = [&](float* p, std::size_t n) { be.zero(p, Space::kDevice, n * sizeof(float)); };
  zero(k.dlogits, static_cast<std::size_t>(M) * V);
  be.softmax_xent_backward(k.dlogits, s.probs, labels, M, V, ctx.loss_scale);  // (M, V)
  float* dt = k.dt;  // the transform's backward uses a and b
  zero(dt, static_cast<std::size_t>(M) * C);
  be.linear_backward(dt, dwte, dparams + specs_[kBias].offset, k.dlogits, s.tr.t, wte, M, C, V);
  transform_backward(ctx, params, x, M, saved, dt, dx, dparams, workspace);
}

}  // namespace strata::nn

namespace strata::nn {

void MlmHeadLayer::forward(const Ctx&, const float*, const Activation&, Activation&, void*, void*) const {
  internal_error("the MLM head runs in the executor's decoder stage (train/mlm_decoder.h), not as a plain layer");
}

void MlmHeadLayer::backward(const Ctx&, const float*, const Activation&, const void*, const float*, float*, float*,
                            void*) const {
  internal_error("the MLM head runs in the executor's decoder stage (train/mlm_decoder.h), not as a plain layer");
}

}  // namespace strata::nn
