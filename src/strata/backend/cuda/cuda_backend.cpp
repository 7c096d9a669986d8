// CudaBackend, memory and copies: device discovery for the registry, the arenas' raw allocators (one device block,
// pinned host memory), streams and events, and copies between spaces ordered as the Backend contract promises.
#include "strata/backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "strata/backend/cuda/cuda_blas.h"
#include "strata/backend/registry.h"
#include "strata/core/error.h"

namespace strata::backend {

std::string cuda_unavailable() { return cuda::device_unavailable_reason(); }

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& options) {
  return std::make_unique<cuda::CudaBackend>(options);
}

}  // namespace strata::backend

namespace strata::backend::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  if (e == cudaErrorMemoryAllocation) resource_error("CUDA: ", what, ": out of memory (", cudaGetErrorString(e), ")");
  internal_error("CUDA: ", what, " failed: ", cudaGetErrorString(e));
}

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) internal_error("cuBLAS: ", what, " failed: ", blas().status_string(s));
}

std::string device_unavailable_reason() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error so a later query starts clean
    return cat("no CUDA device found (cudaGetDeviceCount: ", cudaGetErrorString(e), ")");
  }
  if (count == 0) return "no CUDA device found (cudaGetDeviceCount: 0 devices)";
  return {};
}

cublasComputeType_t gemm_compute_type(const char* env_value) {
  const std::string v = env_value ? env_value : "";
  if (v.empty() || v == "fp32") return CUBLAS_COMPUTE_32F;
  if (v == "tf32") return CUBLAS_COMPUTE_32F_FAST_TF32;
  if (v == "bf16") return CUBLAS_COMPUTE_32F_FAST_16BF;
  bad_input("STRATA_CUDA_GEMM: expected fp32, tf32 or bf16, found '", v, "'");
}

// --- memory ----------------------------------------------------------------------------------------------------

