// Shared harness for the layer tests: random inputs, a scalar objective over a layer's output, analytic gradients
// through backward, central finite differences, and guarded saved/workspace memory that detects overruns and any
// dependence on the memory's previous content.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/core/rng.h"
#include "strata/nn/layer.h"

namespace strata::nn::testing {

inline constexpr std::size_t kGuardBytes = 256;
inline constexpr unsigned char kGuardByte = 0xA5;

// Memory of `bytes` followed by a guard; filled with NaN bytes (0xFF) so a layer that reads before writing shows.
class Guarded {
 public:
  explicit Guarded(std::size_t bytes) : bytes_(bytes), mem_(bytes + kGuardBytes) { poison(); }
  void* data() { return mem_.data(); }
  void poison() {
    std::memset(mem_.data(), 0xFF, bytes_);
    std::memset(mem_.data() + bytes_, kGuardByte, kGuardBytes);
  }
  bool guard_intact() const {
    for (std::size_t i = 0; i < kGuardBytes; ++i)
      if (mem_[bytes_ + i] != kGuardByte) return false;
    return true;
  }
  const unsigned char* bytes() const { return mem_.data(); }
  std::size_t size() const { return bytes_; }

 private:
  std::size_t bytes_;
  std::vector<unsigned char> mem_;
};

inline std::vector<float> random_vector(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

// One layer on one micro-batch: owns params, input x, output buffers, saved and workspace.
struct Probe {
  const Layer& layer;
  Ctx ctx;
  Activation in;
  std::vector<float> params, x, out_x, logits, losses, weights /*objective weights on out_x*/;
  Guarded saved, ws;

  Probe(const Layer& l, const Ctx& c, const Activation& a, int C, std::uint64_t seed)
      : layer(l), ctx(c), in(a), saved(l.saved_bytes(a.B, a.T)), ws(l.workspace_bytes(a.B, a.T)) {
    const std::size_t N = a.tokens();
    x = random_vector(N * C, seed + 1);
    if (!in.ids) in.x = x.data();
    out_x.assign(N * l.width(), 0.0f);
    logits.assign(static_cast<std::size_t>(a.B) * l.width(), 0.0f);
    losses.assign(a.B, 0.0f);
    weights = random_vector(N * l.width(), seed + 2);
  }

  bool is_head() const { return in.labels != nullptr && layer.kind() == "classifier_head"; }

  // J = sum(weights * out) for hidden-state outputs; loss_scale * sum(losses) for the head.
  double objective() {
    Activation out = in;
    out.x = out_x.data();
    out.logits = logits.data();
    out.losses = losses.data();
    layer.forward(ctx, params.data(), in, out, saved.data(), ws.data());
    double j = 0.0;
    if (is_head()) {
      for (float l : losses) j += l;
      return j * ctx.loss_scale;
    }
    for (std::size_t i = 0; i < out_x.size(); ++i) j += double(weights[i]) * out_x[i];
    return j;
  }

  // Analytic gradients (forward then backward) into dparams and din (zeroed here).
  void gradients(std::vector<float>& dparams, std::vector<float>* din) {
    objective();
    dparams.assign(params.size(), 0.0f);
    if (din) din->assign(x.size(), 0.0f);
    layer.backward(ctx, params.data(), in, saved.data(), is_head() ? nullptr : weights.data(),
                   din ? din->data() : nullptr, dparams.data(), ws.data());
  }
};

// Central differences of the objective in each coordinate of v (params or x) outside [skip_begin, skip_end),
// compared with the analytic gradient.
// Tolerance: the forward runs in float32, so allow 1% of the gradient's scale plus 2% of the element.
inline void expect_matches_finite_differences(Probe& p, std::vector<float>& v, const std::vector<float>& analytic,
                                              const char* what, std::size_t skip_begin = 0, std::size_t skip_end = 0,
                                              float h = 1e-2f) {
  ASSERT_EQ(v.size(), analytic.size());
  double scale = 0.0;
  for (float g : analytic) scale = std::max(scale, double(std::abs(g)));
  ASSERT_GT(scale, 1e-4) << what << ": gradient is (almost) zero: nothing would be checked";
  int bad = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i >= skip_begin && i < skip_end) continue;  // coordinates whose gradient is deliberately not the derivative
    const float keep = v[i];
    v[i] = keep + h;
    const double jp = p.objective();
    v[i] = keep - h;
    const double jm = p.objective();
    v[i] = keep;
    const double fd = (jp - jm) / (2.0 * h);
    if (std::abs(fd - analytic[i]) > 1e-2 * scale + 2e-2 * std::abs(fd)) {
      if (++bad <= 5)
        ADD_FAILURE() << what << "[" << i << "]: analytic " << analytic[i] << " vs finite difference " << fd;
    }
  }
  EXPECT_EQ(bad, 0) << what;
}

}  // namespace strata::nn::testing
