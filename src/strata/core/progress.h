// Progress and events as data: what a long operation (train, compare, simulate, fit) reports while it runs, and the
// cancel flag it checks between steps, seeds or trees. Sinks decide what to do with them: the CLI prints today's
// "strata: ..." lines on stderr, a log writes JSON lines (app/progress.h), the Python bindings call back.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "strata/core/error.h"

namespace strata {

// One optimizer step done.
struct StepProgress {
  std::int64_t step = 0;   // steps done (1-based index of this step)
  std::int64_t total = 0;  // planned steps
  double loss = 0.0;
  double lr = 0.0;
  double tokens_per_s = 0.0;  // at the median step time so far
  double eta_seconds = 0.0;   // until the last step of this call
};

// One unit of an experiment done (a seed of `compare`, a setting of `simulate`): named numbers, in a fixed order.
struct ResultProgress {
  std::string experiment;  // "compare", "simulate"
  int index = 0;           // 1-based
  int count = 0;           // units planned
  std::string label;       // what the unit was ("seed 3", "sigma2_group 0.1, 4 classes/group, 5 samples/class")
  std::vector<std::pair<std::string, double>> values;  // e.g. ("flat", 0.81), ("induced", 0.80)
  std::string summary;                                 // the same as one human-readable line (what the CLI prints)
};

// Thrown by check_cancel(); the CLI exits 130 (as for SIGINT).
class Cancelled : public Error {
 public:
  Cancelled() : Error(ExitCode::kCancelled, "cancelled") {}
};

// The sink interface. Every method has a no-op default, so a sink overrides what it shows. Events arrive on the
// thread that runs the operation, in order.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void message(const std::string& /*text*/) {}  // a free-text line ("training a tokenizer on ...")
  virtual void step(const StepProgress& /*p*/) {}
  virtual void result(const ResultProgress& /*r*/) {}
  virtual void wrote(const std::string& /*path*/, const std::string& /*what*/) {}  // a file is complete

  // Cancellation: any thread may request it; the operation notices at its next check_cancel() (between steps,
  // trees or seeds), stops without writing partial output and throws Cancelled.
  void request_cancel() { cancel_.store(true, std::memory_order_relaxed); }
  bool cancel_requested() const { return cancel_.load(std::memory_order_relaxed); }
  void check_cancel() const {
    if (cancel_requested()) throw Cancelled();
  }

  // A sink that ignores everything and is never cancelled: the default argument of operations.
  static ProgressSink& none() {
    static ProgressSink sink;
    return sink;
  }

 private:
  std::atomic<bool> cancel_{false};
};

}  // namespace strata
