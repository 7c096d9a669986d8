// Shared CLI flags and helpers.
#include "cli/common.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "strata/app/progress.h"
#include "strata/core/error.h"
#include "strata/core/thread_pool.h"
#include "strata/dist/process_group.h"
#include "strata/hier/gmm.h"

namespace strata::cli {

std::set<std::string> given_options(const CLI::App& sub) {
  std::set<std::string> given;
  for (const CLI::Option* opt : sub.get_options())
    if (opt->count() > 0 && !opt->get_lnames().empty()) given.insert(opt->get_lnames().front());
  return given;
}

namespace {
// "[lo, hi]" with the bounds as the user would type them.
std::string range_text(long double lo, long double hi, bool hi_open) {
  std::ostringstream os;
  os << std::setprecision(12) << "[" << lo << ", " << hi << (hi_open ? ")" : "]");
  return os.str();
}
}  // namespace

CLI::Validator int_range(long long lo, unsigned long long hi) {
  const std::string range = cat("[", lo, ", ", hi, "]");
  return CLI::Validator(
      [lo, hi, range](std::string& in) -> std::string {
        const std::string bad = cat("expected an integer in ", range, ", found '", in, "'");
        if (in.empty()) return bad;
        errno = 0;
        char* end = nullptr;
        if (in[0] == '-') {
          const long long v = std::strtoll(in.c_str(), &end, 10);
          if (errno || *end || v < lo) return bad;
        } else {
          if (!std::isdigit(static_cast<unsigned char>(in[in[0] == '+' ? 1 : 0]))) return bad;
          const unsigned long long v = std::strtoull(in.c_str(), &end, 10);
          if (errno || *end || v > hi || (lo > 0 && v < static_cast<unsigned long long>(lo))) return bad;
        }
        return std::string();
      },
      "INT in " + range);
}

CLI::Validator real_range(double lo, double hi, bool hi_open) {
  const std::string range = range_text(lo, hi, hi_open);
  return CLI::Validator(
      [lo, hi, hi_open, range](std::string& in) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = in.empty() ? 0.0 : std::strtod(in.c_str(), &end);
        const bool ok = !in.empty() && !*end && std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
        return ok ? std::string() : cat("expected a finite number in ", range, ", found '", in, "'");
      },
      "NUMBER in " + range);
}

CLI::Validator thread_range(int lo) {
  CLI::Validator v = int_range(lo, static_cast<unsigned long long>(max_threads()));
  v.description(cat("INT in [", lo, ", ", max_threads(), "] (at most 4 x hardware threads, at least 64)"));
  return v;
}

void check_outputs(OutputSet& set, const std::vector<std::pair<std::string, std::string>>& flags) {
  for (const auto& [flag, path] : flags) set.add(flag, path);
}

void add_data_flags(CLI::App* sub, DataFlags& f, bool train_labels, bool test_labels) {
  sub->add_option("--label-column", f.label_column, "CSV: name of the label column (default: 'label', else the last)");
  sub->add_option("--missing", f.missing, "CSV: what to do with empty cells: refuse|mean|zero")
      ->check(CLI::IsMember({"refuse", "mean", "zero"}))
      ->default_val("refuse");
  sub->add_option("--labels", f.labels, ".npy data: labels from a .npy (integers) or .txt (one per line) file");
  if (train_labels)
    sub->add_option("--train-labels", f.train_labels, ".npy training data: its labels file (instead of --labels)");
  if (test_labels)
    sub->add_option("--test-labels", f.test_labels, ".npy test data: its labels file (instead of --labels)");
  sub->add_option("--max-classes", f.max_classes,
                  "refuse data with more distinct labels than this (a continuous label column?)")
      ->check(int_range(2, 100'000'000))
      ->default_val(1000);
}

void check_classes(const data::Dataset& ds, const std::string& spec, long long max_classes) {
  const auto k = static_cast<std::size_t>(ds.num_classes());
  if (static_cast<long long>(k) > max_classes)
    bad_input(spec, ": the labels have ", k, " distinct values in ", ds.n, " examples, more than --max-classes ",
              max_classes,
              "; is the label column continuous? Name the right one with --label-column, or raise "
              "--max-classes if so many classes are meant");
  std::size_t fractional = 0;
  for (const std::string& c : ds.classes) {
    char* end = nullptr;
    const double v = std::strtod(c.c_str(), &end);
    if (!c.empty() && end && !*end && std::isfinite(v) && v != std::floor(v)) ++fractional;
  }
  if (k > 20 && 2 * k > ds.n)
    progress(cat("warning: ", spec, ": ", k, " classes in ", ds.n,
                 " examples, most with one or two examples; is the label column continuous?"));
  else if (fractional > 0)
    progress(cat("warning: ", spec, ": ", fractional, " of the ", k,
                 " labels are fractional numbers; is the label column continuous?"));
}

data::Dataset load_dataset(const std::string& spec, const DataFlags& f, Split split, bool unlabelled) {
  data::LoadOptions o;
  o.label_column = f.label_column;
  o.labels_path = split == Split::kTrain && !f.train_labels.empty() ? f.train_labels
                  : split == Split::kTest && !f.test_labels.empty() ? f.test_labels
                                                                    : f.labels;
  o.missing = f.missing == "mean"   ? data::Missing::kMean
              : f.missing == "zero" ? data::Missing::kZero
                                    : data::Missing::kRefuse;
  o.unlabelled = unlabelled;
  data::Dataset ds = data::load(spec, o);
  if (!unlabelled) check_classes(ds, spec, f.max_classes);
  if (unlabelled)
    progress(cat("read ", spec, ": ", ds.n, " examples, ", ds.d, " features, no labels"));
  else
    progress(cat("read ", spec, ": ", ds.n, " examples, ", ds.d, " features, ", ds.num_classes(), " classes"));
  return ds;
}

