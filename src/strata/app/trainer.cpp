// The training driver in named stages: resolve_run (options and resume state) -> load_run_data (data, tokenizer)
// -> build_engine (model, backend, executor, initial state) -> plan_steps -> TrainLoop (steps, progress, log,
// checkpoints, cancel) -> make_report and evaluate_test.
#include "strata/app/trainer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>

#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/json.h"
#include "strata/core/memory.h"
#include "strata/data/tokenizer.h"
#include "strata/dist/process_group.h"
#include "strata/train/checkpoint.h"
#include "strata/train/pretrained.h"
#include "strata/train/schedule.h"

namespace strata::app {

namespace fs = std::filesystem;
using train::Checkpoint;
using train::StepStats;

namespace {

std::size_t peak_rss_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::size_t>(ru.ru_maxrss) * 1024;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Progress lines and events, silenced by --quiet (cancellation still works).
struct Say {
  ProgressSink& sink;
  bool quiet;
  void operator()(const std::string& msg) const {
    if (!quiet) sink.message(msg);
  }
  void wrote(const std::string& path, const std::string& what) const {
    if (!quiet) sink.wrote(path, what);
  }
};

// ---- stage 1: the options this run uses, and the checkpoint it continues ----------------------------------------

struct RunSetup {
  TrainOptions o;
  Checkpoint resume;  // dir empty: a new run
  SavedState resume_state;
  bool resuming() const { return !resume.dir.empty(); }
};

// The config that --model/--layers ask for, shaped like the checkpoint's (so loading names the first tensor that
// differs instead of refusing the flag).
model::BertConfig expected_config(const TrainOptions& given, const TrainOptions& saved) {
  const model::BertConfig old = model::load_bert_config(given.resume + "/config.json");
  TrainOptions probe = saved;
  probe.model = given.model;
  probe.layers = given.layers;
  data::TokenDataset shape;
  shape.vocab = old.vocab_size;
  shape.num_classes = old.num_labels;
  for (int k = 0; k < old.num_labels; ++k) shape.classes.push_back(old.label(k));
  return config_for(probe, shape);
}

// An explicit flag that would change a resumed run's trajectory is bad_input. Returns the config --model/--layers
// ask for when they differ from the saved run's.
std::optional<model::BertConfig> check_fixed_flags(const TrainOptions& given, const TrainOptions& saved,
                                                   const std::set<std::string>& explicit_flags,
                                                   const std::string& state_path) {
  const nlohmann::json now = to_json(given), was = to_json(saved);
  std::optional<model::BertConfig> expect;
  for (const std::string& f : explicit_flags) {
    if (free_on_resume(f) || !now.contains(f) || now[f] == was[f]) continue;
    if (f == "model" || f == "layers") {
      expect = expected_config(given, saved);
      continue;
    }
    bad_input("--", f, " ", now[f].dump(), " differs from the resumed run's ", was[f].dump(), " (", state_path,
              "); a resumed run keeps the options that fix its trajectory (free to change: ", free_on_resume_list(),
              ")");
  }
  return expect;
}

// The resumed checkpoint's trainer_state.json, checked field by field against itself and its config.json.
SavedState read_trainer_state(const std::string& dir) {
  const std::string state_path = dir + "/trainer_state.json";
  if (!fs::is_directory(dir)) bad_input("--resume ", dir, ": not a directory");
  if (!fs::exists(state_path)) bad_input("--resume ", dir, ": no trainer_state.json");
  if (!fs::exists(dir + "/config.json")) bad_input("--resume ", dir, ": no config.json");
  const model::BertConfig cfg = model::load_bert_config(dir + "/config.json");
  return read_saved_state(parse_json(read_file(state_path), state_path), state_path, true, cfg.max_position_embeddings);
}

RunSetup resolve_run(const TrainOptions& options, const std::set<std::string>& explicit_flags) {
  RunSetup run;
  run.o = options;
  if (!options.resume.empty()) {
    run.resume_state = read_trainer_state(options.resume);
    TrainOptions saved = run.resume_state.options;
    const std::optional<model::BertConfig> expect =
        check_fixed_flags(options, saved, explicit_flags, options.resume + "/trainer_state.json");
    run.resume = train::load_checkpoint(options.resume, true, expect ? &*expect : nullptr);
    copy_fields(options, saved, [&](const std::string& name, OnResume r) {
      return r == OnResume::kRun || (r == OnResume::kFree && explicit_flags.count(name));
    });
    if (!explicit_flags.count("steps") && !explicit_flags.count("epochs")) {
      if (run.resume_state.total_steps > 0) saved.steps = run.resume_state.total_steps;
      saved.epochs = 0;
    } else if (explicit_flags.count("steps")) {
      saved.epochs = 0;
    }
    if (saved.save.empty()) saved.save = options.resume;
    run.o = saved;
  }
  validate(run.o);
  if (!run.o.init.empty() && !run.resuming() && (explicit_flags.count("model") || explicit_flags.count("layers")))
    bad_input("--init ", run.o.init, ": the pre-trained directory fixes the architecture; drop --model/--layers");
  if (!run.o.save.empty()) train::check_checkpoint_target(run.o.save);
  return run;
}

// ---- stage 2: data and tokenizer ----------------------------------------------------------------------------------

struct RunData {
  TokenData train, test;
  std::string tokenizer_path;              // "" for synthetic data
  std::unique_ptr<TempDir> tokenizer_dir;  // holds a tokenizer trained for a run without --save
};

// The resumed run's tokenizer, --tokenizer, or one trained on the training texts.
void find_tokenizer(const RunSetup& run, const data::TextDataset& texts, RunData& d, const Say& say) {
  const TrainOptions& o = run.o;
  if (run.resuming()) {
    if (run.resume.tokenizer_path.empty())
      bad_input("--resume ", run.resume.dir, ": no tokenizer.model or vocab.txt, but ", o.data, " is text data");
    d.tokenizer_path = run.resume.tokenizer_path;
  } else if (!o.tokenizer.empty()) {
    d.tokenizer_path = data::Tokenizer::resolve(o.tokenizer);  // a directory: its vocab.txt or tokenizer.model
    if (d.tokenizer_path.empty()) bad_input("--tokenizer ", o.tokenizer, ": holds no vocab.txt or tokenizer.model");
  } else if (!o.init.empty()) {  // the pre-trained embeddings are indexed by that directory's vocabulary
    d.tokenizer_path = data::Tokenizer::resolve(o.init);
    if (d.tokenizer_path.empty() || !fs::is_directory(o.init))
      bad_input("--init ", o.init, ": no vocab.txt or tokenizer.model, and ", o.data,
                " is text data (give the vocabulary the model was pre-trained with as --tokenizer)");
  } else {
    d.tokenizer_dir = std::make_unique<TempDir>();
    dist::ProcessGroup& w = dist::world();
    if (w.is_root()) {  // data parallel: one process trains it, the others receive the file
      say(cat("training a SentencePiece tokenizer (", o.vocab_size, " pieces) on ", texts.texts.size(),
              " training texts"));
      d.tokenizer_path =
          data::Tokenizer::train(texts.texts, o.vocab_size, d.tokenizer_dir->path(), o.seed).model_path();
    }
    if (w.size() > 1) d.tokenizer_path = dist::share_root_file(w, d.tokenizer_path, d.tokenizer_dir->path() + "/shared.model");
  }
}

// A classifier needs two classes in its training split (as `strata fit` requires).
void check_two_classes(const std::string& spec, const data::TokenDataset& t) {
  std::vector<char> present(static_cast<std::size_t>(std::max(t.num_classes, 1)), 0);
  std::size_t k = 0, first = 0;
  for (const std::int32_t y : t.y) {
    const auto c = static_cast<std::size_t>(y);
    if (c < present.size() && !present[c]++ && k++ == 0) first = c;
  }
  if (k >= 2) return;
  if (k == 0) bad_input(spec, ": the training split has no labelled examples; at least 2 classes are needed");
  const std::string name = first < t.classes.size() ? t.classes[first] : std::to_string(first);
  bad_input(spec, ": every one of the ", t.y.size(), " training examples has label '", name,
            "'; at least 2 classes are needed");
}

RunData load_run_data(const RunSetup& run, const Say& say) {
  const TrainOptions& o = run.o;
  RunData d;
  if (!is_text_spec(o.data)) {
    d.train = load_token_data(o.data, "train", "", o.seq_len, o.seed);
    d.test = load_token_data(o.data, "test", "", o.seq_len, o.seed);
  } else {
    // Both splits are read (and checked) before the tokenizer: under mpirun a bad file must fail before any process
    // waits for another in a collective.
    const data::TextDataset train_text = data::load_text(o.data, "train");
    const data::TextDataset test_text = data::load_text(o.data, "test");
    find_tokenizer(run, train_text, d, say);
    d.train = encode_text(train_text, d.tokenizer_path, o.seq_len);
    d.test = encode_text(test_text, d.tokenizer_path, o.seq_len);
  }
  if (d.train.tokens.n < o.batch)
    bad_input(o.data, ": the training split has ", d.train.tokens.n, " rows, fewer than --batch ", o.batch);
  check_two_classes(o.data, d.train.tokens);
  if (d.train.truncated + d.test.truncated > 0)
    say(cat("truncated ", d.train.truncated, " training and ", d.test.truncated, " test texts to --seq-len ",
            o.seq_len));
  return d;
}

// ---- stage 3: model, backend, executor, initial state --------------------------------------------------------------

struct Engine {
  dist::ProcessGroup* group = nullptr;  // data parallel over the world group, or null (one process)
  int local_batch = 0;                  // this process's rows of each global batch
  model::BertConfig config;
  std::unique_ptr<model::Bert> model;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<Executor> executor;
  int micro_batch = 0;  // what the planner chose
  std::string init_note;  // --init: what was loaded, initialised and left unused
};

// --init: the pre-trained directory's architecture, with the data's labels and this run's dropout.
model::BertConfig init_config(const TrainOptions& o, const data::TokenDataset& train) {
  model::BertConfig cfg = train::pretrained_config(o.init);
  if (train.vocab > cfg.vocab_size)
    bad_input("--init ", o.init, ": config.json has vocab_size ", cfg.vocab_size, ", but ", o.data,
              " is encoded with a vocabulary of ", train.vocab, " (use the tokenizer the model was pre-trained with)");
  if (o.seq_len > cfg.max_position_embeddings)
    bad_input("--seq-len ", o.seq_len, " exceeds the model's max_position_embeddings (", cfg.max_position_embeddings,
              ", ", o.init, "/config.json)");
  cfg.num_labels = train.num_classes;
  cfg.id2label = train.classes;
  if (o.dropout >= 0.0f) {
    cfg.hidden_dropout_prob = o.dropout;
    cfg.attention_probs_dropout_prob = o.dropout;
    cfg.classifier_dropout.reset();
  }
  cfg.validate();
  return cfg;
}

model::BertConfig model_config(const RunSetup& run, const data::TokenDataset& train) {
  const TrainOptions& o = run.o;
  if (!run.resuming()) return o.init.empty() ? config_for(o, train) : init_config(o, train);
  const model::BertConfig& cfg = run.resume.config;
  if (cfg.num_labels != train.num_classes || cfg.vocab_size < train.vocab)
    bad_input("--resume ", run.resume.dir, ": the checkpoint has ", cfg.num_labels, " labels and vocabulary ",
              cfg.vocab_size, ", but ", o.data, " has ", train.num_classes, " classes and vocabulary ", train.vocab);
  if (o.seq_len > cfg.max_position_embeddings)
    bad_input("--seq-len ", o.seq_len, " exceeds max_position_embeddings ", cfg.max_position_embeddings);
  return cfg;
}

// Under mpirun: the world group, once --batch splits into equal shares of whole micro-batches.
dist::ProcessGroup* data_parallel_group(const TrainOptions& o) {
  dist::ProcessGroup& w = dist::world();
  const int N = w.size();
  if (N == 1) return nullptr;
  const int unit = N * std::max(1, o.micro_batch);
  if (o.batch % unit != 0) {
    std::string ok;
    for (int b = unit; b <= std::max(o.batch, unit) * 2 && ok.size() < 60; b += unit)
      ok += cat(ok.empty() ? "" : ", ", b);
    bad_input("--batch ", o.batch, " does not split over ", N, " processes",
              o.micro_batch > 0 ? cat(" x --micro-batch ", o.micro_batch) : std::string(), "; values that do: ", ok,
              ", ...");
  }
  return &w;
}

train::ExecutorOptions executor_options(const TrainOptions& o) {
  train::ExecutorOptions eo;
  eo.micro_batch = o.micro_batch;
  eo.seed = o.seed;
  eo.optim.name = o.optimizer;
  eo.optim.weight_decay = static_cast<float>(o.weight_decay);
  eo.optim.clip = o.clip;
  eo.stash = o.stash == "device" ? Space::kDevice : Space::kStash;
  eo.device_dtype = parse_dtype(o.device_dtype, "--device-dtype");
  eo.eps_threads = o.eps_threads;
  eo.shard_optimizer = o.shard_optimizer;
  eo.recompute = train::parse_recompute(o.recompute, "--recompute");
  return eo;
}

// The checkpoint's weights and optimizer state, or a fresh initialisation from the seed.
void write_initial_state(RunSetup& run, Engine& e) {
  if (run.resuming()) {
    Checkpoint& ck = run.resume;
    const SavedState& st = run.resume_state;
    e.executor->write_state(ck.params.data(), ck.m.data(), ck.v.data(), st.step, st.updates);
    ck.params = {};  // the executor holds them now
    ck.m = {};
    ck.v = {};
    return;
  }
  Buffer init = e.backend->alloc(Space::kHost, e.model->total_floats() * sizeof(float), "initial parameters");
  if (run.o.init.empty()) {
    e.model->init(init.f32(), run.o.seed);
  } else {
    const train::PretrainedReport r = train::load_pretrained(run.o.init, *e.model, init.f32(), run.o.seed);
    e.init_note = cat("started from ", run.o.init, ": ", r.loaded.size(), " tensors loaded",
                      r.prefix.empty() ? " (names without the bert. prefix)" : "", "; newly initialised: ",
                      join(r.initialised), r.unused.empty() ? std::string() : "; unused: " + join(r.unused));
  }
  e.executor->write_state(init.f32(), nullptr, nullptr, 0, 0);
}

Engine build_engine(RunSetup& run, const RunData& d) {
  const TrainOptions& o = run.o;
  Engine e;
  e.config = model_config(run, d.train.tokens);
  e.model = std::make_unique<model::Bert>(e.config);
  backend::BackendOptions bo;
  bo.threads = o.threads;
  bo.device_budget = o.device_memory;
  bo.stash_budget = o.stash_memory;
  e.backend = backend::make_backend(o.backend, bo);
  train::ExecutorOptions eo = executor_options(o);
  eo.group = e.group = data_parallel_group(o);
  e.local_batch = o.batch / (e.group ? e.group->size() : 1);
  e.executor = train::make_executor(o.executor, *e.model, *e.backend, eo);
  e.micro_batch = e.executor->prepare(e.local_batch, o.seq_len);  // exit 3 here, before any step, when nothing fits
  write_initial_state(run, e);
  return e;
}

// ---- stage 4: which steps this call runs ----------------------------------------------------------------------

struct StepPlan {
  std::int64_t per_epoch = 0;       // the incomplete last batch of an epoch is dropped
  std::int64_t total = 0;           // the schedule's length
  std::int64_t start = 0, end = 0;  // this call runs steps [start, end)
};

// Fixes o.steps to the schedule's length (o.epochs 0), so a saved run resumes with the same schedule.
StepPlan plan_steps(TrainOptions& o, std::int64_t rows, std::int64_t steps_done) {
  StepPlan p;
  p.per_epoch = rows / o.batch;
  p.total = o.steps > 0    ? o.steps
            : o.epochs > 0 ? std::max<std::int64_t>(1, std::llround(std::ceil(o.epochs * p.per_epoch)))
                           : p.per_epoch;
  o.steps = p.total;
  o.epochs = 0;
  p.start = steps_done;
  if (p.start > p.total) bad_input("--resume: the checkpoint is at step ", p.start, ", past --steps ", p.total);
  if (o.stop_at > p.total)
    bad_input("--stop-at ", o.stop_at, " is past the end of the schedule (", p.total, " steps)");
  if (o.stop_at > 0 && o.stop_at <= p.start)
    bad_input("--stop-at ", o.stop_at, ": the resumed run is already at step ", p.start);
  p.end = o.stop_at > 0 ? o.stop_at : p.total;
  return p;
}

std::string describe_run(const TrainOptions& o, const RunData& d, const Engine& e, const StepPlan& p) {
  const model::BertConfig& c = e.model->config();
  std::string s =
      cat(o.executor, " executor, ", c.num_hidden_layers, " layers, hidden ", c.hidden_size, ", ",
          e.model->total_floats(), " parameter floats; ", d.train.tokens.n, " training rows, ", d.test.tokens.n,
          " test rows, ", c.num_labels, " classes; steps ", p.start, "..", p.end, " of ", p.total, " (", p.per_epoch,
          " per epoch), batch ", o.batch, " = ", e.group ? cat(e.group->size(), " processes x ") : std::string(),
          e.local_batch / e.micro_batch, " x ", e.micro_batch);
  if (o.device_memory)
    s += cat(", device budget ", format_bytes(o.device_memory), ", plan ",
             format_bytes(e.executor->footprint(o.batch, o.seq_len, e.micro_batch)));
  return s;
}

// ---- stage 5: the loop, with its metrics log and checkpoints -------------------------------------------------------

// --log: one JSON line per step, written whole (atomically) at each checkpoint and at the end. A resumed run keeps
// the earlier run's lines before its first step.
class MetricsLog {
 public:
  MetricsLog(std::string path, std::int64_t start, std::int64_t /*total*/) : path_(std::move(path)) {
    if (path_.empty() || start == 0 || !fs::exists(path_)) return;
    std::istringstream in(read_file(path_));
    for (std::string line; std::getline(in, line);) {
      if (json_nesting_depth(line, kMaxJsonDepth) > kMaxJsonDepth) continue;  // not one of our lines
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() && j["step"].get<std::int64_t>() < start)
        lines_ += line + "\n";
    }
  }
  void add(std::int64_t s, const StepStats& st) {
    lines_ += nlohmann::json{{"step", s},
                             {"loss", st.loss},
                             {"lr", st.lr},
                             {"grad_norm", st.grad_norm},
                             {"updated", st.updated},
                             {"ms", st.seconds * 1e3},
                             {"tokens", st.tokens}}
                  .dump() +
              "\n";
  }
  void write() const {
    if (!path_.empty()) write_file_atomic(path_, lines_);
  }
  void write_to(const std::string& path) const { write_file_atomic(path, lines_); }
  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string lines_;
};

void save_run(const std::string& dir, const TrainOptions& o, const Engine& e, std::int64_t total,
              const std::string& tokenizer_path) {
  const std::size_t n = e.model->total_floats();
  std::vector<float> p(n), m(n), v(n);
  e.executor->read_state(p.data(), m.data(), v.data());  // every process: sharded moments are gathered
  if (e.group && !e.group->is_root()) return;
  nlohmann::json opts = to_json(o);
  opts["tokenizer"] = "";  // the checkpoint carries its own tokenizer.model / vocab.txt
  train::CheckpointContent c;
  c.model = e.model.get();
  c.params = p.data();
  c.m = m.data();
  c.v = v.data();
  c.state = {{"step", e.executor->steps_done()},
             {"updates", e.executor->updates_done()},
             {"total_steps", total},
             {"options", opts},
             {"format", "strata-checkpoint-1"}};
  c.tokenizer_source = tokenizer_path;
  train::save_checkpoint(dir, c);
}

struct LoopResult {
  std::vector<double> losses;        // per step run
  std::vector<double> step_seconds;  // per step run
  double last_loss = 0.0;
};

class TrainLoop {
 public:
  TrainLoop(const TrainOptions& o, const RunData& d, Engine& e, const StepPlan& p, MetricsLog& log, const Say& say)
      : o_(o),
        d_(d),
        e_(e),
        p_(p),
        log_(log),
        say_(say),
        sched_(train::LinearWarmupDecay::with_warmup_fraction(o.lr, p.total, o.warmup)) {}

