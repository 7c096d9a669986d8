// CudaBackend, optimizer updates and gradient norms on device slabs: backend/host_optim.h's formulas (scalars formed
// in double and rounded once, as there), LAMB's per-segment norms and the global norm reduced over the same fixed
// chunks as the CPU (kNormChunk) and summed on the host in chunk order, so the result never depends on the launch.
#include <algorithm>
#include <cmath>

#include "strata/backend/cuda/cuda_backend.h"
#include "strata/core/error.h"

namespace strata::backend::cuda {

namespace {

constexpr std::size_t kNormChunk = std::size_t{1} << 16;  // as backend/host_optim.cpp

// A small array on the device for one call (stream-ordered allocation, freed after use in stream order).
template <typename T>
T* upload(const std::vector<T>& v, cudaStream_t s) {
  T* d = nullptr;
  check(cudaMallocAsync(reinterpret_cast<void**>(&d), std::max<std::size_t>(1, v.size()) * sizeof(T), s),
        "cudaMallocAsync");
  if (!v.empty()) check(cudaMemcpyAsync(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, s), "upload");
  return d;
}

template <typename T>
std::vector<T> download_and_free(T* d, std::size_t n, cudaStream_t s) {
  std::vector<T> v(n);
  if (n) check(cudaMemcpyAsync(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost, s), "download");
  check(cudaFreeAsync(d, s), "cudaFreeAsync");
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  return v;
}

// Every span cut into kNormChunk pieces, spans in order.
std::vector<SpanChunk> norm_chunks(std::span<const GradSpan> grads) {
  std::vector<SpanChunk> chunks;
  for (const auto& [x, n] : grads)
    for (std::size_t b = 0; b < n; b += kNormChunk) chunks.push_back({x + b, std::min(kNormChunk, n - b)});
  return chunks;
}

}  // namespace

void CudaBackend::adamw_step(float* p, const float* g, float* m, float* v, size_t n, const AdamWParams& hp,
                             std::int64_t step, float grad_scale, std::uint16_t* p_bf16_out) {
  STRATA_CHECK(step >= 1, "adamw_step: step is 1-based, got ", step);
  const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step)), bc2 = 1.0 - std::pow(b2, static_cast<double>(step));
  const AdamScalars k{grad_scale,
                      static_cast<float>(1.0 - lr * hp.weight_decay),
                      hp.beta1,
                      static_cast<float>(1.0 - b1),
                      hp.beta2,
                      static_cast<float>(1.0 - b2),
                      static_cast<float>(std::sqrt(bc2)),
                      static_cast<float>(lr / bc1),
                      hp.eps};
  adamw(stream(kCompute), k, p, g, m, v, n, p_bf16_out);
  check_launch("adamw_step");
}

void CudaBackend::lamb_step(float* p, const float* g, float* m, float* v, size_t n, const LambParams& hp,
                            std::int64_t step, std::span<const Segment> segments, float grad_scale,
                            std::uint16_t* p_bf16_out, const CombineNorms& combine) {
  STRATA_CHECK(step >= 1, "lamb_step: step is 1-based, got ", step);
  Segment whole{0, n};
  if (segments.empty()) segments = std::span<const Segment>(&whole, 1);
  std::size_t prev_end = 0;
  std::vector<Chunk> chunks;
  std::vector<std::size_t> seg_of;
  for (std::size_t si = 0; si < segments.size(); ++si) {
    const Segment& sg = segments[si];
    STRATA_CHECK(sg.offset >= prev_end && sg.offset <= n && sg.size <= n - sg.offset, "lamb_step: segment [", sg.offset,
                 ", +", sg.size, ") is out of order, overlapping or outside the slab of ", n);
    prev_end = sg.offset + sg.size;
    for (std::size_t b = sg.offset, e = b + sg.size; b < e; b += kNormChunk) {
      chunks.push_back({b, std::min(e, b + kNormChunk)});
      seg_of.push_back(si);
    }
  }
  const double b1 = hp.beta1, b2 = hp.beta2;
  const double bc1 = hp.bias_correction ? 1.0 - std::pow(b1, static_cast<double>(step)) : 1.0;
  const double bc2 = hp.bias_correction ? 1.0 - std::pow(b2, static_cast<double>(step)) : 1.0;
  const LambScalars k{grad_scale,
                      hp.beta1,
                      static_cast<float>(1.0 - b1),
                      hp.beta2,
                      static_cast<float>(1.0 - b2),
                      static_cast<float>(1.0 / bc1),
                      static_cast<float>(1.0 / bc2),
                      hp.eps,
                      hp.weight_decay};
  cudaStream_t s = stream(kCompute);
  const int nc = static_cast<int>(chunks.size());
  Chunk* d_chunks = upload(chunks, s);
  double* d_sq = upload(std::vector<double>(2 * chunks.size()), s);  // [p² per chunk..., u² per chunk...]
  lamb_moments(s, k, p, g, m, v, d_chunks, nc, d_sq, d_sq + nc);
  check_launch("lamb_step (moments)");
  const std::vector<double> sq_chunks = download_and_free(d_sq, 2 * chunks.size(), s);
  const std::size_t S = segments.size();
  std::vector<double> sq(2 * S, 0.0);  // [||p||² per segment..., ||u||² per segment...], summed in chunk order
  for (int i = 0; i < nc; ++i) {
    sq[seg_of[i]] += sq_chunks[i];
    sq[S + seg_of[i]] += sq_chunks[nc + i];
  }
  if (combine) combine(sq);
  std::vector<float> step_of(chunks.size());
  for (int i = 0; i < nc; ++i) {
    const double pnorm = std::sqrt(sq[seg_of[i]]), unorm = std::sqrt(sq[S + seg_of[i]]);
    step_of[i] = static_cast<float>(hp.lr * ((pnorm > 0.0 && unorm > 0.0) ? pnorm / unorm : 1.0));
  }
  float* d_step = upload(step_of, s);
  lamb_apply(s, k, p, m, v, d_chunks, d_step, nc, p_bf16_out);
  check_launch("lamb_step (apply)");
  check(cudaFreeAsync(d_step, s), "cudaFreeAsync");
  check(cudaFreeAsync(d_chunks, s), "cudaFreeAsync");
}

std::vector<double> CudaBackend::chunk_sums_squares(const std::vector<SpanChunk>& chunks) {
  if (chunks.empty()) return {};
  cudaStream_t s = stream(kCompute);
  SpanChunk* d_chunks = upload(chunks, s);
  double* d_partial = upload(std::vector<double>(chunks.size()), s);
  sum_squares_chunks(s, d_chunks, static_cast<int>(chunks.size()), d_partial);
  check_launch("sum_squares");
  check(cudaFreeAsync(d_chunks, s), "cudaFreeAsync");
  return download_and_free(d_partial, chunks.size(), s);
}

double CudaBackend::sum_squares(const float* x, size_t n) {
  const GradSpan one{x, n};
  double total = 0.0;
  for (const double s : chunk_sums_squares(norm_chunks(std::span<const GradSpan>(&one, 1)))) total += s;
  return total;
}

double CudaBackend::global_grad_norm(std::span<const GradSpan> grads) {
  double total = 0.0;
  for (const double s : chunk_sums_squares(norm_chunks(grads))) total += s;
  return std::sqrt(total);
}

}  // namespace strata::backend::cuda
