// BertLayer forward/backward over the kernel list. Saved: the inputs of every op whose backward needs them;
// workspace: the (B, T, C) temporaries of one call plus one region shared by the attention scratch and the two
// (B, T, I) gradients of the feed-forward block (never alive at the same time).
#include "strata/nn/encoder_layer.h"

#include <algorithm>
#include <array>

#include "strata/core/error.h"

namespace strata::nn {

namespace {

// Tensor order in the slab (HF's module order; each linear is weight then bias).
enum Tensor : int {
  kQw,
  kQb,
  kKw,
  kKb,
  kVw,
  kVb,
  kAOw,
  kAOb,
  kLn1w,
  kLn1b,
  kIw,
  kIb,
  kOw,
  kOb,
  kLn2w,
  kLn2b,
  kNumTensors
};

template <typename P>
std::array<P, kNumTensors> tensors(P base, const std::vector<ParamSpec>& specs) {
  std::array<P, kNumTensors> t{};
  for (int i = 0; i < kNumTensors; ++i) t[i] = base + specs[i].offset;
  return t;
}

std::size_t round16(std::size_t n) { return (n + 15) / 16 * 16; }

struct Saved {
  float *q, *k, *v;      // (B, T, C) each
  float* attn;           // (B, T, C) attention output (input of attention.output.dense)
  float* probs;          // (B, NH, T, T) softmax before dropout
  float *r1, *h1;        // (B, T, C) attention residual sum (LN1 input) and LN1 output
  float *mean1, *rstd1;  // (B*T)
  float *f, *g;          // (B, T, I) intermediate.dense output (GELU input) and GELU output
  float* r2;             // (B, T, C) FFN residual sum (LN2 input)
  float *mean2, *rstd2;  // (B*T)
};

Saved carve_saved(Carver& c, std::size_t N, std::size_t C, std::size_t I, std::size_t probs) {
  Saved s{};
  s.q = c.floats(N * C);
  s.k = c.floats(N * C);
  s.v = c.floats(N * C);
  s.attn = c.floats(N * C);
  s.probs = c.floats(probs);
  s.r1 = c.floats(N * C);
  s.h1 = c.floats(N * C);
  s.mean1 = c.floats(N);
  s.rstd1 = c.floats(N);
  s.f = c.floats(N * I);
  s.g = c.floats(N * I);
  s.r2 = c.floats(N * C);
  s.mean2 = c.floats(N);
  s.rstd2 = c.floats(N);
  return s;
}

struct Work {
  float* w[4];    // (B, T, C) temporaries
  float* region;  // attention scratch, or the two (B, T, I) FFN gradients at region and region + round16(N*I)
};

// The attention scratch is sized by the backend-wide contract, so the workspace a layer asks for (without a backend)
// is the workspace every backend's attention gets.
Work carve_work(Carver& c, int B, int T, int C, int NH, int I) {
  const std::size_t N = static_cast<std::size_t>(B) * T;
  Work w{};
  for (auto& p : w.w) p = c.floats(N * C);
  w.region = c.floats(std::max(2 * round16(N * I), backend::attention_scratch_floats(B, T, C, NH)));
  return w;
}

}  // namespace

EncoderLayer::EncoderLayer(const EncoderLayerConfig& cfg) : cfg_(cfg) {
  if (cfg.hidden <= 0 || cfg.heads <= 0 || cfg.intermediate <= 0)
    bad_input("encoder layer: hidden (", cfg.hidden, "), heads (", cfg.heads, ") and intermediate (", cfg.intermediate,
              ") sizes must be positive");
  if (cfg.hidden % cfg.heads != 0)
    bad_input("encoder layer: hidden size ", cfg.hidden, " is not a multiple of the number of attention heads ",
              cfg.heads);
  const std::int64_t C = cfg.hidden, I = cfg.intermediate;
  std::size_t off = 0;
  for (const char* m : {"query", "key", "value"}) {
    add_param(specs_, off, std::string("attention.self.") + m + ".weight", {C, C});
    add_param(specs_, off, std::string("attention.self.") + m + ".bias", {C});
  }
  add_param(specs_, off, "attention.output.dense.weight", {C, C});
  add_param(specs_, off, "attention.output.dense.bias", {C});
  add_param(specs_, off, "attention.output.LayerNorm.weight", {C});
  add_param(specs_, off, "attention.output.LayerNorm.bias", {C});
  add_param(specs_, off, "intermediate.dense.weight", {I, C});
  add_param(specs_, off, "intermediate.dense.bias", {I});
  add_param(specs_, off, "output.dense.weight", {C, I});
  add_param(specs_, off, "output.dense.bias", {C});
  add_param(specs_, off, "output.LayerNorm.weight", {C});
  add_param(specs_, off, "output.LayerNorm.bias", {C});
  floats_ = off;
}

std::size_t EncoderLayer::saved_bytes(int B, int T) const {
  Carver c(nullptr);
  const std::size_t N = static_cast<std::size_t>(B) * T;
  carve_saved(c, N, cfg_.hidden, cfg_.intermediate, N * cfg_.heads * T);
  return c.bytes();
}

std::size_t EncoderLayer::workspace_bytes(int B, int T) const {
  Carver c(nullptr);
  carve_work(c, B, T, cfg_.hidden, cfg_.heads, cfg_.intermediate);
  return c.bytes();
}

void EncoderLayer::forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
                           void* workspace) const {
  backend::Backend& be = *ctx.be;
  const int B = in.B, T = in.T, C = cfg_.hidden, NH = cfg_.heads, I = cfg_.intermediate;
  const int N = B * T;
  const std::size_t NC = static_cast<std::size_t>(N) * C;
  const float p_hidden = ctx.dropout_p(cfg_.hidden_dropout);
  const float p_attn = ctx.dropout_p(cfg_.attention_dropout);
  const auto w = tensors(params, specs_);
  Carver cs(saved), cw(workspace);
  const Saved s = carve_saved(cs, N, C, I, static_cast<std::size_t>(N) * NH * T);
  const Work k = carve_work(cw, B, T, C, NH, I);
  const float* x = in.x;  // (B, T, C)

  be.linear_forward(s.q, x, w[kQw], w[kQb], N, C, C);
  be.linear_forward(s.k, x, w[kKw], w[kKb], N, C, C);
  be.linear_forward(s.v, x, w[kVw], w[kVb], N, C, C);
  be.attention_forward(s.attn, s.probs, s.q, s.k, s.v, in.key_mask, B, T, C, NH, p_attn,
                       ctx.dropout_key(kSiteAttentionProbs), k.region);
  be.linear_forward(k.w[0], s.attn, w[kAOw], w[kAOb], N, C, C);
  be.dropout_forward(k.w[1], k.w[0], NC, p_hidden, ctx.dropout_key(kSiteAttentionOutput));
  be.residual_forward(s.r1, k.w[1], x, NC);
  be.layernorm_forward(s.h1, s.mean1, s.rstd1, s.r1, w[kLn1w], w[kLn1b], N, C, cfg_.layer_norm_eps);
  be.linear_forward(s.f, s.h1, w[kIw], w[kIb], N, C, I);
  be.gelu_forward(s.g, s.f, static_cast<std::size_t>(N) * I);
  be.linear_forward(k.w[0], s.g, w[kOw], w[kOb], N, I, C);
  be.dropout_forward(k.w[1], k.w[0], NC, p_hidden, ctx.dropout_key(kSiteFfnOutput));
  be.residual_forward(s.r2, k.w[1], s.h1, NC);
  be.layernorm_forward(out.x, s.mean2, s.rstd2, s.r2, w[kLn2w], w[kLn2b], N, C, cfg_.layer_norm_eps);
}