CudaMemory::Device::Device(std::size_t budget) {
  if (budget == 0) return;
  const std::size_t bytes = device_block_bytes(budget);
  if (cudaMalloc(&block_, bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    std::size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    resource_error("--device-memory ", format_bytes(budget), ": cannot reserve a block of ", format_bytes(bytes),
                   " on the GPU (", format_bytes(free_b), " free of ", format_bytes(total_b),
                   "); ask for at most about ", format_bytes(free_b > bytes - budget ? free_b - (bytes - budget) : 0));
  }
  sub_ = std::make_unique<BlockAllocator>(static_cast<char*>(block_), bytes);
}

CudaMemory::Device::~Device() {
  if (block_) (void)cudaFree(block_);
}

void* CudaMemory::Device::allocate(std::size_t bytes) {
  if (sub_) return sub_->allocate(bytes);
  void* p = nullptr;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return p;
}

void CudaMemory::Device::deallocate(void* p, std::size_t) {
  if (sub_)
    sub_->deallocate(p);
  else
    (void)cudaFree(p);
}

void* CudaMemory::Pinned::allocate(std::size_t bytes) {
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return p;
}

void CudaMemory::Pinned::deallocate(void* p, std::size_t) { (void)cudaFreeHost(p); }

CudaMemory::CudaMemory(const BackendOptions& options) {
  if (const std::string why = device_unavailable_reason(); !why.empty()) bad_input("backend 'cuda': ", why);
  check(cudaSetDevice(0), "cudaSetDevice(0)");
  device = std::make_unique<Device>(options.device_budget);
  check(cudaMalloc(reinterpret_cast<void**>(&err), sizeof(DeviceError)), "error word");
  check(cudaMemset(err, 0, sizeof(DeviceError)), "error word");
}

CudaMemory::~CudaMemory() {
  if (err) (void)cudaFree(err);
}

// --- events ----------------------------------------------------------------------------------------------------

namespace {

class CudaEvent final : public EventState {
 public:
  explicit CudaEvent(cudaStream_t s) {
    check(cudaEventCreateWithFlags(&ev_, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventRecord(ev_, s), "cudaEventRecord");
  }
  ~CudaEvent() override { (void)cudaEventDestroy(ev_); }
  bool ready() const override {
    const cudaError_t e = cudaEventQuery(ev_);
    if (e == cudaErrorNotReady) return false;
    check(e, "cudaEventQuery");
    return true;
  }
  void wait() const override { check(cudaEventSynchronize(ev_), "cudaEventSynchronize"); }
  cudaEvent_t get() const { return ev_; }

 private:
  cudaEvent_t ev_ = nullptr;
};

// Complete when all of its parts are (record(): one event per stream).
class AllEvents final : public EventState {
 public:
  explicit AllEvents(std::vector<std::shared_ptr<EventState>> parts) : parts_(std::move(parts)) {}
  bool ready() const override {
    for (const auto& p : parts_)
      if (!p->ready()) return false;
    return true;
  }
  void wait() const override {
    for (const auto& p : parts_) p->wait();
  }

 private:
  std::vector<std::shared_ptr<EventState>> parts_;
};

}  // namespace

// --- pinned staging for row copies -------------------------------------------------------------------------------

// Pinned blocks reused across row copies (cudaHostAlloc is slow and cudaFreeHost may synchronize the device): a block
// goes back to the pool when the copy that used it is done, and is freed with the backend.
class StagingPool {
 public:
  ~StagingPool() {
    for (const auto& [bytes, p] : free_) (void)cudaFreeHost(p);
  }
  std::shared_ptr<void> acquire(std::size_t bytes) {
    void* p = nullptr;
    std::size_t have = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = std::find_if(free_.begin(), free_.end(), [&](const auto& f) { return f.first >= bytes; });
      if (it != free_.end()) {
        have = it->first;
        p = it->second;
        free_.erase(it);
      }
    }
    if (!p) {
      have = bytes;
      check(cudaHostAlloc(&p, bytes, cudaHostAllocPortable), "cudaHostAlloc (row staging)");
    }
    return std::shared_ptr<void>(p, [this, have](void* q) {
      std::lock_guard<std::mutex> lk(mu_);
      free_.emplace_back(have, q);
    });
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::size_t, void*>> free_;
};

// --- construction ----------------------------------------------------------------------------------------------

CudaBackend::CudaBackend(const BackendOptions& options)
    : CudaMemory(options),
      Backend(MemoryBudgets{options.host_budget, options.device_budget, options.stash_budget}, &pinned, device.get(),
              &pinned),
      pool_(std::make_unique<ThreadPool>(options.threads > 0 ? options.threads : default_threads())),
      staging_(std::make_unique<StagingPool>()) {
  for (cudaStream_t& s : streams_) check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  check(blas().create(&blas_), "cublasCreate");
  check(blas().set_stream(blas_, stream(kCompute)), "cublasSetStream");
  gemm_type_ = gemm_compute_type(std::getenv("STRATA_CUDA_GEMM"));
}

CudaBackend::~CudaBackend() {
  for (cudaStream_t s : streams_) (void)cudaStreamSynchronize(s);
  in_flight_.clear();
  if (blas_) (void)blas().destroy(blas_);
  for (cudaStream_t s : streams_) (void)cudaStreamDestroy(s);
}

void CudaBackend::set_threads(int n) { pool_ = std::make_unique<ThreadPool>(n > 0 ? n : default_threads()); }

// --- ordering --------------------------------------------------------------------------------------------------

CudaBackend::Lane CudaBackend::lane_for(Space dst, Space src) {
  if (dst == Space::kDevice && src == Space::kDevice) return kCompute;
  if (dst == Space::kDevice) return kToDevice;
  return kFromDevice;  // device -> host/stash, and host <-> stash
}

void CudaBackend::prune_in_flight() {
  std::erase_if(in_flight_, [](const InFlight& f) { return f.done->ready(); });
}

void CudaBackend::order_before(Lane lane, const CopyFootprint& f) {
  if (lane != kCompute) {  // after all compute issued before the call
    CudaEvent compute_done(stream(kCompute));
    check(cudaStreamWaitEvent(stream(lane), compute_done.get(), 0), "cudaStreamWaitEvent");
  }
  std::lock_guard<std::mutex> lk(mu_);
  prune_in_flight();
  for (const InFlight& earlier : in_flight_) {
    if (earlier.lane == lane || !must_follow(earlier.footprint, f)) continue;
    const auto* ev = static_cast<const CudaEvent*>(earlier.done.get());
    check(cudaStreamWaitEvent(stream(lane), ev->get(), 0), "cudaStreamWaitEvent");
  }
}

Event CudaBackend::track(Lane lane, const CopyFootprint& f, std::shared_ptr<void> keep) {
  auto done = std::make_shared<CudaEvent>(stream(lane));
  std::lock_guard<std::mutex> lk(mu_);
  in_flight_.push_back(InFlight{f, lane, done, std::move(keep)});
  return Event(done);
}

// --- copies ----------------------------------------------------------------------------------------------------

Event CudaBackend::copy_async(void* dst, Space dst_space, const void* src, Space src_space, std::size_t bytes) {
  if (bytes == 0) return Event();
  STRATA_CHECK(dst && src, "copy_async of ", bytes, " bytes with a null pointer");
  const CopyFootprint f{byte_range(dst, bytes), byte_range(src, bytes)};
  STRATA_CHECK(!f.dst.overlaps(f.src), "copy_async source and destination overlap");
  count_copy(dst_space, src_space, bytes);
  const Lane lane = lane_for(dst_space, src_space);
  order_before(lane, f);
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream(lane)), "cudaMemcpyAsync");
  return track(lane, f);
}