  LoopResult run() {
    e_.backend->memory().reset_peaks();
    last_shown_ = std::chrono::steady_clock::now();
    for (std::int64_t s = p_.start; s < p_.end; ++s) {
      if (s > p_.start) stop_if_cancelled();
      const StepStats st = e_.executor->step(batch_of(s), sched_.lr(s));
      if (!std::isfinite(st.loss)) diverged(s, st);
      r_.last_loss = st.loss;
      r_.losses.push_back(st.loss);
      r_.step_seconds.push_back(st.seconds);
      log_.add(s, st);
      if (!st.updated) say_(cat("step ", s, ": non-finite gradient (norm ", st.grad_norm, "); update skipped"));
      show_progress(s, st);
      if (o_.save_every > 0 && !o_.save.empty() && (s + 1) % o_.save_every == 0 && s + 1 < p_.end) checkpoint();
    }
    return std::move(r_);
  }

  // The log first: after a crash between the two, the log runs ahead of the checkpoint, and a resumed run drops
  // the lines from the checkpoint's step on. The other order would lose lines.
  void checkpoint() const {
    log_.write();
    save_run(o_.save, o_, e_, p_.total, d_.tokenizer_path);
  }

 private:
  model::Batch batch_of(std::int64_t s) {
    const std::int64_t epoch = s / p_.per_epoch;
    if (epoch != order_epoch_) {
      order_ = epoch_order(static_cast<std::size_t>(d_.train.tokens.n), o_.seed, epoch);
      order_epoch_ = epoch;
    }
    // Data parallel: rank r takes its share of the global batch, in rank order.
    const int rank = e_.group ? e_.group->rank() : 0;
    const std::size_t* rows = order_.data() + (s % p_.per_epoch) * o_.batch + rank * e_.local_batch;
    return batch_.fill(d_.train.tokens, d_.train.tokens.y.data(), rows, e_.local_batch);
  }

