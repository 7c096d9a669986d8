// The training driver behind `strata train` (an application of the engine): options and resume state -> data and
// tokenizer -> backend and executor -> the loop (progress, metrics log, checkpoints) -> evaluation and report.
// Inference helpers (evaluate, embed) are in inference.h, data in token_data.h, options in train_options.h.
#pragma once
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/app/inference.h"
#include "strata/app/token_data.h"
#include "strata/app/train_options.h"
#include "strata/core/progress.h"

namespace strata::app {

using train::Executor;

struct TrainResult {
  nlohmann::json report;       // what --report writes
  std::vector<double> losses;  // per step run in this call
};

// Trains as `strata train` does. explicit_flags names the options the user gave (CLI option names without dashes,
// e.g. "lr", "threads"): on --resume the saved options are used, and an explicit flag that would change the
// trajectory is bad_input; the free ones (train_options.h, OnResume) apply. Progress goes to `progress` (nothing
// when options.quiet); a cancel requested through it stops the run between steps, after saving a checkpoint when
// --save is given, and throws Cancelled.
TrainResult train(const TrainOptions& options, const std::set<std::string>& explicit_flags = {},
                  ProgressSink& progress = ProgressSink::none());

}  // namespace strata::app