namespace {

// A row copy's host-side state, alive until its event completes: the row list, pinned staging, the host copy.
struct RowJob {
  std::vector<std::int32_t> rows;
  std::size_t row_bytes = 0;
  char* dst = nullptr;
  const char* src = nullptr;
  bool scatter = false;
  std::shared_ptr<void> staging;           // back to the backend's staging pool when the job goes
  static void CUDART_CB run(void* self) {  // on the stream's host thread: dst row rows[i] / packed row i
    const auto* j = static_cast<const RowJob*>(self);
    for (std::size_t i = 0; i < j->rows.size(); ++i) {
      const std::size_t packed = i * j->row_bytes, placed = static_cast<std::size_t>(j->rows[i]) * j->row_bytes;
      std::memcpy(j->dst + (j->scatter ? placed : packed), j->src + (j->scatter ? packed : placed), j->row_bytes);
    }
  }
};

}  // namespace

// Gather: dst row i <- src row rows[i]. The rows are packed where src lives (a device kernel, or a host function in
// stream order into pinned staging), then moved as one copy.
Event CudaBackend::gather_rows_async(void* dst, Space dst_space, const void* src, Space src_space,
                                     std::vector<std::int32_t> rows, std::size_t row_bytes) {
  if (rows.empty() || row_bytes == 0) return Event();
  STRATA_CHECK(dst && src, "row copy with a null pointer");
  for (const std::int32_t r : rows) STRATA_CHECK(r >= 0, "row copy: negative row ", r);
  const std::size_t packed = rows.size() * row_bytes;
  count_copy(dst_space, src_space, packed);
  const Lane lane = lane_for(dst_space, src_space);
  const CopyFootprint f{byte_range(dst, packed), rows_range(src, rows, row_bytes)};
  order_before(lane, f);
  cudaStream_t s = stream(lane);
  auto job = std::make_shared<RowJob>();
  job->rows = std::move(rows);
  job->row_bytes = row_bytes;
  if (src_space == Space::kDevice) {
    std::int32_t* idx = nullptr;
    char* tmp = nullptr;
    check(cudaMallocAsync(reinterpret_cast<void**>(&idx), job->rows.size() * sizeof(std::int32_t), s), "row list");
    check(cudaMemcpyAsync(idx, job->rows.data(), job->rows.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice, s),
          "row list upload");
    if (dst_space != Space::kDevice) check(cudaMallocAsync(reinterpret_cast<void**>(&tmp), packed, s), "packed rows");
    gather_rows(s, tmp ? tmp : dst, src, idx, job->rows.size(), row_bytes);
    if (tmp) check(cudaMemcpyAsync(dst, tmp, packed, cudaMemcpyDefault, s), "packed rows download");
    check(cudaFreeAsync(idx, s), "cudaFreeAsync");
    if (tmp) check(cudaFreeAsync(tmp, s), "cudaFreeAsync");
  } else {
    job->src = static_cast<const char*>(src);
    if (dst_space == Space::kDevice) job->staging = staging_->acquire(packed);
    job->dst = dst_space == Space::kDevice ? static_cast<char*>(job->staging.get()) : static_cast<char*>(dst);
    check(cudaLaunchHostFunc(s, RowJob::run, job.get()), "cudaLaunchHostFunc");
    if (dst_space == Space::kDevice)
      check(cudaMemcpyAsync(dst, job->staging.get(), packed, cudaMemcpyHostToDevice, s), "packed rows upload");
  }
  check_launch("gather_rows_async");
  return track(lane, f, job);
}

