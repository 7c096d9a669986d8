// Conformance of the chunked softmax cross-entropy (xent_chunk_forward / backward, the L2L MLM decoder's online
// log-sum-exp) against a double-precision softmax over the whole vocabulary: losses, log-sum-exp, the first argmax
// (ties across chunks included) and every chunk's logit gradient.
#include <algorithm>
#include <cmath>
#include <limits>

#include "conformance.h"

namespace strata::backend::conformance {
namespace {

class XentChunk : public Conformance {};

struct Reference {
  std::vector<double> loss, lse;
  std::vector<std::int32_t> argmax;
};

Reference reference(const std::vector<float>& logits, const std::vector<std::int32_t>& labels, int M, int V) {
  Reference r;
  for (int i = 0; i < M; ++i) {
    const float* row = logits.data() + static_cast<std::size_t>(i) * V;
    const int arg = static_cast<int>(std::max_element(row, row + V) - row);
    double s = 0.0;
    for (int j = 0; j < V; ++j) s += std::exp(static_cast<double>(row[j]) - row[arg]);
    r.lse.push_back(row[arg] + std::log(s));
    r.loss.push_back(r.lse.back() - row[labels[i]]);
    r.argmax.push_back(arg);
  }
  return r;
}

// Columns [v0, v0 + vc) of the (M, V) logits.
std::vector<float> columns(const std::vector<float>& logits, int M, int V, int v0, int vc) {
  std::vector<float> out;
  for (int i = 0; i < M; ++i)
    out.insert(out.end(), logits.begin() + static_cast<std::ptrdiff_t>(i) * V + v0,
               logits.begin() + static_cast<std::ptrdiff_t>(i) * V + v0 + vc);
  return out;
}

TEST_P(XentChunk, ChunksFoldIntoTheWholeVocabularysLossLogSumExpAndArgmax) {
  for (const auto& [M, V, Vc] : {std::tuple{5, 37, 8}, std::tuple{3, 64, 64}, std::tuple{7, 300, 128}}) {
    std::vector<float> logits = randn(static_cast<std::size_t>(M) * V, 11 + V, 3.0);
    std::vector<std::int32_t> labels;
    for (int i = 0; i < M; ++i) labels.push_back((i * 13 + 5) % V);
    logits[V - 1] = logits[0] = 50.0f;  // row 0: the maximum twice, in the first and the last chunk
    const Reference ref = reference(logits, labels, M, V);
    std::vector<float> init(4 * static_cast<std::size_t>(M));
    for (int i = 0; i < M; ++i) init[4 * i] = init[4 * i + 3] = -std::numeric_limits<float>::infinity();
    F32 stats(be(), init, Role::kInOut, "stats");
    I32 best(be(), std::vector<std::int32_t>(M, -1), I32::Role::kInOut, "best");
    I32 lab(be(), labels, I32::Role::kInput, "labels");
    for (int v0 = 0; v0 < V; v0 += Vc) {
      const int vc = std::min(Vc, V - v0);
      F32 chunk(be(), columns(logits, M, V, v0, vc), Role::kInput, "logits chunk");
      be().xent_chunk_forward(stats.get(), best.get(), chunk.get(), lab.get(), M, vc, v0);
    }
    const std::vector<float> st = stats.read();
    std::vector<float> loss, lse;
    for (int i = 0; i < M; ++i) {
      loss.push_back(std::log(st[4 * i + 1]) - (st[4 * i + 2] - st[4 * i]));
      lse.push_back(st[4 * i] + std::log(st[4 * i + 1]));
    }
    EXPECT_TRUE(nmse_below("loss", loss, ref.loss, kElementwise)) << "V " << V << " Vc " << Vc;
    EXPECT_TRUE(nmse_below("lse", lse, ref.lse, kElementwise)) << "V " << V << " Vc " << Vc;
    EXPECT_EQ(best.read(), ref.argmax) << "the first maximal index, across chunks; V " << V << " Vc " << Vc;
  }
}

TEST_P(XentChunk, BackwardIsTheScaledSoftmaxMinusOneHotOfEachChunk) {
  const int M = 4, V = 45, Vc = 16;
  const float scale = 0.25f;
  const std::vector<float> logits = randn(static_cast<std::size_t>(M) * V, 7, 2.0);
  const std::vector<std::int32_t> labels = {0, 15, 16, 44};  // chunk edges
  const Reference ref = reference(logits, labels, M, V);
  F32 lse(be(), std::vector<float>(ref.lse.begin(), ref.lse.end()), Role::kInput, "lse");
  I32 lab(be(), labels, I32::Role::kInput, "labels");
  for (int v0 = 0; v0 < V; v0 += Vc) {
    const int vc = std::min(Vc, V - v0);
    const std::vector<float> cols = columns(logits, M, V, v0, vc);
    std::vector<double> want;
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < vc; ++j)
        want.push_back(scale * (std::exp(cols[i * vc + j] - ref.lse[i]) - (labels[i] == v0 + j ? 1.0 : 0.0)));
    F32 chunk(be(), cols, Role::kInput, "logits chunk");
    F32 grad(be(), static_cast<std::size_t>(M) * vc, "dlogits");
    be().xent_chunk_backward(grad.get(), chunk.get(), lse.get(), lab.get(), M, vc, v0, scale);
    EXPECT_TRUE(nmse_below("dlogits", grad.read(), want, kElementwise)) << "chunk at " << v0;
    F32 inplace(be(), cols, Role::kInOut, "logits, overwritten by their gradient");
    be().xent_chunk_backward(inplace.get(), inplace.get(), lse.get(), lab.get(), M, vc, v0, scale);
    EXPECT_TRUE(nmse_below("dlogits in place", inplace.read(), want, kElementwise)) << "chunk at " << v0;
  }
}

STRATA_CONFORMANCE_SUITE(XentChunk);

}  // namespace
}  // namespace strata::backend::conformance