  // The first and last steps, every 5 % of the schedule, and at least every 30 s.
  void show_progress(std::int64_t s, const StepStats& st) {
    const auto now = std::chrono::steady_clock::now();
    const std::int64_t every = std::max<std::int64_t>(1, p_.total / 20);
    if (!(s == p_.start || s + 1 == p_.end || (s + 1) % every == 0 ||
          std::chrono::duration<double>(now - last_shown_).count() > 30))
      return;
    last_shown_ = now;
    if (say_.quiet) return;
    const double med = median(r_.step_seconds);
    say_.sink.step({s + 1, p_.total, st.loss, st.lr, st.tokens / med, med * static_cast<double>(p_.end - s - 1)});
  }

  // A non-finite loss: the weights have diverged, and nothing more is written (not the log, not a checkpoint), so
  // --save keeps its last good checkpoint (the last --save-every one of this run, or the one it resumed from).
  [[noreturn]] void diverged(std::int64_t s, const StepStats& st) const {
    internal_error("training diverged: the loss became ", st.loss, " at step ", s + 1, " (learning rate ",
                   sched_.lr(s), "); the diverged state was not saved",
                   o_.save.empty() ? std::string() : cat(" (", o_.save, " holds the last good checkpoint, if any)"),
                   "; try a lower --lr (now ", o_.lr, ")");
  }