void EncoderLayer::backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved,
                            const float* dout, float* din, float* dparams, void* workspace) const {
  backend::Backend& be = *ctx.be;
  const int B = in.B, T = in.T, C = cfg_.hidden, NH = cfg_.heads, I = cfg_.intermediate;
  const int N = B * T;
  const std::size_t NC = static_cast<std::size_t>(N) * C, NI = static_cast<std::size_t>(N) * I;
  const float p_hidden = ctx.dropout_p(cfg_.hidden_dropout);
  const float p_attn = ctx.dropout_p(cfg_.attention_dropout);
  const auto w = tensors(params, specs_);
  const auto dw = tensors(dparams, specs_);
  Carver cs(const_cast<void*>(saved)), cw(workspace);
  const Saved s = carve_saved(cs, N, C, I, static_cast<std::size_t>(N) * NH * T);
  const Work k = carve_work(cw, B, T, C, NH, I);
  float *A = k.w[0], *Bf = k.w[1], *Cf = k.w[2], *D = k.w[3];
  float *F1 = k.region, *F2 = k.region + round16(NI);
  auto zero = [&](float* p, std::size_t n) { be.zero(p, Space::kDevice, n * sizeof(float)); };

  // LN2 and the FFN residual: A = d r2, Bf = d(dropped FFN output), D = d h1.
  zero(A, NC);
  be.layernorm_backward(A, dw[kLn2w], dw[kLn2b], dout, s.r2, w[kLn2w], s.mean2, s.rstd2, N, C);
  zero(Bf, NC);
  zero(D, NC);
  be.residual_backward(Bf, D, A, NC);
  zero(A, NC);  // A = d(output.dense output)
  be.dropout_backward(A, Bf, NC, p_hidden, ctx.dropout_key(kSiteFfnOutput));
  zero(F1, NI);  // F1 = d g
  be.linear_backward(F1, dw[kOw], dw[kOb], A, s.g, w[kOw], N, I, C);
  zero(F2, NI);  // F2 = d f
  be.gelu_backward(F2, s.f, F1, NI);
  be.linear_backward(D, dw[kIw], dw[kIb], F2, s.h1, w[kIw], N, C, I);
  // LN1 and the attention residual: A = d r1, Bf = d(dropped attention output); din gets the residual branch.
  zero(A, NC);
  be.layernorm_backward(A, dw[kLn1w], dw[kLn1b], D, s.r1, w[kLn1w], s.mean1, s.rstd1, N, C);
  zero(Bf, NC);
  be.residual_backward(Bf, din, A, NC);
  zero(A, NC);  // A = d(attention.output.dense output)
  be.dropout_backward(A, Bf, NC, p_hidden, ctx.dropout_key(kSiteAttentionOutput));
  zero(Bf, NC);  // Bf = d attn
  be.linear_backward(Bf, dw[kAOw], dw[kAOb], A, s.attn, w[kAOw], N, C, C);
  // Attention (its scratch reuses the FFN gradients' region): A, Cf, D = d q, d k, d v.
  zero(A, NC);
  zero(Cf, NC);
  zero(D, NC);
  be.attention_backward(A, Cf, D, Bf, s.q, s.k, s.v, s.probs, in.key_mask, B, T, C, NH, p_attn,
                        ctx.dropout_key(kSiteAttentionProbs), k.region);
  be.linear_backward(din, dw[kQw], dw[kQb], A, in.x, w[kQw], N, C, C);
  be.linear_backward(din, dw[kKw], dw[kKb], Cf, in.x, w[kKw], N, C, C);
  be.linear_backward(din, dw[kVw], dw[kVb], D, in.x, w[kVw], N, C, C);
}

}  // namespace strata::nn
