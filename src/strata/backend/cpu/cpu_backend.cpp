// CpuBackend: a copy thread draining a FIFO of memcpy jobs, each completing a HostEvent; compute forwards to OpenBLAS,
// to the kernels of cpu/kernels.h and to the host optimizer kernels (backend/host_optim.h).
#include "strata/backend/cpu/cpu_backend.h"

#include <cstdint>
#include <cstring>

#include "strata/backend/cpu/kernels.h"
#include "strata/backend/gemm.h"
#include "strata/backend/host_optim.h"
#include "strata/backend/registry.h"
#include "strata/core/error.h"
#include "strata/core/tensor.h"

namespace strata::backend {

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

CpuBackend::CpuBackend(const BackendOptions& options)
    : Backend(MemoryBudgets{options.host_budget, options.device_budget, options.stash_budget}),
      pool_(std::make_unique<ThreadPool>(options.threads > 0 ? options.threads : default_threads())) {
  set_blas_threads(pool_->size());
  copier_ = std::thread([this] { copy_loop(); });
}

CpuBackend::~CpuBackend() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  copier_.join();
}

void CpuBackend::copy_loop() {
  for (;;) {
    CopyJob job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!job.rows.empty()) {
      for (std::size_t i = 0; i < job.rows.size(); ++i) {
        const std::size_t packed = i * job.bytes, placed = static_cast<std::size_t>(job.rows[i]) * job.bytes;
        std::memcpy(static_cast<char*>(job.dst) + (job.scatter ? placed : packed),
                    static_cast<const char*>(job.src) + (job.scatter ? packed : placed), job.bytes);
      }
    } else if (job.bytes) {
      std::memcpy(job.dst, job.src, job.bytes);
    }
    job.done->complete();
  }
}

Event CpuBackend::enqueue(void* dst, const void* src, std::size_t bytes, std::vector<std::int32_t> rows, bool scatter) {
  auto done = std::make_shared<HostEvent>();
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(CopyJob{dst, src, bytes, done, std::move(rows), scatter});
  }
  cv_.notify_one();
  return Event(done);
}

Event CpuBackend::copy_async(void* dst, Space dst_space, const void* src, Space src_space, std::size_t bytes) {
  if (bytes == 0) return Event();
  STRATA_CHECK(dst && src, "copy_async of ", bytes, " bytes with a null pointer");
  const auto d = reinterpret_cast<std::uintptr_t>(dst), s = reinterpret_cast<std::uintptr_t>(src);
  STRATA_CHECK(d + bytes <= s || s + bytes <= d, "copy_async source and destination overlap");
  count_copy(dst_space, src_space, bytes);
  return enqueue(dst, src, bytes);
}

Event CpuBackend::enqueue_rows(void* dst, Space dst_space, const void* src, Space src_space,
                               std::vector<std::int32_t> rows, std::size_t row_bytes, bool scatter) {
  if (rows.empty() || row_bytes == 0) return Event();
  STRATA_CHECK(dst && src, "row copy with a null pointer");
  for (const std::int32_t r : rows) STRATA_CHECK(r >= 0, "row copy: negative row ", r);
  count_copy(dst_space, src_space, rows.size() * row_bytes);
  return enqueue(dst, src, row_bytes, std::move(rows), scatter);
}

Event CpuBackend::gather_rows_async(void* dst, Space dst_space, const void* src, Space src_space,
                                    std::vector<std::int32_t> rows, std::size_t row_bytes) {
  return enqueue_rows(dst, dst_space, src, src_space, std::move(rows), row_bytes, false);
}

Event CpuBackend::scatter_rows_async(void* dst, Space dst_space, const void* src, Space src_space,
                                     std::vector<std::int32_t> rows, std::size_t row_bytes) {
  return enqueue_rows(dst, dst_space, src, src_space, std::move(rows), row_bytes, true);
}

Event CpuBackend::record() { return enqueue(nullptr, nullptr, 0); }

void CpuBackend::synchronize() { record().wait(); }

void CpuBackend::zero(void* p, Space, std::size_t bytes) {
  if (bytes) std::memset(p, 0, bytes);
}

void CpuBackend::set_threads(int n) {
  if (n <= 0) n = default_threads();
  pool_ = std::make_unique<ThreadPool>(n);
  set_blas_threads(n);
}

void CpuBackend::sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc) {
  ::strata::backend::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void CpuBackend::sgemm_strided_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                                       int lda, std::ptrdiff_t stride_a, const float* b, int ldb,
                                       std::ptrdiff_t stride_b, float beta, float* c, int ldc, std::ptrdiff_t stride_c,
                                       int batch) {
  ::strata::backend::sgemm_strided_batched(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta,
                                           c, ldc, stride_c, batch);
}

// Kernels: forward to cpu::<name>(pool, args...).
#define STRATA_FORWARD(name, ...) return cpu::name(*pool_, __VA_ARGS__)