  // A cancel lands between steps: the state is consistent there, so it is saved (with --save) before stopping.
  // Data parallel: the processes agree first (a cancel on any stops all at the same step).
  void stop_if_cancelled() const {
    bool cancel = say_.sink.cancel_requested();
    if (e_.group) {
      double c = cancel ? 1.0 : 0.0;
      e_.group->all_reduce_sum(&c, 1);
      cancel = c > 0;
    }
    if (!cancel) return;
    if (!o_.save.empty()) {
      checkpoint();
      say_(cat("cancelled at step ", e_.executor->steps_done(), "; saved ", o_.save));
    } else {
      log_.write();
    }
    throw Cancelled();
  }

  const TrainOptions& o_;
  const RunData& d_;
  Engine& e_;
  const StepPlan& p_;
  MetricsLog& log_;
  const Say& say_;
  const train::LinearWarmupDecay sched_;
  LoopResult r_;
  std::int64_t order_epoch_ = -1;
  std::vector<std::size_t> order_;  // this epoch's row order
  HostBatch batch_;
  std::chrono::steady_clock::time_point last_shown_;
};

// ---- stage 6: report and evaluation --------------------------------------------------------------------------------

nlohmann::json executor_report(const TrainOptions& o, const Engine& e) {
  nlohmann::json rep;
  const train::ExecutorStats xs = e.executor->stats();
  rep["micro_batch"] = xs.micro_batch;
  rep["device_plan_bytes"] = e.executor->footprint(o.batch, o.seq_len, xs.micro_batch);
  if (xs.has_eps) {
    rep["eps_bytes"] = xs.eps_bytes;
    rep["eager"] = xs.eager;
    rep["eps_overlap"] = xs.eps_overlap;
    rep["eps_update_seconds"] = xs.eps_update_seconds;
    rep["device_dtype"] = o.device_dtype;
    rep["stash"] = o.stash;
    rep["recomputed_layers"] = xs.recomputed_layers;  // of model.num_layers(): embeddings, encoders, head
    rep["stashed_layers"] = e.model->num_layers() - xs.recomputed_layers;
  }
  rep["optimizer_bytes_per_rank"] = xs.optimizer_bytes;
  if (e.group) rep["reduce_overlap"] = xs.reduce_overlap;
  return rep;
}

nlohmann::json make_report(const TrainOptions& o, const RunData& d, const Engine& e, const StepPlan& p,
                           const LoopResult& loop) {
  const model::BertConfig& cfg = e.config;
  const double med = median(loop.step_seconds);
  const std::size_t tokens_per_step = static_cast<std::size_t>(o.batch) * o.seq_len;
  const std::vector<double>& ss = loop.step_seconds;
  nlohmann::json rep;
  rep["executor"] = o.executor;
  rep["backend"] = e.backend->name();
  rep["model"] = {{"preset", o.model},
                  {"layers", cfg.num_hidden_layers},
                  {"hidden", cfg.hidden_size},
                  {"heads", cfg.num_attention_heads},
                  {"vocab", cfg.vocab_size},
                  {"labels", cfg.num_labels},
                  {"parameters", e.model->total_floats()},
                  {"non_embedding_parameters", train::non_embedding_params(*e.model)}};
  rep["data"] = o.data;
  rep["threads"] = e.backend->threads();
  rep["batch"] = o.batch;
  rep.update(executor_report(o, e));
  rep["seq_len"] = o.seq_len;
  rep["steps"] = p.total;
  rep["steps_run"] = static_cast<std::int64_t>(ss.size());
  rep["step_ms_median"] = med * 1e3;
  rep["step_ms_min"] = ss.empty() ? 0.0 : *std::min_element(ss.begin(), ss.end()) * 1e3;
  rep["tokens_per_step"] = tokens_per_step;
  rep["tokens_per_s"] = med > 0 ? tokens_per_step / med : 0.0;
  rep["gflops"] = med > 0 ? train::train_step_flops(*e.model, o.batch, o.seq_len) / med / 1e9 : 0.0;
  MemorySystem& mem = e.backend->memory();
  rep["device_peak_bytes"] = mem.device().peak();
  rep["host_peak_bytes"] = mem.host().peak();
  rep["stash_peak_bytes"] = mem.stash().peak();
  rep["bytes_to_device"] = e.backend->bytes_to_device();
  rep["bytes_from_device"] = e.backend->bytes_from_device();
  rep["ranks"] = e.group ? e.group->size() : 1;
  if (e.group) {
    const dist::CommStats cs = e.group->stats();
    rep["reduce_bytes"] = cs.reduce_bytes;
    rep["reduce_seconds"] = cs.reduce_seconds;
  }
  rep["final_loss"] = loop.last_loss;
  rep["truncated_texts"] = d.train.truncated + d.test.truncated;
  return rep;
}

// Data parallel: each process evaluates its share of the rows; the sums are reduced (predictions stay local).
EvalResult evaluate_shared(Executor& ex, const data::TokenDataset& te, dist::ProcessGroup* group) {
  if (!group) return evaluate(ex, te, te.y);
  const int r = group->rank(), N = group->size();
  const data::TokenDataset mine = slice_rows(te, te.n * r / N, te.n * (r + 1) / N);
  const EvalResult part = evaluate(ex, mine, mine.y);
  double sums[3] = {part.accuracy * mine.n, part.loss * mine.n, static_cast<double>(mine.n)};
  group->all_reduce_sum(sums, 3);
  EvalResult all;
  all.examples = static_cast<std::size_t>(sums[2]);
  all.accuracy = sums[0] / sums[2];
  all.loss = sums[1] / sums[2];
  return all;
}

// Test accuracy and loss next to the majority class's accuracy (of the training split).
void evaluate_test(nlohmann::json& rep, const RunData& d, Engine& e, const Say& say) {
  const data::TokenDataset& tr = d.train.tokens;
  const data::TokenDataset& te = d.test.tokens;
  if (te.n == 0) {
    rep["eval_accuracy"] = nullptr;
    say("no test rows: skipping evaluation");
    return;
  }
  say(cat("evaluating on ", te.n, " test rows", e.group ? cat(" split over ", e.group->size(), " processes") : ""));
  const EvalResult ev = evaluate_shared(*e.executor, te, e.group);
  std::vector<std::size_t> count(std::max(1, tr.num_classes), 0);
  for (std::int32_t y : tr.y) ++count[y];
  const int majority = static_cast<int>(std::max_element(count.begin(), count.end()) - count.begin());
  const double maj_acc = static_cast<double>(std::count(te.y.begin(), te.y.end(), majority)) / te.n;
  rep["eval_accuracy"] = ev.accuracy;
  rep["eval_loss"] = ev.loss;
  rep["eval_examples"] = ev.examples;
  rep["majority_accuracy"] = maj_acc;
  say(cat("test accuracy ", fmt("%.4f", ev.accuracy), " (majority class ", fmt("%.4f", maj_acc), "), loss ",
          fmt("%.4f", ev.loss)));
}

// The final checkpoint, log and report: each written to its staged name, then all renamed into place together,
// so a failure before the end leaves --save, --log and --report as they were (or as the last --save-every
// checkpoint left them). Every process takes part in the checkpoint (sharded state is gathered); rank 0 writes.
void publish_outputs(OutputSet& outs, const TrainOptions& o, const RunData& data, const Engine& engine,
                     const StepPlan& plan, const MetricsLog& log, const nlohmann::json& report, const Say& say) {
  const bool root = dist::world().is_root();
  if (!o.save.empty() && (root || engine.group))  // a data-parallel group gathers sharded state on every process
    save_run(root ? outs.staged(o.save) : o.save, o, engine, plan.total, data.tokenizer_path);
  if (!root) return;
  if (log.enabled()) log.write_to(outs.staged(o.log));
  if (!o.report.empty()) write_file_atomic(outs.staged(o.report), report.dump(2) + "\n");
  outs.commit();
  if (!o.save.empty()) say.wrote(o.save, "checkpoint");
  if (log.enabled()) say.wrote(log.path(), "log");
  if (!o.report.empty()) say.wrote(o.report, "report");
}

}  // namespace

