// Pre-training checkpoints and --resume: the trajectory options saved and checked, the state mapped between
// BertMlm's layout (the engines') and the relay model's (what checkpoints name).
#include "strata/app/pretrain_state.h"

#include <filesystem>

#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/json.h"

namespace strata::app {

namespace fs = std::filesystem;

nlohmann::json trajectory_options(const PretrainOptions& o) {
  return {{"data", o.data},          {"model", o.model},
          {"layers", o.layers},      {"vocab_size", o.vocab_size},
          {"batch", o.batch},        {"seq_len", o.seq_len},
          {"steps", o.steps},        {"lr", o.lr},
          {"warmup", o.warmup},      {"weight_decay", o.weight_decay},
          {"clip", o.clip},          {"mask_prob", o.mask_prob},
          {"dropout", o.dropout},    {"seed", o.seed},
          {"optimizer", o.optimizer}};
}

nlohmann::json execution_options(const PretrainOptions& o) {
  return {{"executor", o.executor}, {"micro_batch", o.micro_batch}, {"device_dtype", o.device_dtype},
          {"stash", o.stash},       {"recompute", o.recompute},     {"eps_threads", o.eps_threads},
          {"backend", o.backend}};
}

namespace {

template <typename T>
T saved_value(const nlohmann::json& saved, const std::string& state_path, const char* name) {
  try {
    return saved.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    bad_input(state_path, ": option '", name, "' has the wrong type (", saved.at(name).type_name(), ")");
  }
}

std::string flag_of(const char* name) {
  std::string flag = name;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

// A saved execution option into o unless the command line gave it (checkpoints older than these keys: skipped).
template <typename T>
void restore_free(PretrainOptions& o, const nlohmann::json& saved, const std::string& state_path, const char* name,
                  T& field) {
  if (saved.contains(name) && !o.given.count(flag_of(name))) field = saved_value<T>(saved, state_path, name);
}

// The saved value of one option into o, unless the command line gave another (bad_input naming both).
template <typename T>
void restore(PretrainOptions& o, const nlohmann::json& saved, const std::string& state_path, const char* name,
             T& field) {
  if (!saved.contains(name)) bad_input(state_path, ": options lack '", name, "' (not a pretrain checkpoint?)");
  const T value = saved_value<T>(saved, state_path, name);
  const std::string flag = flag_of(name);
  if (o.given.count(flag) && field != value)
    bad_input("--resume ", o.resume, ": --", flag, " ", nlohmann::json(field).dump(), " differs from the run's ",
              nlohmann::json(value).dump(), " (", state_path,
              "); a resumed run keeps the options that fix its "
              "trajectory");
  field = value;
}

}  // namespace

nlohmann::json apply_resume_options(PretrainOptions& o) {
  const std::string path = o.resume + "/trainer_state.json";
  if (!fs::is_directory(o.resume)) bad_input("--resume ", o.resume, ": not a directory");
  if (!fs::exists(path)) bad_input("--resume ", o.resume, ": no trainer_state.json (not a resumable checkpoint)");
  const nlohmann::json state = parse_json(read_file(path), path);
  if (!state.is_object() || state.value("command", "") != "pretrain" || !state.contains("options") ||
      !state["options"].is_object())
    bad_input(path, ": not a pretrain checkpoint's state (train checkpoints resume with `strata train --resume`)");
  const nlohmann::json& saved = state["options"];
  restore(o, saved, path, "data", o.data);
  restore(o, saved, path, "model", o.model);
  restore(o, saved, path, "layers", o.layers);
  restore(o, saved, path, "vocab_size", o.vocab_size);
  restore(o, saved, path, "batch", o.batch);
  restore(o, saved, path, "seq_len", o.seq_len);
  restore(o, saved, path, "steps", o.steps);
  restore(o, saved, path, "lr", o.lr);
  restore(o, saved, path, "warmup", o.warmup);
  restore(o, saved, path, "weight_decay", o.weight_decay);
  restore(o, saved, path, "clip", o.clip);
  restore(o, saved, path, "mask_prob", o.mask_prob);
  restore(o, saved, path, "dropout", o.dropout);
  restore(o, saved, path, "seed", o.seed);
  restore(o, saved, path, "optimizer", o.optimizer);
  if (state.contains("execution") && state["execution"].is_object()) {
    const nlohmann::json& ex = state["execution"];
    const std::string given_executor = o.executor;
    restore_free(o, ex, path, "executor", o.executor);
    restore_free(o, ex, path, "backend", o.backend);
    restore_free(o, ex, path, "eps_threads", o.eps_threads);
    if (!o.given.count("executor") || given_executor == ex.value("executor", "")) {  // the saved run's l2l knobs
      restore_free(o, ex, path, "micro_batch", o.micro_batch);
      restore_free(o, ex, path, "device_dtype", o.device_dtype);
      restore_free(o, ex, path, "stash", o.stash);
      restore_free(o, ex, path, "recompute", o.recompute);
    }
  }
  for (const char* name : {"vocab.txt", "tokenizer.model"})
    if (fs::exists(fs::path(o.resume) / name)) o.tokenizer = (fs::path(o.resume) / name).string();
  if (o.tokenizer.empty()) bad_input("--resume ", o.resume, ": holds no tokenizer (vocab.txt or tokenizer.model)");
  for (const char* k : {"steps_done", "updates_done"})
    if (!state.contains(k) || !state[k].is_number_integer() || state[k].get<std::int64_t>() < 0)
      bad_input(path, ": '", k, "' must be a non-negative integer");
  return state;
}

PretrainResume load_resume(const std::string& dir, const nlohmann::json& state, const model::BertMlm& model) {
  PretrainResume r;
  const model::BertConfig& cfg = model.bert().config();
  r.checkpoint = train::load_checkpoint(dir, /*with_optimizer=*/true, &cfg, model::Head::kMaskedLm);
  r.steps_done = state["steps_done"].get<std::int64_t>();
  r.updates_done = state["updates_done"].get<std::int64_t>();
  return r;
}

void save_pretrain_checkpoint(const std::string& dir, const PretrainOptions& o, const model::BertMlm& model,
                              MlmEngine& engine, std::int64_t steps, const std::string& tokenizer_path, bool write) {
  const std::size_t n = model.total_floats();
  std::vector<float> p(n), m(n), v(n);
  engine.read_state(p.data(), m.data(), v.data());  // every process: sharded moments are gathered
  if (!write) return;
  const model::Bert relay(model.bert().config(), model::Head::kMaskedLm);
  const std::size_t r = relay.total_floats();
  std::vector<float> rp(r), rm(r), rv(r);
  mlm_to_relay_layout(model, relay, p.data(), rp.data());
  mlm_to_relay_layout(model, relay, m.data(), rm.data());
  mlm_to_relay_layout(model, relay, v.data(), rv.data());
  train::CheckpointContent c;
  c.model = &relay;
  c.params = rp.data();
  c.m = rm.data();
  c.v = rv.data();
  c.state = {{"command", "pretrain"},
             {"steps_done", steps},
             {"updates_done", engine.updates_done()},
             {"options", trajectory_options(o)},
             {"execution", execution_options(o)}};
  c.tokenizer_source = tokenizer_path;
  train::save_checkpoint(dir, c);
}

}  // namespace strata::app
