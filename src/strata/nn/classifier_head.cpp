// Pooler + classifier + cross-entropy forward/backward. Saved: the [CLS] rows, the pooled output before and after
// dropout, and the softmax.
#include "strata/nn/classifier_head.h"

#include "strata/core/error.h"

namespace strata::nn {

namespace {

enum Tensor : int { kPw, kPb, kCw, kCb };

struct Saved {
  float* cls;      // (B, C) hidden state of token 0
  float* pooled;   // (B, C) tanh(dense(cls))
  float* dropped;  // (B, C) pooled after dropout (classifier input)
  float* probs;    // (B, K) softmax of the logits
};

Saved carve_saved(Carver& c, std::size_t B, std::size_t C, std::size_t K) {
  Saved s{};
  s.cls = c.floats(B * C);
  s.pooled = c.floats(B * C);
  s.dropped = c.floats(B * C);
  s.probs = c.floats(B * K);
  return s;
}

struct Work {
  float *a, *b;    // (B, C) temporaries
  float* dlogits;  // (B, K)
};

Work carve_work(Carver& c, std::size_t B, std::size_t C, std::size_t K) {
  Work w{};
  w.a = c.floats(B * C);
  w.b = c.floats(B * C);
  w.dlogits = c.floats(B * K);
  return w;
}

}  // namespace

ClassifierHead::ClassifierHead(const ClassifierHeadConfig& cfg) : cfg_(cfg) {
  if (cfg.hidden <= 0 || cfg.num_labels <= 0)
    bad_input("classifier head: hidden (", cfg.hidden, ") and num_labels (", cfg.num_labels, ") must be positive");
  const std::int64_t C = cfg.hidden, K = cfg.num_labels;
  std::size_t off = 0;
  add_param(specs_, off, "bert.pooler.dense.weight", {C, C});
  add_param(specs_, off, "bert.pooler.dense.bias", {C});
  add_param(specs_, off, "classifier.weight", {K, C});
  add_param(specs_, off, "classifier.bias", {K});
  floats_ = off;
}

std::size_t ClassifierHead::saved_bytes(int B, int /*T*/) const {
  Carver c(nullptr);
  carve_saved(c, B, cfg_.hidden, cfg_.num_labels);
  return c.bytes();
}

std::size_t ClassifierHead::workspace_bytes(int B, int /*T*/) const {
  Carver c(nullptr);
  carve_work(c, B, cfg_.hidden, cfg_.num_labels);
  return c.bytes();
}

void ClassifierHead::forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
                             void* workspace) const {
  backend::Backend& be = *ctx.be;
  const int B = in.B, T = in.T, C = cfg_.hidden, K = cfg_.num_labels;
  STRATA_CHECK(out.logits != nullptr, "the classifier head needs a logits buffer");
  STRATA_CHECK(in.labels == nullptr || out.losses != nullptr, "the classifier head needs a losses buffer");
  const float* w[4];
  for (int i = 0; i < 4; ++i) w[i] = params + specs_[i].offset;
  Carver cs(saved), cw(workspace);
  const Saved s = carve_saved(cs, B, C, K);
  const Work k = carve_work(cw, B, C, K);
  const std::size_t BC = static_cast<std::size_t>(B) * C;
  be.gather_cls_forward(s.cls, in.x, B, T, C);
  be.linear_forward(k.a, s.cls, w[kPw], w[kPb], B, C, C);
  be.tanh_forward(s.pooled, k.a, BC);
  if (out.pooled) be.copy_async(out.pooled, Space::kDevice, s.pooled, Space::kDevice, BC * sizeof(float)).wait();
  be.dropout_forward(s.dropped, s.pooled, BC, ctx.dropout_p(cfg_.dropout), ctx.dropout_key(kSitePooled));
  be.linear_forward(out.logits, s.dropped, w[kCw], w[kCb], B, C, K);
  if (in.labels) be.softmax_xent_forward(out.losses, s.probs, out.logits, in.labels, B, K);
}

void ClassifierHead::backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved,
                              const float* /*dout*/, float* din, float* dparams, void* workspace) const {
  STRATA_CHECK(in.labels != nullptr, "the classifier head's backward needs labels");
  backend::Backend& be = *ctx.be;
  const int B = in.B, T = in.T, C = cfg_.hidden, K = cfg_.num_labels;
  const float* w[4];
  float* dw[4];
  for (int i = 0; i < 4; ++i) {
    w[i] = params + specs_[i].offset;
    dw[i] = dparams + specs_[i].offset;
  }
  Carver cs(const_cast<void*>(saved)), cw(workspace);
  const Saved s = carve_saved(cs, B, C, K);
  const Work k = carve_work(cw, B, C, K);
  const std::size_t BC = static_cast<std::size_t>(B) * C;
  auto zero = [&](float* p, std::size_t n) { be.zero(p, Space::kDevice, n * sizeof(float)); };
  zero(k.dlogits, static_cast<std::size_t>(B) * K);
  be.softmax_xent_backward(k.dlogits, s.probs, in.labels, B, K, ctx.loss_scale);
  zero(k.a, BC);  // d dropped
  be.linear_backward(k.a, dw[kCw], dw[kCb], k.dlogits, s.dropped, w[kCw], B, C, K);
  zero(k.b, BC);  // d pooled
  be.dropout_backward(k.b, k.a, BC, ctx.dropout_p(cfg_.dropout), ctx.dropout_key(kSitePooled));
  zero(k.a, BC);  // d (pooler dense output)
  be.tanh_backward(k.a, s.pooled, k.b, BC);
  zero(k.b, BC);  // d cls
  be.linear_backward(k.b, dw[kPw], dw[kPb], k.a, s.cls, w[kPw], B, C, C);
  be.gather_cls_backward(din, k.b, B, T, C);
}

}  // namespace strata::nn
