// Test helper: several "ranks" of a process group as threads of this test, so code that runs over ranks (a forest's
// trees, compare's seeds, the EPS's reductions) can be checked against one process without mpirun. Collectives meet at a
// shared rendezvous and combine in rank order, as the MPI group does.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "strata/dist/process_group.h"

namespace strata::testing {

// Where the ranks' collectives meet: every rank hands in a string; once all have, each gets all of them in rank
// order. A rank left waiting 60 s throws instead of hanging the test (the bug a cancel test looks for).
class Rendezvous {
 public:
  explicit Rendezvous(int ranks) : slots_(static_cast<std::size_t>(ranks)) {}
  std::vector<std::string> exchange(int rank, std::string mine) {
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t gen = gen_;
    slots_[static_cast<std::size_t>(rank)] = std::move(mine);
    if (++arrived_ == slots_.size()) {
      // The next round cannot complete before every rank of this one has copied done_: each must arrive again.
      done_ = slots_;
      arrived_ = 0;
      ++gen_;
      cv_.notify_all();
      return done_;
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return gen_ != gen; }))
      throw std::runtime_error("rank " + std::to_string(rank) + " waited 60 s at a collective");
    return done_;
  }
  int size() const { return static_cast<int>(slots_.size()); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> slots_, done_;
  std::size_t arrived_ = 0;
  std::uint64_t gen_ = 0;
};

class ThreadRank : public dist::ProcessGroup {
 public:
  ThreadRank(Rendezvous& hub, int rank) : hub_(hub), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.size(); }
  using dist::ProcessGroup::all_reduce_sum;
  dist::Request all_reduce_sum_async(float* data, std::size_t n, std::function<void()> before) override {
    if (before) before();
    sum(data, n);
    return dist::Request();
  }
  dist::Request all_reduce_sum_async(double* data, std::size_t n, std::function<void()> before) override {
    if (before) before();
    sum(data, n);
    return dist::Request();
  }
  // Sharded halves: the whole sum everywhere is a valid reduce-scatter (each rank's chunk holds the sum), and
  // after it every chunk already holds the gathered values.
  dist::Request reduce_scatter_sum_async(float* data, std::size_t n, std::function<void()> before) override {
    return all_reduce_sum_async(data, n, std::move(before));
  }
  dist::Request all_gather_async(float* data, std::size_t n, std::function<void()> before) override {
    if (before) before();
    const auto all = hub_.exchange(rank_, std::string(reinterpret_cast<const char*>(data), n * sizeof(float)));
    for (int r = 0; r < size(); ++r) {
      const std::size_t b = chunk_begin(n, r), e = chunk_begin(n, r + 1);
      std::memcpy(data + b, all[static_cast<std::size_t>(r)].data() + b * sizeof(float), (e - b) * sizeof(float));
    }
    return dist::Request();
  }
  dist::Request run_async(std::function<void()> fn) override {
    fn();
    return dist::Request();
  }
  std::vector<dist::CommInterval> take_intervals() override { return {}; }
  std::unique_ptr<dist::ProcessGroup> duplicate() override { return std::make_unique<ThreadRank>(hub_, rank_); }
  void broadcast(void* data, std::size_t bytes, int root) override {
    const auto all = hub_.exchange(rank_, rank_ == root ? std::string(static_cast<char*>(data), bytes) : "");
    std::memcpy(data, all[static_cast<std::size_t>(root)].data(), bytes);
  }
  std::vector<std::string> all_gather(const std::string& mine) override { return hub_.exchange(rank_, mine); }
  void barrier() override { hub_.exchange(rank_, ""); }
  dist::CommStats stats() const override { return {}; }
  [[noreturn]] void abort(int /*code*/) override { std::abort(); }

 private:
  template <typename T>
  void sum(T* data, std::size_t n) {
    const auto all = hub_.exchange(rank_, std::string(reinterpret_cast<const char*>(data), n * sizeof(T)));
    std::vector<T> acc(n, T(0)), v(n);
    for (const auto& s : all) {  // rank order, as the MPI group's fixed order
      std::memcpy(v.data(), s.data(), n * sizeof(T));
      for (std::size_t i = 0; i < n; ++i) acc[i] += v[i];
    }
    std::memcpy(data, acc.data(), n * sizeof(T));
  }
  Rendezvous& hub_;
  int rank_;
};

// Runs fn(group, rank) on `ranks` threads, one rank each; returns what each rank threw (null where nothing).
inline std::vector<std::exception_ptr> run_ranks(int ranks, const std::function<void(dist::ProcessGroup&, int)>& fn) {
  Rendezvous hub(ranks);
  std::vector<std::exception_ptr> thrown(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      ThreadRank group(hub, r);
      try {
        fn(group, r);
      } catch (...) {
        thrown[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  return thrown;
}

// Rethrows the first rank's failure, so a test reports it.
inline void rethrow_any(const std::vector<std::exception_ptr>& thrown) {
  for (const auto& e : thrown)
    if (e) std::rethrow_exception(e);
}

}  // namespace strata::testing
