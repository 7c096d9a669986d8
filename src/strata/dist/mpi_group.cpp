// The world group over Open MPI. Every MPI call of a collective runs on one communication thread, in the order the
// process issued them, so all ranks issue the same collectives in the same order while the caller goes on.
// Reductions are a ring (reduce-scatter, then all-gather) over point-to-point messages: a fixed order of
// summation, and no buffer larger than one chunk besides the caller's.
#ifdef STRATA_HAVE_MPI
#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "strata/core/error.h"
#include "strata/dist/process_group.h"

namespace strata::dist {

void complete_request(const std::shared_ptr<Request::State>& s, std::exception_ptr error);
std::shared_ptr<Request::State> new_request_state();

namespace {

constexpr int kTag = 7301;

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) internal_error("MPI ", what, " failed (code ", rc, ")");
}

// A group over an MPI communicator: the world (which initialises and finalises MPI) or a duplicate of it.
class MpiWorld final : public ProcessGroup {
 public:
  MpiWorld() : owns_mpi_(true) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "init");
    // Duplicated groups call MPI from their own threads at the same time as the world's.
    if (provided < MPI_THREAD_MULTIPLE) internal_error("MPI lacks MPI_THREAD_MULTIPLE (level ", provided, ")");
    comm_ = MPI_COMM_WORLD;
    start();
  }
  explicit MpiWorld(MPI_Comm comm) : comm_(comm), owns_mpi_(false) { start(); }
  ~MpiWorld() override {
    if (!owns_mpi_) enqueue([this] { MPI_Comm_free(&comm_); }).wait();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (owns_mpi_) MPI_Finalize();
  }

  std::unique_ptr<ProcessGroup> duplicate() override {
    MPI_Comm dup = MPI_COMM_NULL;
    enqueue([this, &dup] { check(MPI_Comm_dup(comm_, &dup), "comm_dup"); }).wait();
    return std::make_unique<MpiWorld>(dup);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Request all_reduce_sum_async(float* data, std::size_t n, std::function<void()> before) override {
    return reduction(data, n, std::move(before), [this](float* d, std::size_t k) {
      ring_reduce_scatter(d, k);
      ring_all_gather(d, k);
    });
  }
  Request reduce_scatter_sum_async(float* data, std::size_t n, std::function<void()> before) override {
    return reduction(data, n, std::move(before), [this](float* d, std::size_t k) { ring_reduce_scatter(d, k); });
  }
  Request all_gather_async(float* data, std::size_t n, std::function<void()> before) override {
    return reduction(data, n, std::move(before), [this](float* d, std::size_t k) { ring_all_gather(d, k); });
  }

  Request all_reduce_sum_async(double* data, std::size_t n, std::function<void()> before) override {
    return enqueue([this, data, n, before = std::move(before)] {
      if (before) before();
      std::vector<double> all(n * static_cast<std::size_t>(size_));
      check(MPI_Allgather(data, static_cast<int>(n), MPI_DOUBLE, all.data(), static_cast<int>(n), MPI_DOUBLE, comm_),
            "allgather");
      for (std::size_t i = 0; i < n; ++i) {  // rank order: the same sum on every rank
        double s = 0.0;
        for (int r = 0; r < size_; ++r) s += all[static_cast<std::size_t>(r) * n + i];
        data[i] = s;
      }
    });
  }

  void broadcast(void* data, std::size_t bytes, int root) override {
    enqueue([this, data, bytes, root] {
      auto* p = static_cast<char*>(data);
      for (std::size_t off = 0; off < bytes; off += kMaxMessage) {
        const int len = static_cast<int>(std::min(kMaxMessage, bytes - off));
        check(MPI_Bcast(p + off, len, MPI_BYTE, root, comm_), "bcast");
      }
    }).wait();
  }

  Request run_async(std::function<void()> fn) override { return enqueue(std::move(fn)); }
  std::vector<std::string> all_gather(const std::string& mine) override {
    std::vector<std::string> out;
    enqueue([this, &mine, &out] {
      const int len = static_cast<int>(mine.size());
      std::vector<int> lens(static_cast<std::size_t>(size_)), offs(static_cast<std::size_t>(size_));
      check(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm_), "allgather");
      int total = 0;
      for (int r = 0; r < size_; ++r) offs[r] = total, total += lens[r];
      std::string all(static_cast<std::size_t>(total), '\0');
      check(MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offs.data(), MPI_CHAR, comm_),
            "allgatherv");
      for (int r = 0; r < size_; ++r) out.push_back(all.substr(offs[r], lens[r]));
    }).wait();
    return out;
  }

  void barrier() override {
    enqueue([this] { check(MPI_Barrier(comm_), "barrier"); }).wait();
  }

  CommStats stats() const override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    return stats_;
  }
  std::vector<CommInterval> take_intervals() override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    std::vector<CommInterval> out;
    out.swap(intervals_);
    return out;
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  static constexpr std::size_t kMaxMessage = std::size_t{1} << 30;

  Request enqueue(std::function<void()> fn) {
    auto state = new_request_state();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back({std::move(fn), state});
    }
    cv_.notify_all();
    return Request(state);
  }

  void loop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      std::exception_ptr error;
      try {
        job.fn();
      } catch (...) {
        error = std::current_exception();
      }
      complete_request(job.state, error);
    }
  }

  // A collective on floats, timed into the stats.
  Request reduction(float* data, std::size_t n, std::function<void()> before,
                    std::function<void(float*, std::size_t)> ring) {
    return enqueue([this, data, n, before = std::move(before), ring = std::move(ring)] {
      if (before) before();
      const auto t0 = std::chrono::steady_clock::now();
      ring(data, n);
      const auto t1 = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_.reduce_bytes += n * sizeof(float);
      stats_.reduce_seconds += std::chrono::duration<double>(t1 - t0).count();
      intervals_.push_back({t0, t1});
    });
  }

  std::size_t off(std::size_t n, int c) const { return chunk_begin(n, (c % size_ + size_) % size_); }
  int len(std::size_t n, int c) const {
    const int k = (c % size_ + size_) % size_;
    return static_cast<int>(chunk_begin(n, k + 1) - chunk_begin(n, k));
  }

  // Ring reduce-scatter: at step s rank r sends chunk r - s - 1 to the right and adds chunk r - s - 2 from the left;
  // after N - 1 steps rank r holds the sum of chunk r. Chunk c's sum always accumulates in the same ring order.
  void ring_reduce_scatter(float* data, std::size_t n) {
    const int N = size_, r = rank_;
    if (N == 1 || n == 0) return;
    const int left = (r - 1 + N) % N, right = (r + 1) % N;
    tmp_.resize(n / static_cast<std::size_t>(N) + 8);
    for (int s = 0; s < N - 1; ++s) {
      const int send_c = r - s - 1, recv_c = r - s - 2;
      check(MPI_Sendrecv(data + off(n, send_c), len(n, send_c), MPI_FLOAT, right, kTag, tmp_.data(), len(n, recv_c),
                         MPI_FLOAT, left, kTag, comm_, MPI_STATUS_IGNORE),
            "sendrecv");
      float* dst = data + off(n, recv_c);
      for (int i = 0; i < len(n, recv_c); ++i) dst[i] = tmp_[i] + dst[i];
    }
  }

  // Ring all-gather: at step s rank r sends chunk r - s and receives chunk r - s - 1.
  void ring_all_gather(float* data, std::size_t n) {
    const int N = size_, r = rank_;
    if (N == 1 || n == 0) return;
    const int left = (r - 1 + N) % N, right = (r + 1) % N;
    for (int s = 0; s < N - 1; ++s) {
      const int send_c = r - s, recv_c = r - s - 1;
      check(MPI_Sendrecv(data + off(n, send_c), len(n, send_c), MPI_FLOAT, right, kTag, data + off(n, recv_c),
                         len(n, recv_c), MPI_FLOAT, left, kTag, comm_, MPI_STATUS_IGNORE),
            "sendrecv");
    }
  }

  struct Job {
    std::function<void()> fn;
    std::shared_ptr<Request::State> state;
  };

  void start() {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    thread_ = std::thread([this] { loop(); });
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owns_mpi_ = false;
  int rank_ = 0, size_ = 1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stop_ = false;
  std::vector<float> tmp_;  // one chunk: the neighbour's partial sums
  mutable std::mutex stats_mu_;
  CommStats stats_;
  std::vector<CommInterval> intervals_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_mpi_world() { return std::make_unique<MpiWorld>(); }

}  // namespace strata::dist

#endif  // STRATA_HAVE_MPI
