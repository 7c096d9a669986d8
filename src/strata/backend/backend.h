// The Backend interface: memory spaces with accounting, copies between spaces with events, GEMM, and the kernel list
// (forward/backward pairs, see cpu/kernels.h) as virtual methods. The CPU backend runs everything on host memory but
// keeps the device space separate with its own budget and moves data with a copy thread, so a CPU run follows the
// same schedule (and reports the same device peak and traffic) as a GPU run.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "strata/backend/kernel_contract.h"
#include "strata/backend/optim.h"
#include "strata/core/memory.h"
#include "strata/core/thread_pool.h"

namespace strata::backend {

// Completion state of an asynchronous operation; implemented per backend (a flag + condition variable on the CPU,
// a cudaEvent on CUDA).
class EventState {
 public:
  virtual ~EventState() = default;
  virtual bool ready() const = 0;
  virtual void wait() const = 0;
};

// An event a host thread completes (the CPU backend's copy thread; tests that gate work by hand).
class HostEvent final : public EventState {
 public:
  bool ready() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  void wait() const override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  void complete() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool done_ = false;
};

// Handle to an asynchronous copy. A default-constructed event is already complete. Copyable (shared state).
class Event {
 public:
  Event() = default;
  explicit Event(std::shared_ptr<EventState> s) : state_(std::move(s)) {}
  bool ready() const { return !state_ || state_->ready(); }
  void wait() const {
    if (state_) state_->wait();
  }

 private:
  std::shared_ptr<EventState> state_;
};

struct BackendOptions {
  int threads = 0;                // compute threads (pool and BLAS); 0: default_threads()
  std::size_t device_budget = 0;  // bytes; 0: unlimited
  std::size_t host_budget = 0;    // bytes; 0: unlimited
  std::size_t stash_budget = 0;   // bytes; 0: unlimited
};

// Bytes moved between spaces by the backend's copies since construction (or reset_traffic()).
struct Traffic {
  std::size_t to_device = 0;      // host or stash -> device
  std::size_t from_device = 0;    // device -> host or stash
  std::size_t within_device = 0;  // device -> device
  std::size_t host_side = 0;      // between host and stash
  std::size_t copies = 0;         // number of copy operations
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  MemorySystem& memory() { return *memory_; }
  Buffer alloc(Space space, std::size_t bytes, std::string_view what) { return memory_->alloc(space, bytes, what); }

  // --- copies between spaces -----------------------------------------------------------------------------------
  // Queues a copy of `bytes` bytes. Copies run in the order they were queued (one copy stream), after all compute
  // issued before the call; the source must stay alive and unchanged and the destination untouched until the
  // returned event completes. Spaces say which arenas the pointers belong to (they drive the traffic counters).
  virtual Event copy_async(void* dst, Space dst_space, const void* src, Space src_space, std::size_t bytes) = 0;
  // Buffer form with bounds checks: copies src[src_offset, +bytes) to dst[dst_offset, +bytes).
  Event copy_async(Buffer& dst, std::size_t dst_offset, const Buffer& src, std::size_t src_offset, std::size_t bytes);
  // Whole-buffer form; the buffers must have the same size.
  Event copy_async(Buffer& dst, const Buffer& src);
  // Row copies (rows of row_bytes; the list is the backend's to keep). Gather: dst row i <- src row rows[i] (dst
  // packed). Scatter: dst row rows[i] <- src row i (src packed). One queued copy each: the rows of an embedding table
  // a batch reads, and their gradient back. A GPU backend packs through pinned memory and gathers or scatters on
  // the device.
  virtual Event gather_rows_async(void* dst, Space dst_space, const void* src, Space src_space,
                                  std::vector<std::int32_t> rows, std::size_t row_bytes) = 0;
  virtual Event scatter_rows_async(void* dst, Space dst_space, const void* src, Space src_space,
                                   std::vector<std::int32_t> rows, std::size_t row_bytes) = 0;
  // Blocks until the event's copy is done; afterwards compute and the host see its result.
  void wait(const Event& e) { e.wait(); }
  // An event that completes when every copy queued so far has completed.
  virtual Event record() = 0;
  // Blocks until all queued copies and compute are done.
  virtual void synchronize() = 0;
  // Sets bytes [p, p + bytes) of memory in `space` to zero (synchronously with respect to compute).
  virtual void zero(void* p, Space space, std::size_t bytes) = 0;

