// A small fixed thread pool with a blocking parallel_for. Results must never depend on the thread count:
// callers derive randomness from the item index, never from the worker.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strata {

// Lowers the calling thread's scheduling priority by nice_increment (Linux nice; best effort, never raises it).
void lower_this_thread_priority(int nice_increment);

class ThreadPool {
 public:
  // threads 0: hardware concurrency. nice_increment > 0: the workers run at that much lower priority (background
  // work that should yield the cores to the caller's other threads); the calling thread is not changed.
  // More than max_threads() is bad_input (exit 2). When the system cannot create a worker (a process or memory
  // limit), the workers already started are stopped and joined and a resource_error (exit 3) says how many
  // threads were asked for and how many could be created: never a hang, never a half-built pool.
  explicit ThreadPool(int threads = 0, int nice_increment = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(i) for i in [0, n), items handed out dynamically; the calling thread takes part.
  // The first exception thrown by fn is rethrown after all items finish.
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

  // Calls fn(begin, end) on about size() contiguous chunks of [0, n) (static partition).
  void parallel_chunks(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn);

 private:
  void worker_loop();
  void run_items();
  void stop_workers();  // stop and join every worker (idempotent)

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t job_n_ = 0, next_ = 0, done_ = 0;
  std::size_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Threads to use when the user gave none: STRATA_THREADS, else hardware concurrency.
int default_threads();

// The most threads one pool (or flag: --threads, --eps-threads) may ask for: 4 x the hardware threads, at least
// 64. More is never faster here and only risks exhausting the process's thread or memory limits.
int max_threads();

}  // namespace strata
