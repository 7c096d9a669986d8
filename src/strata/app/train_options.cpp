// The field table of TrainOptions and what is driven by it: JSON out and in, the resume rules, validation.
#include "strata/app/train_options.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <type_traits>

#include "strata/core/error.h"
#include "strata/core/json.h"
#include "strata/core/tensor.h"
#include "strata/core/thread_pool.h"
#include "strata/train/executor.h"

namespace strata::app {

namespace {

constexpr double kMaxEpochs = 1e6;
constexpr int kMaxBatch = 1'000'000;  // as the CLI's --batch range

// THE table: every option once, with its CLI/JSON name, what it means to a resumed run and its member;
// fn(name, on_resume, member pointer) is called for each, in order.
template <typename Fn>
void visit_fields(Fn&& fn) {
  using R = OnResume;
  fn("data", R::kFixed, &TrainOptions::data);
  fn("model", R::kFixed, &TrainOptions::model);
  fn("init", R::kFixed, &TrainOptions::init);
  fn("layers", R::kFixed, &TrainOptions::layers);
  fn("executor", R::kFree, &TrainOptions::executor);
  fn("backend", R::kFree, &TrainOptions::backend);
  fn("stash", R::kFree, &TrainOptions::stash);
  fn("device-dtype", R::kFixed, &TrainOptions::device_dtype);
  fn("eps-threads", R::kFree, &TrainOptions::eps_threads);
  fn("shard-optimizer", R::kFree, &TrainOptions::shard_optimizer);
  fn("recompute", R::kFree, &TrainOptions::recompute);
  fn("stash-memory", R::kFree, &TrainOptions::stash_memory);
  fn("batch", R::kFixed, &TrainOptions::batch);
  fn("micro-batch", R::kFree, &TrainOptions::micro_batch);
  fn("seq-len", R::kFixed, &TrainOptions::seq_len);
  fn("steps", R::kFree, &TrainOptions::steps);
  fn("epochs", R::kFree, &TrainOptions::epochs);
  fn("lr", R::kFixed, &TrainOptions::lr);
  fn("warmup", R::kFixed, &TrainOptions::warmup);
  fn("weight-decay", R::kFixed, &TrainOptions::weight_decay);
  fn("clip", R::kFixed, &TrainOptions::clip);
  fn("optimizer", R::kFixed, &TrainOptions::optimizer);
  fn("dropout", R::kFixed, &TrainOptions::dropout);
  fn("threads", R::kFree, &TrainOptions::threads);
  fn("device-memory", R::kFree, &TrainOptions::device_memory);
  fn("seed", R::kFixed, &TrainOptions::seed);
  fn("tokenizer", R::kFixed, &TrainOptions::tokenizer);
  fn("vocab-size", R::kFixed, &TrainOptions::vocab_size);
  fn("save", R::kRun, &TrainOptions::save);
  fn("resume", R::kRun, &TrainOptions::resume);
  fn("log", R::kRun, &TrainOptions::log);
  fn("report", R::kRun, &TrainOptions::report);
  fn("save-every", R::kRun, &TrainOptions::save_every);
  fn("stop-at", R::kRun, &TrainOptions::stop_at);
  fn("quiet", R::kRun, &TrainOptions::quiet);
}

template <typename T>
const char* json_type_name() {
  if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "an integer in range";
  else
    return "a number";
}

// The value has T's JSON type and, for integers, fits T.
template <typename T>
bool json_has_type(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= kMax;
    if (!v.is_number_integer()) return false;
    const std::int64_t x = v.get<std::int64_t>();
    return x >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
           (x < 0 || static_cast<std::uint64_t>(x) <= kMax);
  } else {
    return v.is_number();
  }
}

}  // namespace

const std::vector<FieldInfo>& train_option_fields() {
  static const std::vector<FieldInfo> fields = [] {
    std::vector<FieldInfo> f;
    visit_fields([&](const char* name, OnResume r, auto) { f.push_back({name, r}); });
    return f;
  }();
  return fields;
}

bool free_on_resume(const std::string& name) {
  for (const FieldInfo& f : train_option_fields())
    if (name == f.name) return f.on_resume != OnResume::kFixed;
  return false;
}

std::string free_on_resume_list() {
  std::string s;
  for (const FieldInfo& f : train_option_fields())
    if (f.on_resume != OnResume::kFixed) s += cat(s.empty() ? "--" : ", --", f.name);
  return s;
}

void copy_fields(const TrainOptions& from, TrainOptions& to,
                 const std::function<bool(const std::string& name, OnResume on_resume)>& pick) {
  visit_fields([&](const char* name, OnResume r, auto member) {
    if (pick(name, r)) to.*member = from.*member;
  });
}

nlohmann::json to_json(const TrainOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  visit_fields([&](const char* name, OnResume r, auto member) {
    if (r != OnResume::kRun) j[name] = o.*member;
  });
  return j;
}

