// Flags and helpers shared by the hierarchy subcommands: data-reader flags, learner flags, induction flags,
// and the progress sink.
#pragma once
#include <CLI/CLI.hpp>
#include <set>
#include <string>
#include <vector>

#include "strata/core/file.h"
#include "strata/core/memory.h"
#include "strata/core/progress.h"
#include "strata/data/dataset.h"
#include "strata/hier/classifier.h"
#include "strata/hier/induce.h"

namespace strata::cli {

// Ranges of numeric flags, checked at parse time: a value outside (an integer flag given a fraction, NaN or
// infinity anywhere) is exit 2 naming the flag, the range and the value. Bounds are inclusive unless said.
CLI::Validator int_range(long long lo, unsigned long long hi);
CLI::Validator real_range(double lo, double hi, bool hi_open = false);
// --threads and the like: [lo, max_threads()] (core/thread_pool.h).
CLI::Validator thread_range(int lo = 0);
// --micro-batch: a positive integer, or auto (0: the planner picks the largest that fits); bad_input otherwise.
int parse_micro_batch(const std::string& text);
constexpr long long kMaxCount = 1'000'000'000;        // examples, rows, per-class counts
constexpr long long kMaxSteps = 1'000'000'000'000LL;  // steps, checkpoint intervals
constexpr unsigned long long kMaxSeed = ~0ULL;        // seeds: any unsigned 64-bit value

// The long names of the options given on the command line (a resumed run keeps the others from its checkpoint).
std::set<std::string> given_options(const CLI::App& sub);

// The executor flags train and pretrain share: --executor, --backend, --micro-batch, --device-memory, --device-dtype,
// --stash, --eps-threads, --recompute, --stash-memory. Options is app::TrainOptions
// or app::PretrainOptions (the same field names). Byte sizes and the micro-batch stay text until apply() parses them in
// the subcommand's callback.
struct ExecutorFlags {
  std::string device_memory, stash_memory, micro_batch;

  template <class Options>
  void add(CLI::App* sub, Options& o, const std::string& executor_help, const std::string& micro_batch_default) {
    micro_batch = micro_batch_default;
    sub->add_option("--executor", o.executor, executor_help)
        ->default_val("baseline")
        ->check(CLI::IsMember({"baseline", "l2l"}));
    sub->add_option("--backend", o.backend, "device backend (cpu; cuda where this build has it)")->default_val("cpu");
    sub->add_option("--micro-batch", micro_batch, "examples per micro-batch (divides --batch) | auto")
        ->default_val(micro_batch_default);
    sub->add_option("--device-memory", device_memory, "device memory budget, e.g. 512MiB (default: no limit)");
    sub->add_option("--device-dtype", o.device_dtype,
                    "l2l: slabs, stash (and decoder chunks) on the device: f32 | bf16")
        ->default_val("f32")
        ->check(CLI::IsMember({"f32", "bf16"}));
    sub->add_option("--stash", o.stash, "l2l: stashed activations in host | device memory")
        ->default_val("host")
        ->check(CLI::IsMember({"host", "device"}));
    sub->add_option("--eps-threads", o.eps_threads, "l2l: param-server optimizer threads")
        ->check(thread_range(1))
        ->default_val(2);
    sub->add_option("--recompute", o.recompute,
                    "l2l: recompute each layer's forward in the backward (on), stash its saved activations instead "
                    "(off), or off when the stash fits (auto)")
        ->default_val("auto")
        ->check(CLI::IsMember({"auto", "on", "off"}));
    sub->add_option("--stash-memory", stash_memory,
                    "l2l: host memory the stash may use, e.g. 4GiB (default: half the available memory)");
  }

  template <class Options>
  void apply(Options& o) const {
    if (!device_memory.empty()) o.device_memory = parse_bytes(device_memory, "--device-memory");
    if (!stash_memory.empty()) o.stash_memory = parse_bytes(stash_memory, "--stash-memory");
    o.micro_batch = parse_micro_batch(micro_batch);
  }
};

// Checks every output path a command will write before its work starts, and publishes them together at its end
// (core/file.h OutputSet). The flags are (name, path) pairs; empty paths are skipped.
void check_outputs(OutputSet& set, const std::vector<std::pair<std::string, std::string>>& flags);

struct DataFlags {
  std::string label_column;
  std::string missing = "refuse";
  std::string labels;            // --labels: of every .npy data spec of the command
  std::string train_labels;      // --train-labels: of the --train .npy only (wins over --labels)
  std::string test_labels;       // --test-labels: of the --test .npy only (wins over --labels)
  long long max_classes = 1000;  // --max-classes: more distinct labels than this is refused (a continuous column?)
};
// Labels that look like a continuous column: more classes than --max-classes is bad input; many classes of one or
// two examples each, or fractional numbers as labels, a warning through the progress sink.
void check_classes(const data::Dataset& ds, const std::string& spec, long long max_classes);
// Which data spec of a command is read: its own labels flag applies to it.
enum class Split { kAny, kTrain, kTest };
// train_labels / test_labels: also offer --train-labels / --test-labels, so that a command reading two .npy sets
// (compare) gives each its own labels file.
void add_data_flags(CLI::App* sub, DataFlags& f, bool train_labels = false, bool test_labels = false);
// unlabelled: features only (predict): a CSV's every column is a feature, a .npy needs no labels file.
data::Dataset load_dataset(const std::string& spec, const DataFlags& f, Split split = Split::kAny,
                           bool unlabelled = false);

struct LearnerFlags {
  std::string learner = "forest";
  int trees = 100;
  int max_depth = 0;
  int min_samples_leaf = 1;
  bool honest = false;
  double l2 = 1e-4;
  int threads = 0;
};
void add_learner_flags(CLI::App* sub, LearnerFlags& f);
hier::LearnerConfig learner_config(const LearnerFlags& f, std::uint64_t seed);

struct InduceFlags {
  hier::InduceConfig cfg;
  std::vector<std::string> covariances;
};
void add_induce_flags(CLI::App* sub, InduceFlags& f);
hier::InduceConfig induce_config(const InduceFlags& f, std::uint64_t seed, int threads);

// The process's progress sink (core/progress.h), chosen by the top-level --progress flag: "text" (default: the
// "strata: ..." lines on stderr), "json" (one JSON object per event on stderr) or "none". While an operation runs,
// the first SIGINT requests cancellation through it (the operation stops at its next check and the process exits
// 130); a second SIGINT ends the process at once.
void add_progress_flag(CLI::App& app);
ProgressSink& progress_sink();
// A free-text line through the sink.
void progress(const std::string& msg);

// Subcommand registration, one per file.
void register_induce(CLI::App& app);
void register_fit(CLI::App& app);
void register_predict(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_compare(CLI::App& app);
void register_simulate(CLI::App& app);
void register_train(CLI::App& app);
void register_pretrain(CLI::App& app);
void register_embed(CLI::App& app);

}  // namespace strata::cli
