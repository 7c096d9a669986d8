// The training driver: data, config, executor, schedule, progress, log, report, checkpoints and resume.
#include "strata/app/trainer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/memory.h"
#include "strata/core/rng.h"
#include "strata/core/tensor.h"
#include "strata/data/tokenizer.h"
#include "strata/train/checkpoint.h"
#include "strata/train/schedule.h"

namespace strata::app {

using namespace strata::train;

namespace fs = std::filesystem;

namespace {

// A private temporary directory, removed with its content on destruction (the tokenizer of a run without --save).
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "strata-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) internal_error("cannot create a temporary directory under ", fs::temp_directory_path());
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::size_t peak_rss_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::size_t>(ru.ru_maxrss) * 1024;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return cat(t / 3600, "h", (t % 3600) / 60, "m");
  if (t >= 60) return cat(t / 60, "m", t % 60, "s");
  return cat(t, "s");
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Host arrays of one batch of rows.
struct HostBatch {
  std::vector<std::int32_t> ids, labels;
  std::vector<float> mask;
  bool padded = false;

  model::Batch fill(const data::TokenDataset& ds, const std::int32_t* labels_src, const std::size_t* rows, int B) {
    const std::size_t T = static_cast<std::size_t>(ds.T);
    ids.resize(B * T);
    mask.resize(B * T);
    labels.resize(B);
    padded = false;
    for (int r = 0; r < B; ++r) {
      const std::size_t i = rows[r];
      std::copy_n(ds.ids.data() + i * T, T, ids.data() + r * T);
      for (std::size_t t = 0; t < T; ++t) {
        const std::uint8_t m = ds.mask[i * T + t];
        mask[r * T + t] = m;
        padded |= m == 0;
      }
      labels[r] = labels_src ? labels_src[i] : 0;
    }
    model::Batch b;
    b.B = B;
    b.T = ds.T;
    b.ids = ids.data();
    b.key_mask = padded ? mask.data() : nullptr;  // no padding: skip masking altogether
    b.labels = labels_src ? labels.data() : nullptr;
    return b;
  }
};

// Epoch e's row order: a seeded Fisher-Yates permutation, a function of (seed, e) only, so a resumed run sees the
// same batches as an uninterrupted one.
std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  Rng rng(derive_seed(seed, 0x0eb0c000ull + static_cast<std::uint64_t>(epoch)));
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng.below(i)]);
  return p;
}

data::TokenDataset tail_rows(const data::TokenDataset& full, int from) {
  data::TokenDataset out = full;
  const std::size_t T = static_cast<std::size_t>(full.T);
  out.n = full.n - from;
  out.ids.assign(full.ids.begin() + static_cast<std::ptrdiff_t>(from * T), full.ids.end());
  out.mask.assign(full.mask.begin() + static_cast<std::ptrdiff_t>(from * T), full.mask.end());
  out.y.assign(full.y.begin() + from, full.y.end());
  return out;
}

TokenData synthetic_split(const std::string& spec, const std::string& split, int seq_len, std::uint64_t seed) {
  data::TokenDataset train = data::load_synthetic(spec, seq_len, seed);
  TokenData out;
  out.source = spec;
  const int n = train.n, n_test = std::max(1, n / 10);
  if (split == "train") {
    out.tokens = std::move(train);
  } else {
    // Keys later in the spec override earlier ones: the same stream, n + n_test rows; test is the tail.
    data::TokenDataset all = data::load_synthetic(cat(spec, ",n=", n + n_test), seq_len, seed);
    if (split == "test") out.tokens = tail_rows(all, n);
    else if (split == "all") out.tokens = std::move(all);
    else bad_input("split: expected train, test or all, found '", split, "'");
  }
  out.tokens.classes.clear();
  for (int k = 0; k < out.tokens.num_classes; ++k) out.tokens.classes.push_back(std::to_string(k));
  return out;
}

TokenData encode_text(const data::TextDataset& text, const data::Tokenizer& tok, int seq_len) {
  TokenData out;
  out.source = text.source;
  out.tokens = tok.encode(text, seq_len, &out.truncated);
  return out;
}