TrainOptions train_options_from_json(const nlohmann::json& j, const TrainOptions& base, const std::string& source) {
  if (!j.is_object()) bad_input(source, ": expected a JSON object, found ", j.type_name());
  TrainOptions o = base;
  visit_fields([&](const char* name, OnResume, auto member) {
    auto& field = o.*member;
    using T = std::decay_t<decltype(field)>;
    if (!j.contains(name)) return;
    const nlohmann::json& v = j.at(name);
    if constexpr (std::is_same_v<T, std::string>) {
      if (std::string(name) == "recompute" && v.is_boolean()) {  // checkpoints before auto existed
        field = v.get<bool>() ? "on" : "off";
        return;
      }
    }
    if (!json_has_type<T>(v))
      bad_input(source, ": '", name, "' must be ", json_type_name<T>(), ", found ", v.type_name(), " ",
                json_excerpt(v));
    field = v.get<T>();
  });
  return o;
}

void validate(const TrainOptions& o) {
  if (o.data.empty()) bad_input("--data is required");
  if (o.batch <= 0 || o.batch > kMaxBatch) bad_input("--batch must be in [1, ", kMaxBatch, "], given ", o.batch);
  if (o.micro_batch < 0) bad_input("--micro-batch must be positive or auto, given ", o.micro_batch);
  if (o.micro_batch > 0 && o.batch % o.micro_batch != 0)
    bad_input("--micro-batch ", o.micro_batch, " does not divide --batch ", o.batch,
              "; values that do: ", train::divisors_of(o.batch));
  if (o.seq_len < 3) bad_input("--seq-len must be at least 3 ([CLS] text [SEP]), given ", o.seq_len);
  if (o.steps < 0) bad_input("--steps must be positive, given ", o.steps);
  if (o.epochs < 0 || !(o.epochs <= kMaxEpochs))
    bad_input("--epochs must be in (0, ", kMaxEpochs, "], given ", o.epochs);
  if (!(o.lr >= 0) || !std::isfinite(o.lr)) bad_input("--lr must be a non-negative number, given ", o.lr);
  if (!(o.warmup >= 0 && o.warmup <= 1)) bad_input("--warmup must be a fraction in [0, 1], given ", o.warmup);
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
    bad_input("--weight-decay must be a non-negative number, given ", o.weight_decay);
  if (!(o.clip >= 0) || !std::isfinite(o.clip))
    bad_input("--clip must be a non-negative number (0: off), given ", o.clip);
  if (std::isnan(o.dropout) || o.dropout >= 1.0f) bad_input("--dropout must be in [0, 1), given ", o.dropout);
  if (o.save_every < 0) bad_input("--save-every must be non-negative (0: off), given ", o.save_every);
  if (o.save_every > 0 && o.save.empty()) bad_input("--save-every ", o.save_every, " needs --save DIR");
  if (o.stop_at < 0) bad_input("--stop-at must be non-negative (0: the whole schedule), given ", o.stop_at);
  if (o.layers < 0) bad_input("--layers must be non-negative (0: the model's), given ", o.layers);
  if (o.threads > max_threads() || o.eps_threads > max_threads())
    bad_input("--threads and --eps-threads must be at most ", max_threads(),
              " (4 x the hardware threads, at least 64), given ", o.threads, " and ", o.eps_threads);
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
  train::parse_recompute(o.recompute, "--recompute");
}

namespace {

// A non-negative integer field of trainer_state.json; 0 when absent.
std::int64_t read_count(const nlohmann::json& state, const char* field, const std::string& path) {
  auto it = state.find(field);
  if (it == state.end()) return 0;
  if (!json_has_type<std::int64_t>(*it) || it->get<std::int64_t>() < 0)
    bad_input(path, ": \"", field, "\" must be a non-negative integer, found ", it->type_name(), " ",
              json_excerpt(*it));
  return it->get<std::int64_t>();
}

}  // namespace

SavedState read_saved_state(const nlohmann::json& state, const std::string& path, bool for_resume, int max_positions) {
  if (!state.is_object()) bad_input(path, ": expected a JSON object, found ", state.type_name());
  SavedState s;
  if (auto it = state.find("options"); it != state.end()) {
    s.has_options = true;
    s.options = train_options_from_json(*it, TrainOptions{}, path + ": \"options\"");
  } else if (for_resume) {
    bad_input(path, ": no \"options\" (not a strata trainer state; a resumed run needs its options)");
  }
  if (for_resume) {
    try {
      validate(s.options);
    } catch (const Error& e) {
      bad_input(path, ": \"options\": ", e.what());
    }
  } else if (s.has_options && s.options.seq_len < 3) {
    bad_input(path, ": \"options\": 'seq-len' must be at least 3, found ", s.options.seq_len);
  }
  if (s.has_options && s.options.seq_len > max_positions)
    bad_input(path, ": \"options\": 'seq-len' ", s.options.seq_len, " exceeds max_position_embeddings in config.json (",
              max_positions, ")");
  s.step = read_count(state, "step", path);
  s.updates = state.contains("updates") ? read_count(state, "updates", path) : s.step;
  s.total_steps = read_count(state, "total_steps", path);
  if (s.updates > s.step) bad_input(path, ": \"updates\" ", s.updates, " exceeds \"step\" ", s.step);
  if (state.contains("total_steps") && s.total_steps < s.step)
    bad_input(path, ": \"total_steps\" ", s.total_steps, " is less than \"step\" ", s.step);
  return s;
}

model::BertConfig config_for(const TrainOptions& o, const data::TokenDataset& train) {
  namespace fs = std::filesystem;
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

}  // namespace strata::app
