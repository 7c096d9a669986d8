// Test helpers for progress and cancellation: a ProgressSink that records every event and can request
// cancellation after the n-th result (as a user pressing Ctrl-C between seeds would), and a timed canceller.
#pragma once
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "strata/core/progress.h"

namespace strata::hier {

class RecordingSink : public ProgressSink {
 public:
  explicit RecordingSink(int cancel_after_results = -1) : cancel_after_(cancel_after_results) {}
  void message(const std::string& text) override { messages.push_back(text); }
  void result(const ResultProgress& r) override {
    results.push_back(r);
    if (static_cast<int>(results.size()) == cancel_after_) request_cancel();
  }
  void wrote(const std::string& path, const std::string& /*what*/) override { files.push_back(path); }

  std::vector<std::string> messages, files;
  std::vector<ResultProgress> results;

 private:
  int cancel_after_;
};

// Requests cancellation on `sink` from another thread after `ms` milliseconds, as SIGINT does in the CLI.
class CancelLater {
 public:
  CancelLater(ProgressSink& sink, int ms)
      : thread_([&sink, ms] {
          std::this_thread::sleep_for(std::chrono::milliseconds(ms));
          sink.request_cancel();
        }) {}
  ~CancelLater() { thread_.join(); }

 private:
  std::thread thread_;
};

}  // namespace strata::hier