void CpuBackend::embedding_forward(float* out, const int32_t* ids, const int32_t* segs, const float* wte,
                                   const float* wpe, const float* wse, int B, int T, int C) {
  STRATA_FORWARD(embedding_forward, out, ids, segs, wte, wpe, wse, B, T, C);
}
void CpuBackend::embedding_backward(float* dwte, float* dwpe, float* dwse, const float* dout, const int32_t* ids,
                                    const int32_t* segs, int B, int T, int C) {
  STRATA_FORWARD(embedding_backward, dwte, dwpe, dwse, dout, ids, segs, B, T, C);
}
void CpuBackend::layernorm_forward(float* out, float* mean, float* rstd, const float* in, const float* w,
                                   const float* b, int N, int C, float eps) {
  STRATA_FORWARD(layernorm_forward, out, mean, rstd, in, w, b, N, C, eps);
}
void CpuBackend::layernorm_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                                    const float* w, const float* mean, const float* rstd, int N, int C) {
  STRATA_FORWARD(layernorm_backward, din, dw, db, dout, in, w, mean, rstd, N, C);
}
void CpuBackend::linear_forward(float* out, const float* in, const float* w, const float* b, int N, int IC, int OC) {
  STRATA_FORWARD(linear_forward, out, in, w, b, N, IC, OC);
}
void CpuBackend::linear_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                                 int N, int IC, int OC) {
  STRATA_FORWARD(linear_backward, din, dw, db, dout, in, w, N, IC, OC);
}
void CpuBackend::attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                                   const float* key_mask, int B, int T, int C, int NH, float dropout_p,
                                   uint64_t dropout_key, float* scratch) {
  STRATA_FORWARD(attention_forward, out, probs, q, k, v, key_mask, B, T, C, NH, dropout_p, dropout_key, scratch);
}
void CpuBackend::attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                    const float* v, const float* probs, const float* key_mask, int B, int T, int C,
                                    int NH, float dropout_p, uint64_t dropout_key, float* scratch) {
  STRATA_FORWARD(attention_backward, dq, dk, dv, dout, q, k, v, probs, key_mask, B, T, C, NH, dropout_p, dropout_key,
                 scratch);
}
void CpuBackend::gelu_forward(float* out, const float* in, size_t N) { STRATA_FORWARD(gelu_forward, out, in, N); }
void CpuBackend::gelu_backward(float* din, const float* in, const float* dout, size_t N) {
  STRATA_FORWARD(gelu_backward, din, in, dout, N);
}
void CpuBackend::dropout_forward(float* out, const float* in, size_t N, float p, uint64_t key) {
  STRATA_FORWARD(dropout_forward, out, in, N, p, key);
}
void CpuBackend::dropout_backward(float* din, const float* dout, size_t N, float p, uint64_t key) {
  STRATA_FORWARD(dropout_backward, din, dout, N, p, key);
}
void CpuBackend::residual_forward(float* out, const float* a, const float* b, size_t N) {
  STRATA_FORWARD(residual_forward, out, a, b, N);
}
void CpuBackend::residual_backward(float* da, float* db, const float* dout, size_t N) {
  STRATA_FORWARD(residual_backward, da, db, dout, N);
}
void CpuBackend::tanh_forward(float* out, const float* in, size_t N) { STRATA_FORWARD(tanh_forward, out, in, N); }
void CpuBackend::tanh_backward(float* din, const float* out, const float* dout, size_t N) {
  STRATA_FORWARD(tanh_backward, din, out, dout, N);
}
void CpuBackend::gather_cls_forward(float* out, const float* in, int B, int T, int C) {
  STRATA_FORWARD(gather_cls_forward, out, in, B, T, C);
}
void CpuBackend::gather_cls_backward(float* din, const float* dout, int B, int T, int C) {
  STRATA_FORWARD(gather_cls_backward, din, dout, B, T, C);
}
void CpuBackend::softmax_xent_forward(float* losses, float* probs, const float* logits, const int32_t* labels, int B,
                                      int K) {
  STRATA_FORWARD(softmax_xent_forward, losses, probs, logits, labels, B, K);
}
void CpuBackend::softmax_xent_backward(float* dlogits, const float* probs, const int32_t* labels, int B, int K,
                                       float scale) {
  STRATA_FORWARD(softmax_xent_backward, dlogits, probs, labels, B, K, scale);
}
void CpuBackend::xent_chunk_forward(float* stats, int32_t* best_idx, const float* logits, const int32_t* labels, int M,
                                    int Vc, int v0) {
  STRATA_FORWARD(xent_chunk_forward, stats, best_idx, logits, labels, M, Vc, v0);
}
void CpuBackend::xent_chunk_backward(float* dlogits, const float* logits, const float* lse, const int32_t* labels,
                                     int M, int Vc, int v0, float scale) {
  STRATA_FORWARD(xent_chunk_backward, dlogits, logits, lse, labels, M, Vc, v0, scale);
}

#undef STRATA_FORWARD

void CpuBackend::f32_to_bf16(std::uint16_t* out, const float* in, size_t N) {
  pool_->parallel_chunks(N, [&](std::size_t b, std::size_t e) { strata::f32_to_bf16(in + b, out + b, e - b); });
}
void CpuBackend::bf16_to_f32(float* out, const std::uint16_t* in, size_t N) {
  pool_->parallel_chunks(N, [&](std::size_t b, std::size_t e) { strata::bf16_to_f32(in + b, out + b, e - b); });
}

void CpuBackend::adamw_step(float* p, const float* g, float* m, float* v, size_t n, const AdamWParams& hp,
                            std::int64_t step, float grad_scale, std::uint16_t* p_bf16_out) {
  host::adamw_step(*pool_, p, g, m, v, n, hp, step, grad_scale, p_bf16_out);
}
void CpuBackend::lamb_step(float* p, const float* g, float* m, float* v, size_t n, const LambParams& hp,
                           std::int64_t step, std::span<const Segment> segments, float grad_scale,
                           std::uint16_t* p_bf16_out, const CombineNorms& combine) {
  host::lamb_step(*pool_, p, g, m, v, n, hp, step, segments, grad_scale, p_bf16_out, combine);
}
double CpuBackend::sum_squares(const float* x, size_t n) { return host::sum_squares(*pool_, x, n); }
double CpuBackend::global_grad_norm(std::span<const GradSpan> grads) { return host::global_grad_norm(*pool_, grads); }

}  // namespace strata::backend