  Traffic traffic() const;
  std::size_t bytes_to_device() const { return to_device_.load(); }
  std::size_t bytes_from_device() const { return from_device_.load(); }
  void reset_traffic();

  // --- compute ---------------------------------------------------------------------------------------------------
  virtual ThreadPool& pool() = 0;
  int threads() { return pool().size(); }
  // Recreates the compute pool and sets the BLAS thread count. Call only while nothing runs on the backend.
  virtual void set_threads(int n) = 0;

  // Row-major GEMM, as backend/gemm.h: C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C.
  virtual void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                     const float* b, int ldb, float beta, float* c, int ldc) = 0;
  virtual void sgemm_strided_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                                     int lda, std::ptrdiff_t stride_a, const float* b, int ldb, std::ptrdiff_t stride_b,
                                     float beta, float* c, int ldc, std::ptrdiff_t stride_c, int batch) = 0;

  // --- kernels (every backward ACCUMULATES; the contract is spelled out on the CPU kernels, cpu/kernels.h, and the
  // parts layers rely on without a backend at hand -- dropout keys and masks, the attention scratch size -- are
  // backend-wide, kernel_contract.h) ------------------------------------------------------------------------------
  virtual void embedding_forward(float* out /*(B*T,C)*/, const int32_t* ids /*(B*T)*/,
                                 const int32_t* segs /*(B*T) or null*/, const float* wte /*(V,C)*/,
                                 const float* wpe /*(maxT,C)*/, const float* wse /*(S,C) or null*/, int B, int T,
                                 int C) = 0;
  virtual void embedding_backward(float* dwte, float* dwpe, float* dwse /*or null*/, const float* dout,
                                  const int32_t* ids, const int32_t* segs, int B, int T, int C) = 0;
  virtual void layernorm_forward(float* out /*(N,C)*/, float* mean /*(N)*/, float* rstd /*(N)*/,
                                 const float* in /*(N,C)*/, const float* w /*(C)*/, const float* b /*(C)*/, int N,
                                 int C, float eps) = 0;
  virtual void layernorm_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                                  const float* mean, const float* rstd, int N, int C) = 0;
  virtual void linear_forward(float* out /*(N,OC)*/, const float* in /*(N,IC)*/, const float* w /*(OC,IC)*/,
                              const float* b /*(OC) or null*/, int N, int IC, int OC) = 0;
  virtual void linear_backward(float* din /*(N,IC) or null*/, float* dw /*(OC,IC)*/, float* db /*(OC) or null*/,
                               const float* dout /*(N,OC)*/, const float* in, const float* w, int N, int IC,
                               int OC) = 0;
  virtual void attention_forward(float* out /*(B,T,C)*/, float* probs /*(B,NH,T,T)*/, const float* q, const float* k,
                                 const float* v /*each (B,T,C)*/, const float* key_mask /*(B,T) or null*/, int B, int T,
                                 int C, int NH, float dropout_p, uint64_t dropout_key, float* scratch) = 0;
  virtual void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                  const float* v, const float* probs, const float* key_mask, int B, int T, int C,
                                  int NH, float dropout_p, uint64_t dropout_key, float* scratch) = 0;
  // (scratch: attention_scratch_floats(B, T, C, NH) floats, kernel_contract.h)
  virtual void gelu_forward(float* out, const float* in, size_t N) = 0;
  virtual void gelu_backward(float* din, const float* in, const float* dout, size_t N) = 0;
  virtual void dropout_forward(float* out, const float* in, size_t N, float p, uint64_t key) = 0;
  virtual void dropout_backward(float* din, const float* dout, size_t N, float p, uint64_t key) = 0;
  virtual void residual_forward(float* out, const float* a, const float* b, size_t N) = 0;
  virtual void residual_backward(float* da, float* db, const float* dout, size_t N) = 0;
  virtual void tanh_forward(float* out, const float* in, size_t N) = 0;
  virtual void tanh_backward(float* din, const float* out, const float* dout, size_t N) = 0;
  virtual void gather_cls_forward(float* out /*(B,C)*/, const float* in /*(B,T,C)*/, int B, int T, int C) = 0;
  virtual void gather_cls_backward(float* din /*(B,T,C)*/, const float* dout /*(B,C)*/, int B, int T, int C) = 0;
  virtual void softmax_xent_forward(float* losses /*(B)*/, float* probs /*(B,K)*/, const float* logits /*(B,K)*/,
                                    const int32_t* labels /*(B)*/, int B, int K) = 0;
  virtual void softmax_xent_backward(float* dlogits, const float* probs, const int32_t* labels, int B, int K,
                                     float scale) = 0;
  // Softmax cross-entropy one chunk of vocabulary columns at a time (cpu/kernels.h xent_chunk_forward/backward).
  virtual void xent_chunk_forward(float* stats /*(M,4)*/, int32_t* best_idx /*(M)*/, const float* logits /*(M,Vc)*/,
                                  const int32_t* labels /*(M)*/, int M, int Vc, int v0) = 0;
  virtual void xent_chunk_backward(float* dlogits /*(M,Vc)*/, const float* logits, const float* lse /*(M)*/,
                                   const int32_t* labels, int M, int Vc, int v0, float scale) = 0;
  // Storage conversions (bf16 device slabs and stash): round-to-nearest-even and exact widening, as core/tensor.h.
  virtual void f32_to_bf16(std::uint16_t* out, const float* in, size_t N) = 0;
  virtual void bf16_to_f32(float* out, const std::uint16_t* in, size_t N) = 0;

  // --- optimizer updates and gradient norms, on slabs in memory the backend computes on ---------------------------
  // Fused (one pass reads p, g, m, v and writes p, m, v and the optional bf16 copy of the new p), synchronous with
  // respect to compute, results independent of the thread count. Formulas: backend/host_optim.h, which is what the
  // CPU backend runs (bit for bit); another backend matches it to float rounding. step is 1-based; grad_scale
  // multiplies g first (clip_factor of the global norm, backend/optim.h).
  virtual void adamw_step(float* p /*(n)*/, const float* g /*(n)*/, float* m /*(n)*/, float* v /*(n)*/, size_t n,
                          const AdamWParams& hp, std::int64_t step, float grad_scale,
                          std::uint16_t* p_bf16_out /*(n) or null*/) = 0;
  // LAMB with one trust ratio per segment (empty: one over [0, n)); elements outside every segment are untouched.
  // combine (optional): sums the segments' squared norms over the processes that share the slab (backend/optim.h).
  virtual void lamb_step(float* p /*(n)*/, const float* g /*(n)*/, float* m /*(n)*/, float* v /*(n)*/, size_t n,
                         const LambParams& hp, std::int64_t step, std::span<const Segment> segments, float grad_scale,
                         std::uint16_t* p_bf16_out /*(n) or null*/, const CombineNorms& combine = {}) = 0;
  // Σ x² over x (n), accumulated in double; global_grad_norm = sqrt of Σ over every span (one norm for clipping).
  // Returned to the host: the caller decides on clipping and skipping non-finite steps.
  virtual double sum_squares(const float* x /*(n)*/, size_t n) = 0;
  virtual double global_grad_norm(std::span<const GradSpan> grads) = 0;

 protected:
  explicit Backend(const MemoryBudgets& budgets, RawAllocator* host_raw = nullptr, RawAllocator* device_raw = nullptr,
                   RawAllocator* stash_raw = nullptr)
      : memory_(std::make_unique<MemorySystem>(budgets, host_raw, device_raw, stash_raw)) {}
  // Implementations call this once per queued copy.
  void count_copy(Space dst, Space src, std::size_t bytes);

 private:
  std::unique_ptr<MemorySystem> memory_;
  std::atomic<std::size_t> to_device_{0}, from_device_{0}, within_device_{0}, host_side_{0}, copies_{0};
};

// One backend compiled into this build. make builds it; unavailable() is empty when it can run here, otherwise why
// not (e.g. no device) -- the conformance suite skips such a backend with that message.
struct BackendEntry {
  const char* name;
  std::unique_ptr<Backend> (*make)(const BackendOptions& options);
  std::string (*unavailable)();
};
// Every backend of this build, "cpu" first. Each backend folder defines its maker (backend/registry.h); this list is
// the only place that names them all.
std::span<const BackendEntry> registered_backends();

// A registered backend by name. "cuda" in a build without it -> bad_input saying how to build it; a registered
// backend that cannot run here -> bad_input with its reason; anything else -> bad_input.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options = {});

}  // namespace strata::backend