const std::set<std::string> kFreeOnResume = {"threads",  "device-memory", "save",    "log",        "report",
                                             "quiet",    "steps",         "epochs",  "executor",   "save-every",
                                             "stop-at",  "resume",        "stash",   "eps-threads", "micro-batch",
                                             "recompute", "stash-memory"};

model::BertConfig config_for(const TrainOptions& o, const data::TokenDataset& train) {
  model::BertConfig cfg;
  const auto& presets = model::bert_preset_names();
  if (std::find(presets.begin(), presets.end(), o.model) != presets.end()) {
    cfg = model::bert_preset(o.model, std::max(1, train.num_classes));
  } else if (fs::exists(o.model)) {
    cfg = model::load_bert_config(o.model);
  } else {
    std::string names;
    for (const auto& p : presets) names += (names.empty() ? "" : ", ") + p;
    bad_input("--model: '", o.model, "' is neither a preset (", names, ") nor an existing config.json");
  }
  if (o.layers > 0) cfg.num_hidden_layers = o.layers;
  cfg.vocab_size = train.vocab;
  cfg.num_labels = train.num_classes;
  cfg.id2label = train.classes;
  cfg.pad_token_id = 0;
  if (o.dropout >= 0.0f) {
    cfg.hidden_dropout_prob = o.dropout;
    cfg.attention_probs_dropout_prob = o.dropout;
    cfg.classifier_dropout.reset();
  }
  if (o.seq_len > cfg.max_position_embeddings)
    bad_input("--seq-len ", o.seq_len, " exceeds the model's max_position_embeddings (", cfg.max_position_embeddings,
              ")");
  cfg.validate();
  return cfg;
}

void validate(const TrainOptions& o) {
  if (o.data.empty()) bad_input("--data is required");
  if (o.batch <= 0) bad_input("--batch must be positive, given ", o.batch);
  if (o.micro_batch < 0) bad_input("--micro-batch must be positive or auto, given ", o.micro_batch);
  if (o.micro_batch > 0 && o.batch % o.micro_batch != 0)
    bad_input("--micro-batch ", o.micro_batch, " does not divide --batch ", o.batch, "; values that do: ",
              divisors_of(o.batch));
  if (o.seq_len < 3) bad_input("--seq-len must be at least 3 ([CLS] text [SEP]), given ", o.seq_len);
  if (o.steps < 0) bad_input("--steps must be positive, given ", o.steps);
  if (o.epochs < 0 || !std::isfinite(o.epochs)) bad_input("--epochs must be positive, given ", o.epochs);
  if (!(o.lr >= 0) || !std::isfinite(o.lr)) bad_input("--lr must be a non-negative number, given ", o.lr);
  if (!(o.warmup >= 0 && o.warmup <= 1)) bad_input("--warmup must be a fraction in [0, 1], given ", o.warmup);
  if (!(o.weight_decay >= 0)) bad_input("--weight-decay must be non-negative, given ", o.weight_decay);
  if (o.dropout >= 1.0f) bad_input("--dropout must be in [0, 1), given ", o.dropout);
  if (o.optimizer != "adamw" && o.optimizer != "lamb")
    bad_input("--optimizer: expected adamw or lamb, found '", o.optimizer, "'");
  if (o.threads < 0) bad_input("--threads must be non-negative, given ", o.threads);
  if (o.vocab_size < 8) bad_input("--vocab-size must be at least 8, given ", o.vocab_size);
  if (o.executor != "baseline" && o.executor != "l2l")
    bad_input("--executor: expected baseline or l2l, found '", o.executor, "'");
  if (o.stash != "host" && o.stash != "device") bad_input("--stash: expected host or device, found '", o.stash, "'");
  parse_dtype(o.device_dtype, "--device-dtype");
  if (o.executor == "baseline" && (o.device_dtype != "f32" || o.stash != "host"))
    bad_input("--device-dtype and --stash apply to --executor l2l (the baseline keeps fp32 on the device)");
  if (o.eps_threads < 1) bad_input("--eps-threads must be at least 1, given ", o.eps_threads);
  parse_recompute(o.recompute, "--recompute");
}

}  // namespace

