// The training driver behind `strata train`, `evaluate --model DIR` and `embed` (an application of the engine): data
// (text -> SentencePiece -> fixed-length token rows, or synthetic token rows), the model config, the executor, the
// schedule, progress, metrics log, report JSON, checkpoints and resuming. The CLI files only parse flags and call these.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/data/text.h"
#include "strata/model/config.h"
#include "strata/train/executor.h"

namespace strata::app {

using train::Executor;

struct TrainOptions {
  std::string data;                 // wordnet:lexname, PATH.tsv, PATH.jsonl, synthetic:vocab=V,classes=C,n=N
  std::string model = "mini";       // preset name or a config.json path
  int layers = 0;                   // > 0: override num_hidden_layers
  std::string executor = "baseline";  // or "l2l"
  std::string stash = "host";       // l2l: where stashed activations live (host or device)
  std::string device_dtype = "f32"; // l2l: slabs and stashed activations on the device as f32 or bf16
  int eps_threads = 2;              // l2l: the param-server's optimizer threads
  std::string recompute = "auto";   // l2l: on (recompute each layer's forward in the backward), off (stash its
                                    // saved activations: same results, more host memory, less compute), auto
  std::size_t stash_memory = 0;     // l2l: host bytes the stash may use; 0: half the available host memory
  int batch = 32;
  int micro_batch = 8;              // examples per micro-batch; 0: auto (the largest that fits --device-memory)
  int seq_len = 64;
  std::int64_t steps = 0;           // > 0: this many optimizer steps
  double epochs = 0.0;              // > 0 (and steps == 0): this many passes over the training split; neither: 1
  double lr = 5e-4;
  double warmup = 0.1;              // fraction of the steps
  double weight_decay = 0.01;
  double clip = 1.0;
  std::string optimizer = "adamw";
  float dropout = -1.0f;            // >= 0: every dropout probability of the config; < 0: the config's
  int threads = 0;                  // 0: all cores
  std::size_t device_memory = 0;    // 0: no limit
  std::uint64_t seed = 0;
  std::string save, resume, log, report;
  std::int64_t save_every = 0;      // > 0: also checkpoint to `save` every this many steps
  std::int64_t stop_at = 0;         // > 0: stop (and save) after this many steps of the planned schedule
  std::string tokenizer;            // a SentencePiece .model to use; "": train one on the training texts
  int vocab_size = 8192;            // for a trained tokenizer
  bool quiet = false;               // no progress lines
};

nlohmann::json to_json(const TrainOptions& o);
// Fields absent from j keep base's value.
TrainOptions train_options_from_json(const nlohmann::json& j, const TrainOptions& base);

struct TrainResult {
  nlohmann::json report;       // what --report writes
  std::vector<double> losses;  // per step run in this call
};

// Trains as `strata train` does. explicit_flags names the options the user gave (CLI option names without dashes,
// e.g. "lr", "threads"): on --resume the saved options are used, and an explicit flag that would change the
// trajectory is bad_input; the free ones (threads, device-memory, save, log, report, quiet, steps, executor, save-every, stop-at) apply.
TrainResult train(const TrainOptions& options, const std::set<std::string>& explicit_flags = {});

// Token rows for a data spec's split, ready for a model: text is encoded with the tokenizer (required for text
// data: bad_input when tokenizer_path is empty), synthetic data generated (test = the n/10 rows the generator draws
// after the n training rows). Synthetic classes are named "0".."K-1".
struct TokenData {
  data::TokenDataset tokens;
  int truncated = 0;  // rows whose text did not fit seq_len
  std::string source;
};
TokenData load_token_data(const std::string& spec, const std::string& split, const std::string& tokenizer_path,
                          int seq_len, std::uint64_t seed);
bool is_text_spec(const std::string& spec);

struct EvalResult {
  std::size_t examples = 0;
  double accuracy = 0.0;
  double loss = 0.0;           // mean cross-entropy
  std::vector<int> predicted;  // per row, model class ids
};
// Forward over every row (dropout off); labels must already be model class ids.
EvalResult evaluate(Executor& ex, const data::TokenDataset& ds, const std::vector<std::int32_t>& labels);

// The pooled [CLS] vector (tanh, before dropout) of every row, (n, hidden) row-major; dropout off.
std::vector<float> pooled_vectors(Executor& ex, const data::TokenDataset& ds);

// The data set's labels as ids of the model's classes (config id2label), matched by name. A label occurring in the
// data that the model never saw is bad_input naming it and the source.
std::vector<std::int32_t> labels_for_model(const data::TokenDataset& ds, const model::BertConfig& cfg,
                                           const std::string& source);

// A trained model directory opened for inference (evaluate, embed).
struct LoadedModel {
  model::BertConfig config;
  std::unique_ptr<model::Bert> model;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<Executor> executor;
  std::string tokenizer_path;
  int seq_len = 0;             // from trainer_state.json (or 128)
  std::uint64_t seed = 0;      // ditto (synthetic data)
};
LoadedModel load_model_dir(const std::string& dir, int threads, int micro_batch = 32);

}  // namespace strata::app
