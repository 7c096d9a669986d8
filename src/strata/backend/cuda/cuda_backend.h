// The CUDA backend: the device arena over one cudaMalloc'd block of --device-memory bytes (or cudaMalloc per buffer
// without a budget), host and stash arenas in pinned memory (cudaHostAlloc) so copies are true DMA, copies on their
// own streams (host->device and device->host apart from compute) completing CUDA events behind the Event API, GEMM
// through cuBLAS and the kernels of this folder. Only this folder and backend.cpp's registry know it exists.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/backend/cuda/block_allocator.h"
#include "strata/backend/cuda/copy_order.h"
#include "strata/backend/cuda/launch.h"

namespace strata::backend::cuda {

// Throws (internal error; resource_error for out-of-memory) naming the call when a CUDA runtime call fails.
void check(cudaError_t e, const char* what);
void check(cublasStatus_t s, const char* what);

// Empty when a CUDA device can run here, else why not ("no CUDA device found (cudaGetDeviceCount: ...)").
std::string device_unavailable_reason();

// cuBLAS compute type for fp32 GEMMs, from STRATA_CUDA_GEMM: "fp32" (default: exact fp32, comparable with the CPU),
// "tf32" or "bf16" (tensor cores: inputs rounded to tf32 / bf16, fp32 accumulation). Anything else is bad input.
cublasComputeType_t gemm_compute_type(const char* env_value);

// Memory sources, built before the arenas that use them (base class of CudaBackend, so constructed first).
struct CudaMemory {
  explicit CudaMemory(const BackendOptions& options);
  ~CudaMemory();
  class Device final : public RawAllocator {  // one block under a budget, else cudaMalloc per buffer
   public:
    explicit Device(std::size_t budget);
    ~Device() override;
    void* allocate(std::size_t bytes) override;
    void deallocate(void* p, std::size_t bytes) override;

   private:
    void* block_ = nullptr;
    std::unique_ptr<BlockAllocator> sub_;
  };
  class Pinned final : public RawAllocator {  // cudaHostAlloc: host and stash arenas, staging
   public:
    void* allocate(std::size_t bytes) override;
    void deallocate(void* p, std::size_t bytes) override;
  };
  std::unique_ptr<Device> device;
  Pinned pinned;
  DeviceError* err = nullptr;  // device memory: the kernels' data errors, read when the backend synchronizes
};

class StagingPool;

class CudaBackend final : private CudaMemory, public Backend {
 public:
  explicit CudaBackend(const BackendOptions& options = {});
  ~CudaBackend() override;  // waits for everything queued

  std::string name() const override { return "cuda"; }

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
  enum Lane { kToDevice = 0, kFromDevice = 1, kCompute = 2 };
  struct InFlight {  // a queued copy not yet seen complete: later copies on other lanes may have to wait for it
    CopyFootprint footprint;
    Lane lane;
    std::shared_ptr<EventState> done;
    std::shared_ptr<void> keep;  // what the copy still uses (row lists, staging)
  };
  static Lane lane_for(Space dst, Space src);
  cudaStream_t stream(Lane lane) const { return streams_[lane]; }
  // Makes `lane` wait for compute issued so far and for every in-flight copy on another lane that conflicts.
  void order_before(Lane lane, const CopyFootprint& f);
  // Records completion on `lane`, remembers the copy for later ordering and returns its Event.
  Event track(Lane lane, const CopyFootprint& f, std::shared_ptr<void> keep = {});
  void prune_in_flight();
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, long long stride_a,
            const float* b, int ldb, long long stride_b, float beta, float* c, int ldc, long long stride_c, int batch);
  void check_launch(const char* op);
  void check_data_errors();
  // Per-chunk double sums computed on the device, downloaded (the caller adds them in chunk order).
  std::vector<double> chunk_sums_squares(const std::vector<SpanChunk>& chunks);

  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<StagingPool> staging_;  // before in_flight_: outlives the jobs that hold its blocks
  cudaStream_t streams_[3] = {nullptr, nullptr, nullptr};
  cublasHandle_t blas_ = nullptr;
  cublasComputeType_t gemm_type_ = CUBLAS_COMPUTE_32F;
  std::mutex mu_;  // the in-flight list (copies may be queued from several threads)
  std::vector<InFlight> in_flight_;
};

}  // namespace strata::backend::cuda