nlohmann::json to_json(const TrainOptions& o) {
  return {{"data", o.data},
          {"model", o.model},
          {"layers", o.layers},
          {"executor", o.executor},
          {"stash", o.stash},
          {"device-dtype", o.device_dtype},
          {"eps-threads", o.eps_threads},
          {"recompute", o.recompute},
          {"stash-memory", o.stash_memory},
          {"batch", o.batch},
          {"micro-batch", o.micro_batch},
          {"seq-len", o.seq_len},
          {"steps", o.steps},
          {"epochs", o.epochs},
          {"lr", o.lr},
          {"warmup", o.warmup},
          {"weight-decay", o.weight_decay},
          {"clip", o.clip},
          {"optimizer", o.optimizer},
          {"dropout", o.dropout},
          {"threads", o.threads},
          {"device-memory", o.device_memory},
          {"seed", o.seed},
          {"tokenizer", o.tokenizer},
          {"vocab-size", o.vocab_size}};
}

TrainOptions train_options_from_json(const nlohmann::json& j, const TrainOptions& base) {
  TrainOptions o = base;
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key)) field = j.at(key).get<std::decay_t<decltype(field)>>();
  };
  try {
    get("data", o.data);
    get("model", o.model);
    get("layers", o.layers);
    get("executor", o.executor);
    get("stash", o.stash);
    get("device-dtype", o.device_dtype);
    get("eps-threads", o.eps_threads);
    if (j.contains("recompute") && j.at("recompute").is_boolean())  // checkpoints before auto existed
      o.recompute = j.at("recompute").get<bool>() ? "on" : "off";
    else
      get("recompute", o.recompute);
    get("stash-memory", o.stash_memory);
    get("batch", o.batch);
    get("micro-batch", o.micro_batch);
    get("seq-len", o.seq_len);
    get("steps", o.steps);
    get("epochs", o.epochs);
    get("lr", o.lr);
    get("warmup", o.warmup);
    get("weight-decay", o.weight_decay);
    get("clip", o.clip);
    get("optimizer", o.optimizer);
    get("dropout", o.dropout);
    get("threads", o.threads);
    get("device-memory", o.device_memory);
    get("seed", o.seed);
    get("tokenizer", o.tokenizer);
    get("vocab-size", o.vocab_size);
  } catch (const nlohmann::json::exception& e) {
    bad_input("training options: ", e.what());
  }
  return o;
}

bool is_text_spec(const std::string& spec) { return !data::is_synthetic_spec(spec); }

TokenData load_token_data(const std::string& spec, const std::string& split, const std::string& tokenizer_path,
                          int seq_len, std::uint64_t seed) {
  if (!is_text_spec(spec)) return synthetic_split(spec, split, seq_len, seed);
  if (tokenizer_path.empty())
    bad_input(spec, ": text data needs a tokenizer, and the model has none (no tokenizer.model in its directory)");
  const data::Tokenizer tok = data::Tokenizer::load(tokenizer_path);
  return encode_text(data::load_text(spec, split), tok, seq_len);
}

std::vector<std::int32_t> labels_for_model(const data::TokenDataset& ds, const model::BertConfig& cfg,
                                           const std::string& source) {
  std::map<std::string, int> id;
  for (int k = 0; k < cfg.num_labels; ++k) id[cfg.label(k)] = k;
  std::vector<int> map(ds.classes.size(), -1);
  for (std::size_t c = 0; c < ds.classes.size(); ++c) {
    auto it = id.find(ds.classes[c]);
    if (it != id.end()) map[c] = it->second;
  }
  std::vector<std::int32_t> out(ds.y.size());
  for (std::size_t i = 0; i < ds.y.size(); ++i) {
    const int c = ds.y[i];
    const int k = c >= 0 && static_cast<std::size_t>(c) < map.size() ? map[c] : -1;
    if (k < 0) {
      std::string known;
      for (int j = 0; j < std::min(cfg.num_labels, 8); ++j) known += (j ? ", " : "") + cfg.label(j);
      if (cfg.num_labels > 8) known += ", ...";
      bad_input(source, ": row ", i + 1, " has label '",
                static_cast<std::size_t>(c) < ds.classes.size() ? ds.classes[c] : std::to_string(c),
                "', which the model never saw (it knows ", cfg.num_labels, " labels: ", known, ")");
    }
    out[i] = k;
  }
  return out;
}

