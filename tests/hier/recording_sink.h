// A ProgressSink for tests: records every event, and can request cancellation after the n-th result, the way a
// user pressing Ctrl-C between seeds would.
#pragma once
#include <string>
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

}  // namespace strata::hier
