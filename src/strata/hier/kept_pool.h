// A thread pool that a fitted model creates on its first parallel prediction and keeps for the later ones, so
// repeated predict_proba calls (the hierarchical classifier makes one per node) stop paying for thread start-up.
#pragma once
#include <atomic>
#include <memory>

#include "strata/core/thread_pool.h"

namespace strata::hier {

// Owned by a model, not shared between models: copies and moves start empty (a pool cannot be copied, and a
// moved-from model must still predict). Prediction is const and may run on several threads at once, while a
// ThreadPool runs one job at a time: a call that finds the kept pool busy (another thread, or a call nested in
// one of its jobs, even on the same thread, hence a flag rather than a mutex) runs on a pool of its own.
// Callers' results never depend on which pool or how many threads run a job.
class KeptPool {
 public:
  KeptPool() = default;
  KeptPool(const KeptPool&) noexcept {}
  KeptPool& operator=(const KeptPool&) noexcept { return *this; }

  // fn(ThreadPool&) on the kept pool (created with `threads` threads on first use), else on a temporary one.
  template <typename Fn>
  void run(int threads, Fn&& fn) const {
    if (busy_.exchange(true, std::memory_order_acquire)) {
      ThreadPool own(threads);
      fn(own);
      return;
    }
    struct Release {
      std::atomic<bool>& busy;
      ~Release() { busy.store(false, std::memory_order_release); }
    } release{busy_};
    if (!pool_) pool_ = std::make_unique<ThreadPool>(threads);
    fn(*pool_);
  }

 private:
  mutable std::atomic<bool> busy_{false};  // true while a call uses pool_; only that call touches pool_
  mutable std::unique_ptr<ThreadPool> pool_;
};

}  // namespace strata::hier