EvalResult evaluate(Executor& ex, const data::TokenDataset& ds, const std::vector<std::int32_t>& labels) {
  EvalResult r;
  r.examples = static_cast<std::size_t>(ds.n);
  r.predicted.resize(r.examples);
  if (ds.n == 0) return r;
  const int K = ex.model().config().num_labels;
  const int chunk = 512;
  std::vector<std::size_t> rows(chunk);
  std::vector<float> logits(static_cast<std::size_t>(chunk) * K);
  HostBatch hb;
  double loss = 0.0;
  std::size_t correct = 0;
  for (int r0 = 0; r0 < ds.n; r0 += chunk) {
    const int b = std::min(chunk, ds.n - r0);
    for (int i = 0; i < b; ++i) rows[i] = static_cast<std::size_t>(r0 + i);
    const model::Batch batch = hb.fill(ds, nullptr, rows.data(), b);
    ex.infer(batch, logits.data(), nullptr);
    for (int i = 0; i < b; ++i) {
      const float* l = logits.data() + static_cast<std::size_t>(i) * K;
      const int arg = static_cast<int>(std::max_element(l, l + K) - l);
      double mx = l[arg], z = 0.0;
      for (int k = 0; k < K; ++k) z += std::exp(static_cast<double>(l[k]) - mx);
      const int y = labels[r0 + i];
      loss += std::log(z) + mx - l[y];
      correct += arg == y;
      r.predicted[r0 + i] = arg;
    }
  }
  r.accuracy = static_cast<double>(correct) / ds.n;
  r.loss = loss / ds.n;
  return r;
}

std::vector<float> pooled_vectors(Executor& ex, const data::TokenDataset& ds) {
  const std::size_t C = ex.model().config().hidden_size;
  std::vector<float> out(static_cast<std::size_t>(ds.n) * C);
  const int chunk = 512;
  std::vector<std::size_t> rows(chunk);
  HostBatch hb;
  for (int r0 = 0; r0 < ds.n; r0 += chunk) {
    const int b = std::min(chunk, ds.n - r0);
    for (int i = 0; i < b; ++i) rows[i] = static_cast<std::size_t>(r0 + i);
    ex.infer(hb.fill(ds, nullptr, rows.data(), b), nullptr, out.data() + static_cast<std::size_t>(r0) * C);
  }
  return out;
}

LoadedModel load_model_dir(const std::string& dir, int threads, int micro_batch) {
  LoadedModel lm;
  Checkpoint ck = load_checkpoint(dir, false);
  lm.config = ck.config;
  lm.tokenizer_path = ck.tokenizer_path;
  const nlohmann::json opts = ck.state.value("options", nlohmann::json::object());
  lm.seq_len = opts.value("seq-len", 128);
  lm.seed = opts.value("seed", std::uint64_t{0});
  lm.model = std::make_unique<model::Bert>(lm.config);
  backend::BackendOptions bo;
  bo.threads = threads;
  lm.backend = backend::make_backend("cpu", bo);
  ExecutorOptions eo;
  eo.micro_batch = micro_batch;
  eo.inference_only = true;
  lm.executor = make_executor("baseline", *lm.model, *lm.backend, eo);
  lm.executor->write_state(ck.params.data(), nullptr, nullptr, 0, 0);
  return lm;
}