// Scatter: dst row rows[i] <- src row i. The packed rows move to where dst lives first, then a device kernel or a
// host function in stream order places them.
Event CudaBackend::scatter_rows_async(void* dst, Space dst_space, const void* src, Space src_space,
                                      std::vector<std::int32_t> rows, std::size_t row_bytes) {
  if (rows.empty() || row_bytes == 0) return Event();
  STRATA_CHECK(dst && src, "row copy with a null pointer");
  for (const std::int32_t r : rows) STRATA_CHECK(r >= 0, "row copy: negative row ", r);
  const std::size_t packed = rows.size() * row_bytes;
  count_copy(dst_space, src_space, packed);
  const Lane lane = lane_for(dst_space, src_space);
  const CopyFootprint f{rows_range(dst, rows, row_bytes), byte_range(src, packed)};
  order_before(lane, f);
  cudaStream_t s = stream(lane);
  auto job = std::make_shared<RowJob>();
  job->rows = std::move(rows);
  job->row_bytes = row_bytes;
  job->scatter = true;
  if (dst_space == Space::kDevice) {
    std::int32_t* idx = nullptr;
    char* tmp = nullptr;
    check(cudaMallocAsync(reinterpret_cast<void**>(&idx), job->rows.size() * sizeof(std::int32_t), s), "row list");
    check(cudaMemcpyAsync(idx, job->rows.data(), job->rows.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice, s),
          "row list upload");
    if (src_space != Space::kDevice) {
      check(cudaMallocAsync(reinterpret_cast<void**>(&tmp), packed, s), "packed rows");
      check(cudaMemcpyAsync(tmp, src, packed, cudaMemcpyDefault, s), "packed rows upload");
    }
    scatter_rows(s, dst, tmp ? tmp : src, idx, job->rows.size(), row_bytes);
    check(cudaFreeAsync(idx, s), "cudaFreeAsync");
    if (tmp) check(cudaFreeAsync(tmp, s), "cudaFreeAsync");
  } else {
    job->dst = static_cast<char*>(dst);
    if (src_space == Space::kDevice) {
      job->staging = staging_->acquire(packed);
      check(cudaMemcpyAsync(job->staging.get(), src, packed, cudaMemcpyDeviceToHost, s), "packed rows download");
      job->src = static_cast<const char*>(job->staging.get());
    } else {
      job->src = static_cast<const char*>(src);
    }
    check(cudaLaunchHostFunc(s, RowJob::run, job.get()), "cudaLaunchHostFunc");
  }
  check_launch("scatter_rows_async");
  return track(lane, f, job);
}

Event CudaBackend::record() {
  std::vector<std::shared_ptr<EventState>> parts;
  for (cudaStream_t s : streams_) parts.push_back(std::make_shared<CudaEvent>(s));
  return Event(std::make_shared<AllEvents>(std::move(parts)));
}

void CudaBackend::synchronize() {
  for (cudaStream_t s : streams_) check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  {
    std::lock_guard<std::mutex> lk(mu_);
    prune_in_flight();
  }
  check_data_errors();
}

void CudaBackend::zero(void* p, Space space, std::size_t bytes) {
  if (!bytes) return;
  if (space == Space::kDevice)
    check(cudaMemsetAsync(p, 0, bytes, stream(kCompute)), "cudaMemsetAsync");
  else
    std::memset(p, 0, bytes);
}

void CudaBackend::check_launch(const char* op) { check(cudaGetLastError(), op); }

void CudaBackend::check_data_errors() {
  DeviceError e{};  // called after the streams are synchronized
  check(cudaMemcpy(&e, err, sizeof(DeviceError), cudaMemcpyDeviceToHost), "error word");
  if (e.code == 0) return;
  check(cudaMemset(err, 0, sizeof(DeviceError)), "error word");
  if (e.code == 3) bad_input("softmax_xent: label ", e.value, " of row ", e.index, " is outside [0, K)");
  bad_input("embedding_forward: ", e.code == 1 ? "token" : "segment", " id ", e.value, " at position ", e.index,
            " is negative");
}

}  // namespace strata::backend::cuda
