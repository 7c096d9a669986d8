// The CPU backend: device memory is ordinary memory behind its own budgeted arena, copies between spaces run as
// memcpy on a dedicated copy thread (one FIFO queue, like a CUDA copy stream) so transfers overlap compute, GEMM goes
// through OpenBLAS and the kernels are strata::backend::cpu's.
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "strata/backend/backend.h"

namespace strata::backend {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& options = {});
  ~CpuBackend() override;  // finishes queued copies, then stops the copy thread

  std::string name() const override { return "cpu"; }

  using Backend::copy_async;
  Event copy_async(void* dst, Space dst_space, const void* src, Space src_space, std::size_t bytes) override;
  Event gather_rows_async(void* dst, Space dst_space, const void* src, Space src_space, std::vector<std::int32_t> rows,
                          std::size_t row_bytes) override;
  Event scatter_rows_async(void* dst, Space dst_space, const void* src, Space src_space, std::vector<std::int32_t> rows,
                           std::size_t row_bytes) override;
  Event record() override;
  void synchronize() override;
  void zero(void* p, Space space, std::size_t bytes) override;

  ThreadPool& pool() override { return *pool_; }
  void set_threads(int n) override;

  void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
             int ldb, float beta, float* c, int ldc) override;
  void sgemm_strided_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                             std::ptrdiff_t stride_a, const float* b, int ldb, std::ptrdiff_t stride_b, float beta,
                             float* c, int ldc, std::ptrdiff_t stride_c, int batch) override;

  void embedding_forward(float* out, const int32_t* ids, const int32_t* segs, const float* wte, const float* wpe,
                         const float* wse, int B, int T, int C) override;
  void embedding_backward(float* dwte, float* dwpe, float* dwse, const float* dout, const int32_t* ids,
                          const int32_t* segs, int B, int T, int C) override;
  void layernorm_forward(float* out, float* mean, float* rstd, const float* in, const float* w, const float* b, int N,
                         int C, float eps) override;
  void layernorm_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                          const float* mean, const float* rstd, int N, int C) override;
  void linear_forward(float* out, const float* in, const float* w, const float* b, int N, int IC, int OC) override;
  void linear_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w, int N,
                       int IC, int OC) override;
  void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                         const float* key_mask, int B, int T, int C, int NH, float dropout_p, uint64_t dropout_key,
                         float* scratch) override;
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                          const float* v, const float* probs, const float* key_mask, int B, int T, int C, int NH,
                          float dropout_p, uint64_t dropout_key, float* scratch) override;
  void gelu_forward(float* out, const float* in, size_t N) override;
  void gelu_backward(float* din, const float* in, const float* dout, size_t N) override;
  void dropout_forward(float* out, const float* in, size_t N, float p, uint64_t key) override;
  void dropout_backward(float* din, const float* dout, size_t N, float p, uint64_t key) override;
  void residual_forward(float* out, const float* a, const float* b, size_t N) override;
  void residual_backward(float* da, float* db, const float* dout, size_t N) override;
  void tanh_forward(float* out, const float* in, size_t N) override;
  void tanh_backward(float* din, const float* out, const float* dout, size_t N) override;
  void gather_cls_forward(float* out, const float* in, int B, int T, int C) override;
  void gather_cls_backward(float* din, const float* dout, int B, int T, int C) override;
  void softmax_xent_forward(float* losses, float* probs, const float* logits, const int32_t* labels, int B,
                            int K) override;
  void softmax_xent_backward(float* dlogits, const float* probs, const int32_t* labels, int B, int K,
                             float scale) override;
  void xent_chunk_forward(float* stats, int32_t* best_idx, const float* logits, const int32_t* labels, int M, int Vc,
                          int v0) override;
  void xent_chunk_backward(float* dlogits, const float* logits, const float* lse, const int32_t* labels, int M, int Vc,
                           int v0, float scale) override;
  void f32_to_bf16(std::uint16_t* out, const float* in, size_t N) override;
  void bf16_to_f32(float* out, const std::uint16_t* in, size_t N) override;

  void adamw_step(float* p, const float* g, float* m, float* v, size_t n, const AdamWParams& hp, std::int64_t step,
                  float grad_scale, std::uint16_t* p_bf16_out) override;
  void lamb_step(float* p, const float* g, float* m, float* v, size_t n, const LambParams& hp, std::int64_t step,
                 std::span<const Segment> segments, float grad_scale, std::uint16_t* p_bf16_out,
                 const CombineNorms& combine) override;
  double sum_squares(const float* x, size_t n) override;
  double global_grad_norm(std::span<const GradSpan> grads) override;

 private:
  struct CopyJob {
    void* dst;
    const void* src;
    std::size_t bytes;  // or, with rows, bytes per row
    std::shared_ptr<HostEvent> done;
    std::vector<std::int32_t> rows;  // non-empty: a row copy, gathering into dst or scattering from src
    bool scatter = false;
  };
  Event enqueue(void* dst, const void* src, std::size_t bytes, std::vector<std::int32_t> rows = {},
                bool scatter = false);
  Event enqueue_rows(void* dst, Space dst_space, const void* src, Space src_space, std::vector<std::int32_t> rows,
                     std::size_t row_bytes, bool scatter);
  void copy_loop();

  std::unique_ptr<ThreadPool> pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<CopyJob> queue_;
  bool stop_ = false;
  std::thread copier_;  // last member: started after everything it uses exists
};

}  // namespace strata::backend