TrainResult train(const TrainOptions& options, const std::set<std::string>& explicit_flags) {
  TrainOptions o = options;
  auto say = [&](const std::string& msg) {
    if (!o.quiet) std::cerr << "strata: " << msg << std::endl;
  };
  const auto wall0 = std::chrono::steady_clock::now();

  // --- resume: the saved options fix the trajectory ------------------------------------------------------------
  Checkpoint resume_ck;
  if (!options.resume.empty()) {
    const std::string state_path = options.resume + "/trainer_state.json";
    if (!fs::is_directory(options.resume)) bad_input("--resume ", options.resume, ": not a directory");
    if (!fs::exists(state_path)) bad_input("--resume ", options.resume, ": no trainer_state.json");
    const nlohmann::json state = nlohmann::json::parse(read_file(state_path), nullptr, false);
    if (state.is_discarded() || !state.contains("options")) bad_input(state_path, ": not a strata trainer state");
    TrainOptions saved = train_options_from_json(state["options"], TrainOptions{});
    const nlohmann::json given = to_json(options), was = to_json(saved);
    const model::BertConfig* expect = nullptr;
    model::BertConfig expected;
    for (const std::string& f : explicit_flags) {
      if (kFreeOnResume.count(f) || !given.contains(f) || given[f] == was[f]) continue;
      if (f == "model" || f == "layers") {  // name the first tensor that differs
        const model::BertConfig old = model::load_bert_config(options.resume + "/config.json");
        TrainOptions probe = saved;
        probe.model = options.model;
        probe.layers = options.layers;
        data::TokenDataset shape;
        shape.vocab = old.vocab_size;
        shape.num_classes = old.num_labels;
        for (int k = 0; k < old.num_labels; ++k) shape.classes.push_back(old.label(k));
        expected = config_for(probe, shape);
        expect = &expected;
        continue;
      }
      std::string free;
      for (const std::string& x : kFreeOnResume) free += (free.empty() ? "--" : ", --") + x;
      bad_input("--", f, " ", given[f].dump(), " differs from the resumed run's ", was[f].dump(), " (", state_path,
                "); a resumed run keeps the options that fix its trajectory (free to change: ", free, ")");
    }
    resume_ck = load_checkpoint(options.resume, true, expect);
    for (const std::string& f : explicit_flags)
      if (kFreeOnResume.count(f) && given.contains(f)) saved = train_options_from_json({{f, given[f]}}, saved);
    if (!explicit_flags.count("steps") && !explicit_flags.count("epochs")) {
      saved.steps = state.value("total_steps", saved.steps);
      saved.epochs = 0;
    } else if (explicit_flags.count("steps")) {
      saved.epochs = 0;
    }
    saved.save = options.save.empty() ? options.resume : options.save;
    saved.resume = options.resume;
    saved.log = options.log;
    saved.report = options.report;
    saved.quiet = options.quiet;
    saved.save_every = options.save_every;
    saved.stop_at = options.stop_at;
    o = saved;
  }
  validate(o);
  if (!o.save.empty()) check_checkpoint_target(o.save);

  // --- data ------------------------------------------------------------------------------------------------------
  TokenData tr, te;
  std::unique_ptr<TempDir> tmp;
  std::string tok_path;
  if (!is_text_spec(o.data)) {
    tr = synthetic_split(o.data, "train", o.seq_len, o.seed);
    te = synthetic_split(o.data, "test", o.seq_len, o.seed);
  } else {
    data::TextDataset train_text = data::load_text(o.data, "train");
    if (!resume_ck.dir.empty()) {
      if (resume_ck.tokenizer_path.empty())
        bad_input("--resume ", resume_ck.dir, ": no tokenizer.model, but ", o.data, " is text data");
      tok_path = resume_ck.tokenizer_path;
    } else if (!o.tokenizer.empty()) {
      tok_path = o.tokenizer;
    } else {
      tmp = std::make_unique<TempDir>();
      say(cat("training a SentencePiece tokenizer (", o.vocab_size, " pieces) on ", train_text.texts.size(),
              " training texts"));
      tok_path = data::Tokenizer::train(train_text.texts, o.vocab_size, tmp->path(), o.seed).model_path();
    }
    const data::Tokenizer tok = data::Tokenizer::load(tok_path);
    tr = encode_text(train_text, tok, o.seq_len);
    te = encode_text(data::load_text(o.data, "test"), tok, o.seq_len);
  }
  if (tr.tokens.n < o.batch)
    bad_input(o.data, ": the training split has ", tr.tokens.n, " rows, fewer than --batch ", o.batch);
  if (tr.truncated + te.truncated > 0)
    say(cat("truncated ", tr.truncated, " training and ", te.truncated, " test texts to --seq-len ", o.seq_len));

  // --- model, backend, executor ----------------------------------------------------------------------------------
  const model::BertConfig cfg = resume_ck.dir.empty() ? config_for(o, tr.tokens) : resume_ck.config;
  if (!resume_ck.dir.empty() && (cfg.num_labels != tr.tokens.num_classes || cfg.vocab_size < tr.tokens.vocab))
    bad_input("--resume ", resume_ck.dir, ": the checkpoint has ", cfg.num_labels, " labels and vocabulary ",
              cfg.vocab_size, ", but ", o.data, " has ", tr.tokens.num_classes, " classes and vocabulary ",
              tr.tokens.vocab);
  if (o.seq_len > cfg.max_position_embeddings)
    bad_input("--seq-len ", o.seq_len, " exceeds max_position_embeddings ", cfg.max_position_embeddings);
  const model::Bert model(cfg);
  backend::BackendOptions bo;
  bo.threads = o.threads;
  bo.device_budget = o.device_memory;
  bo.stash_budget = o.stash_memory;
  std::unique_ptr<backend::Backend> be = backend::make_backend("cpu", bo);
  ExecutorOptions eo;
  eo.micro_batch = o.micro_batch;
  eo.seed = o.seed;
  eo.optim.name = o.optimizer;
  eo.optim.weight_decay = static_cast<float>(o.weight_decay);
  eo.optim.clip = o.clip;
  eo.stash = o.stash == "device" ? Space::kDevice : Space::kStash;
  eo.device_dtype = parse_dtype(o.device_dtype, "--device-dtype");
  eo.eps_threads = o.eps_threads;
  eo.recompute = parse_recompute(o.recompute, "--recompute");
  std::unique_ptr<Executor> ex = make_executor(o.executor, model, *be, eo);
  const int micro = ex->prepare(o.batch, o.seq_len);  // exit 3 here, before any step, when nothing fits
  {
    if (!resume_ck.dir.empty()) {
      const std::int64_t step = resume_ck.state.value("step", std::int64_t{0});
      ex->write_state(resume_ck.params.data(), resume_ck.m.data(), resume_ck.v.data(), step,
                      resume_ck.state.value("updates", step));
      resume_ck.params = {};
      resume_ck.m = {};
      resume_ck.v = {};
    } else {
      Buffer init = be->alloc(Space::kHost, model.total_floats() * sizeof(float), "initial parameters");
      model.init(init.f32(), o.seed);
      ex->write_state(init.f32(), nullptr, nullptr, 0, 0);
    }
  }

  // --- schedule ----------------------------------------------------------------------------------------------------
  const std::int64_t spe = tr.tokens.n / o.batch;  // steps per epoch (the incomplete last batch is dropped)
  const std::int64_t total = o.steps > 0    ? o.steps
                             : o.epochs > 0 ? std::max<std::int64_t>(1, std::llround(std::ceil(o.epochs * spe)))
                                            : spe;
  o.steps = total;
  o.epochs = 0;
  const LinearWarmupDecay sched = LinearWarmupDecay::with_warmup_fraction(o.lr, total, o.warmup);
  const std::int64_t start = ex->steps_done();
  if (start > total) bad_input("--resume: the checkpoint is at step ", start, ", past --steps ", total);
  const std::int64_t end = o.stop_at > 0 ? std::min(total, std::max(o.stop_at, start)) : total;

  say(cat(o.executor, " executor, ", model.config().num_hidden_layers, " layers, hidden ",
          model.config().hidden_size, ", ", model.total_floats(), " parameter floats; ", tr.tokens.n,
           " training rows, ", te.tokens.n, " test rows, ", cfg.num_labels, " classes; steps ", start, "..", end, " of ", total,
           " (", spe, " per epoch), batch ", o.batch, " = ", o.batch / micro, " x ", micro,
          o.device_memory ? cat(", device budget ", format_bytes(o.device_memory), ", plan ",
                                format_bytes(ex->footprint(o.batch, o.seq_len, micro)))
                          : std::string()));

  // --- log, checkpoints -------------------------------------------------------------------------------------------
  std::vector<std::string> log_lines;
  if (!o.log.empty() && start > 0 && fs::exists(o.log)) {  // keep the resumed run's earlier lines
    std::istringstream in(read_file(o.log));
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("step", total) < start) log_lines.push_back(line);
    }
  }
  auto write_log = [&] {
    if (o.log.empty()) return;
    std::string s;
    for (const std::string& l : log_lines) s += l + "\n";
    write_file_atomic(o.log, s);
  };
  auto save = [&](const std::string& dir) {
    const std::size_t n = model.total_floats();
    std::vector<float> p(n), m(n), v(n);
    ex->read_state(p.data(), m.data(), v.data());
    nlohmann::json opts = to_json(o);
    opts["tokenizer"] = "";
    CheckpointContent c;
    c.model = &model;
    c.params = p.data();
    c.m = m.data();
    c.v = v.data();
    c.state = {{"step", ex->steps_done()}, {"updates", ex->updates_done()}, {"total_steps", total},
               {"options", opts}, {"format", "strata-checkpoint-1"}};
    c.tokenizer_source = tok_path;
    save_checkpoint(dir, c);
  };

  // --- the loop ---------------------------------------------------------------------------------------------------
  TrainResult result;
  std::vector<double> step_s;
  std::int64_t cached_epoch = -1;
  std::vector<std::size_t> order;
  HostBatch hb;
  const std::int64_t every = std::max<std::int64_t>(1, total / 20);
  auto last_say = std::chrono::steady_clock::now();
  double loss = 0.0;
  be->memory().reset_peaks();
  for (std::int64_t s = start; s < end; ++s) {
    const std::int64_t epoch = s / spe;
    if (epoch != cached_epoch) {
      order = epoch_order(static_cast<std::size_t>(tr.tokens.n), o.seed, epoch);
      cached_epoch = epoch;
    }
    const model::Batch batch =
        hb.fill(tr.tokens, tr.tokens.y.data(), order.data() + (s % spe) * o.batch, o.batch);
    const StepStats st = ex->step(batch, sched.lr(s));
    loss = st.loss;
    result.losses.push_back(st.loss);
    step_s.push_back(st.seconds);
    log_lines.push_back(nlohmann::json{{"step", s}, {"loss", st.loss}, {"lr", st.lr}, {"grad_norm", st.grad_norm},
                                       {"updated", st.updated}, {"ms", st.seconds * 1e3}, {"tokens", st.tokens}}
                            .dump());
    if (!st.updated) say(cat("step ", s, ": non-finite gradient (norm ", st.grad_norm, "); update skipped"));
    const auto now = std::chrono::steady_clock::now();
    if (s == start || s + 1 == end || (s + 1) % every == 0 ||
        std::chrono::duration<double>(now - last_say).count() > 30) {
      const double med = median(step_s);
      say(cat("step ", s + 1, "/", total, "  loss ", fmt("%.4f", st.loss), "  lr ", fmt("%.2e", st.lr), "  ",
              fmt("%.0f", st.tokens / med), " tok/s  ETA ", format_duration(med * static_cast<double>(end - s - 1))));
      last_say = now;
    }
    if (o.save_every > 0 && !o.save.empty() && (s + 1) % o.save_every == 0 && s + 1 < end) {
      // The log first: after a crash between the two, the log runs ahead of the checkpoint, and a resumed run
      // drops the lines from the checkpoint's step on. The other order would lose lines.
      write_log();
      save(o.save);
    }
  }

  // --- evaluation, save, report ----------------------------------------------------------------------------------
  nlohmann::json& rep = result.report;
  const double med = median(step_s);
  const std::size_t tokens_per_step = static_cast<std::size_t>(o.batch) * o.seq_len;
  rep["executor"] = o.executor;
  rep["model"] = {{"preset", o.model}, {"layers", cfg.num_hidden_layers}, {"hidden", cfg.hidden_size},
                  {"heads", cfg.num_attention_heads}, {"vocab", cfg.vocab_size}, {"labels", cfg.num_labels},
                  {"parameters", model.total_floats()}, {"non_embedding_parameters", non_embedding_params(model)}};
  rep["data"] = o.data;
  rep["threads"] = be->threads();
  rep["batch"] = o.batch;
  const ExecutorStats xs = ex->stats();
  rep["micro_batch"] = xs.micro_batch;
  rep["device_plan_bytes"] = ex->footprint(o.batch, o.seq_len, xs.micro_batch);
  if (xs.has_eps) {
    rep["eps_bytes"] = xs.eps_bytes;
    rep["eager"] = xs.eager;
    rep["eps_overlap"] = xs.eps_overlap;
    rep["eps_update_seconds"] = xs.eps_update_seconds;
    rep["device_dtype"] = o.device_dtype;
    rep["stash"] = o.stash;
    rep["recomputed_layers"] = xs.recomputed_layers;  // of model.num_layers(): embeddings, encoders, head
    rep["stashed_layers"] = model.num_layers() - xs.recomputed_layers;
  }
  rep["seq_len"] = o.seq_len;
  rep["steps"] = total;
  rep["steps_run"] = static_cast<std::int64_t>(step_s.size());
  rep["step_ms_median"] = med * 1e3;
  rep["step_ms_min"] = step_s.empty() ? 0.0 : *std::min_element(step_s.begin(), step_s.end()) * 1e3;
  rep["tokens_per_step"] = tokens_per_step;
  rep["tokens_per_s"] = med > 0 ? tokens_per_step / med : 0.0;
  rep["gflops"] = med > 0 ? train_step_flops(model, o.batch, o.seq_len) / med / 1e9 : 0.0;
  rep["device_peak_bytes"] = be->memory().device().peak();
  rep["host_peak_bytes"] = be->memory().host().peak();
  rep["stash_peak_bytes"] = be->memory().stash().peak();
  rep["bytes_to_device"] = be->bytes_to_device();
  rep["bytes_from_device"] = be->bytes_from_device();
  rep["final_loss"] = loss;
  rep["truncated_texts"] = tr.truncated + te.truncated;
  write_log();  // before the checkpoint, as above
  if (!o.save.empty()) {
    save(o.save);
    say(cat("saved ", o.save));
  }
  if (te.tokens.n > 0) {
    say(cat("evaluating on ", te.tokens.n, " test rows"));
    const EvalResult ev = evaluate(*ex, te.tokens, te.tokens.y);
    std::vector<std::size_t> count(std::max(1, tr.tokens.num_classes), 0);
    for (std::int32_t y : tr.tokens.y) ++count[y];
    const int majority = static_cast<int>(std::max_element(count.begin(), count.end()) - count.begin());
    const double maj_acc =
        static_cast<double>(std::count(te.tokens.y.begin(), te.tokens.y.end(), majority)) / te.tokens.n;
    rep["eval_accuracy"] = ev.accuracy;
    rep["eval_loss"] = ev.loss;
    rep["eval_examples"] = ev.examples;
    rep["majority_accuracy"] = maj_acc;
    say(cat("test accuracy ", fmt("%.4f", ev.accuracy), " (majority class ", fmt("%.4f", maj_acc), "), loss ",
            fmt("%.4f", ev.loss)));
  } else {
    rep["eval_accuracy"] = nullptr;
    say("no test rows: skipping evaluation");
  }
  rep["peak_rss_bytes"] = peak_rss_bytes();
  rep["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!o.report.empty()) write_file_atomic(o.report, rep.dump(2) + "\n");
  return result;
}

}  // namespace strata::app
