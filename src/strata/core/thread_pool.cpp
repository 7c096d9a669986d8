// ThreadPool implementation: one job at a time, items claimed under a mutex in small steps.
#include "strata/core/thread_pool.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <system_error>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "strata/core/error.h"

namespace strata {

int default_threads() {
  if (const char* env = std::getenv("STRATA_THREADS")) {
    int t = std::atoi(env);
    if (t > 0) return t;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

void lower_this_thread_priority(int nice_increment) {
  if (nice_increment <= 0) return;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, std::min(19, now + nice_increment));  // best effort
}

int max_threads() {
  const unsigned hc = std::thread::hardware_concurrency();
  return std::max(64, 4 * static_cast<int>(hc == 0 ? 1 : hc));
}

ThreadPool::ThreadPool(int threads, int nice_increment) {
  if (threads <= 0) threads = std::min(default_threads(), max_threads());
  if (threads > max_threads())
    bad_input("asked for ", threads, " threads; at most ", max_threads(),
              " are allowed (4 x the hardware threads, at least 64)");
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) {
    try {
      workers_.emplace_back([this, nice_increment] {
        lower_this_thread_priority(nice_increment);
        worker_loop();
      });
    } catch (const std::system_error& e) {
      const int made = static_cast<int>(workers_.size()) + 1;  // the caller's thread counts
      stop_workers();
      resource_error("asked for ", threads, " threads but only ", made, " could be created (", e.what(),
                     "; a process or memory limit?); ask for at most ", made);
    }
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void ThreadPool::run_items() {
  for (;;) {
    std::size_t i;
    const std::function<void(std::size_t)>* job;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (next_ >= job_n_) return;
      i = next_++;
      job = job_;
    }
    try {
      (*job)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (++done_ == job_n_) cv_done_.notify_all();
    }
  }
}

void ThreadPool::worker_loop() {
  std::size_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_work_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++busy_;
    }
    run_items();
    {
      std::lock_guard<std::mutex> lk(mu_);
      --busy_;
    }
    cv_done_.notify_all();
  }
}

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &fn;
    job_n_ = n;
    next_ = 0;
    done_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  cv_work_.notify_all();
  run_items();
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_done_.wait(lk, [&] { return done_ == job_n_ && busy_ == 0; });
    job_ = nullptr;
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

void ThreadPool::parallel_chunks(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) {
  std::size_t parts = std::min<std::size_t>(n, static_cast<std::size_t>(size()));
  if (parts == 0) return;
  parallel_for(parts, [&](std::size_t p) {
    std::size_t b = n * p / parts, e = n * (p + 1) / parts;
    if (b < e) fn(b, e);
  });
}

}  // namespace strata