TrainResult train(const TrainOptions& options, const std::set<std::string>& explicit_flags, ProgressSink& progress) {
  const auto wall0 = std::chrono::steady_clock::now();
  RunSetup run = resolve_run(options, explicit_flags);
  if (!dist::world().is_root()) {  // data parallel: rank 0 alone prints and writes the log, report and checkpoints
    run.o.quiet = true;            // (the others still take part in a checkpoint: sharded state is gathered)
    run.o.log.clear();
    run.o.report.clear();
  }
  const TrainOptions& o = run.o;
  const Say say{progress, o.quiet};
  OutputSet outs;  // checked now, before any work; published together at the end
  if (dist::world().is_root()) {
    outs.add("--save", o.save, /*directory=*/true);
    outs.add("--log", o.log);
    outs.add("--report", o.report);
  }
  const RunData data = load_run_data(run, say);
  Engine engine = build_engine(run, data);
  const StepPlan plan = plan_steps(run.o, data.train.tokens.n, engine.executor->steps_done());
  if (!engine.init_note.empty()) say(engine.init_note);
  say(describe_run(o, data, engine, plan));

  MetricsLog log(o.log, plan.start, plan.total);
  TrainLoop loop(o, data, engine, plan, log, say);
  const LoopResult done = loop.run();

  TrainResult result;
  result.losses = done.losses;
  result.report = make_report(o, data, engine, plan, done);
  evaluate_test(result.report, data, engine, say);
  result.report["peak_rss_bytes"] = peak_rss_bytes();
  result.report["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  publish_outputs(outs, o, data, engine, plan, log, result.report, say);
  return result;
}

}  // namespace strata::app