void add_learner_flags(CLI::App* sub, LearnerFlags& f) {
  sub->add_option("--learner", f.learner, "base learner at every node: forest|logistic")
      ->check(CLI::IsMember({"forest", "logistic"}))
      ->default_val("forest");
  sub->add_option("--trees", f.trees, "forest: trees per node model")->check(int_range(1, 100000))->default_val(100);
  sub->add_option("--max-depth", f.max_depth, "forest: maximum tree depth (0: unlimited)")
      ->check(int_range(0, 10000))
      ->default_val(0);
  sub->add_option("--min-samples-leaf", f.min_samples_leaf, "forest: minimum examples per leaf")
      ->check(int_range(1, kMaxCount))
      ->default_val(1);
  sub->add_flag("--honest", f.honest, "forest: honest trees (split on one half, estimate leaves on the other)");
  sub->add_option("--l2", f.l2, "logistic: L2 penalty")->check(real_range(0, 1e12))->default_val(1e-4);
  sub->add_option("--threads", f.threads, "worker threads (0: all cores); results do not depend on it")
      ->check(thread_range())
      ->default_val(0);
}

hier::LearnerConfig learner_config(const LearnerFlags& f, std::uint64_t seed) {
  hier::LearnerConfig c;
  c.kind = f.learner;
  c.forest.n_trees = f.trees;
  c.forest.max_depth = f.max_depth;
  c.forest.min_samples_leaf = f.min_samples_leaf;
  c.forest.honest = f.honest;
  c.forest.seed = seed;
  c.forest.threads = f.threads;
  c.logistic.l2 = f.l2;
  c.logistic.threads = f.threads;
  return c;
}

void add_induce_flags(CLI::App* sub, InduceFlags& f) {
  auto& c = f.cfg;
  sub->add_option("--method", c.method, "class-conditional representation: means|mmd|tasksim")
      ->check(CLI::IsMember({"means", "mmd", "tasksim"}))
      ->default_val("means");
  sub->add_option("--embed", c.embed, "embedding: none|cmds|ase")
      ->check(CLI::IsMember({"none", "cmds", "ase"}))
      ->default_val("cmds");
  sub->add_option("--cluster", c.cluster, "clustering: gmm|agglomerative|kmeans")
      ->check(CLI::IsMember({"gmm", "agglomerative", "kmeans"}))
      ->default_val("gmm");
  sub->add_option("--linkage", c.linkage, "agglomerative linkage: average|ward|single|complete")
      ->check(CLI::IsMember({"average", "ward", "single", "complete"}))
      ->default_val("average");
  sub->add_option("--k-min", c.k_min, "smallest number of groups")->check(int_range(1, 100000))->default_val(2);
  sub->add_option("--k-max", c.k_max, "largest number of groups (0: max(2, classes/2))")
      ->check(int_range(0, 100000))
      ->default_val(0);
  sub->add_option("--dims", c.dims, "embedding dimensions (0: profile-likelihood elbow)")
      ->check(int_range(0, 100000))
      ->default_val(0);
  sub->add_option("--pca", c.pca_dims, "means: project to this many principal components first (0: none)")
      ->check(int_range(0, 100000))
      ->default_val(0);
  sub->add_option("--negatives", c.negatives, "tasksim: random third classes per pair")
      ->check(int_range(1, 10000))
      ->default_val(5);
  sub->add_option("--reg-covar", c.reg_covar, "gmm: covariance regularisation, relative to the points' variance")
      ->check(real_range(0, 1e6))
      ->default_val(3e-2);
  sub->add_option("--covariance", f.covariances, "gmm covariance types to try (default: all four)")
      ->check(CLI::IsMember({"spherical", "diag", "tied", "full"}));
}

hier::InduceConfig induce_config(const InduceFlags& f, std::uint64_t seed, int threads) {
  hier::InduceConfig c = f.cfg;
  if (!f.covariances.empty()) {
    c.covariances.clear();
    for (const auto& s : f.covariances) c.covariances.push_back(hier::parse_covariance(s));
  }
  c.seed = seed;
  c.threads = threads;
  hier::validate(c);
  return c;
}

namespace {
std::string g_progress_format = "text";

void on_sigint(int) {
  progress_sink().request_cancel();  // a relaxed store to a lock-free atomic: async-signal-safe
  std::signal(SIGINT, SIG_DFL);      // the second Ctrl-C ends the process
}
}  // namespace

void add_progress_flag(CLI::App& app) {
  app.add_option("--progress", g_progress_format, "progress on stderr: text, json (one object per line) or none")
      ->check(CLI::IsMember({"text", "json", "none"}))
      ->default_val("text");
}

ProgressSink& progress_sink() {
  static app::TextProgress text(std::cerr);
  static app::JsonLinesProgress json(std::cerr);
  static ProgressSink silent;
  static bool installed = [] { return std::signal(SIGINT, on_sigint) != SIG_ERR; }();
  (void)installed;
  if (dist::launched_by_mpi() && !dist::world().is_root()) return silent;  // under mpirun rank 0 speaks
  if (g_progress_format == "json") return json;
  if (g_progress_format == "none") return silent;
  return text;
}

void progress(const std::string& msg) { progress_sink().message(msg); }

int parse_micro_batch(const std::string& text) {
  if (text == "auto") return 0;
  std::size_t used = 0;
  int v = -1;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
  }
  if (v <= 0 || used != text.size())
    bad_input("--micro-batch: expected a positive integer or auto, found '", text, "'");
  return v;
}

}  // namespace strata::cli
