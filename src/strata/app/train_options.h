// The options of `strata train` as one table of fields: the same table writes them to a checkpoint, reads them
// back, and says which may change when a run is resumed. JSON keys are the CLI flag names.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/data/text.h"
#include "strata/model/config.h"

namespace strata::app {

struct TrainOptions {
  std::string data;                   // wordnet:lexname, PATH.tsv, PATH.jsonl, synthetic:vocab=V,classes=C,n=N
  std::string model = "mini";         // preset name or a config.json path
  std::string init;                   // a pre-trained directory (strata's or Hugging Face's) to start from
  int layers = 0;                     // > 0: override num_hidden_layers
  std::string executor = "baseline";  // or "l2l"
  std::string backend = "cpu";        // the device backend (backend::make_backend)
  std::string stash = "host";         // l2l: where stashed activations live (host or device)
  std::string device_dtype = "f32";   // l2l: slabs and stashed activations on the device as f32 or bf16
  int eps_threads = 2;                // l2l: the param-server's optimizer threads
  bool shard_optimizer = false;  // l2l under mpirun: each process keeps 1/N of the optimizer state
  std::string recompute = "auto";     // l2l: on (recompute each layer's forward in the backward), off (stash its
                                      // saved activations: same results, more host memory, less compute), auto
  std::size_t stash_memory = 0;       // l2l: host bytes the stash may use; 0: half the available host memory
  int batch = 32;
  int micro_batch = 8;  // examples per micro-batch; 0: auto (the largest that fits --device-memory)
  int seq_len = 64;
  std::int64_t steps = 0;  // > 0: this many optimizer steps
  double epochs = 0.0;     // > 0 (and steps == 0): this many passes over the training split; neither: 1
  double lr = 5e-4;
  double warmup = 0.1;  // fraction of the steps
  double weight_decay = 0.01;
  double clip = 1.0;
  std::string optimizer = "adamw";
  float dropout = -1.0f;          // >= 0: every dropout probability of the config; < 0: the config's
  int threads = 0;                // 0: all cores
  std::size_t device_memory = 0;  // 0: no limit
  std::uint64_t seed = 0;
  std::string save, resume, log, report;
  std::int64_t save_every = 0;  // > 0: also checkpoint to `save` every this many steps
  std::int64_t stop_at = 0;     // > 0: stop (and save) after this many steps of the planned schedule
  std::string tokenizer;        // a .model / vocab.txt (or a directory with one); "": --init's, else train one
  int vocab_size = 8192;        // for a trained tokenizer
  bool quiet = false;           // no progress lines
};

// What a field means to a resumed run.
enum class OnResume : std::uint8_t {
  kFixed,  // saved in the checkpoint; fixes the trajectory, so a resumed run must keep it
  kFree,   // saved in the checkpoint; a resumed run may give another value (speed, memory, how long)
  kRun,    // not saved: belongs to one invocation (where to save, log, report)
};

// The fields as (CLI/JSON name, OnResume), in the table's order.
struct FieldInfo {
  const char* name;
  OnResume on_resume;
};
const std::vector<FieldInfo>& train_option_fields();
bool free_on_resume(const std::string& name);  // kFree or kRun
std::string free_on_resume_list();             // "--threads, --device-memory, ..." for messages

// Copies the fields for which pick(name, on_resume) is true from `from` into `to`.
void copy_fields(const TrainOptions& from, TrainOptions& to,
                 const std::function<bool(const std::string& name, OnResume on_resume)>& pick);

// The saved (kFixed and kFree) fields.
nlohmann::json to_json(const TrainOptions& o);
// Fields absent from j keep base's value; a field of the wrong type is bad_input naming `source` and the field.
TrainOptions train_options_from_json(const nlohmann::json& j, const TrainOptions& base,
                                     const std::string& source = "training options");
// Every value in range and consistent (bad_input naming the flag otherwise).
void validate(const TrainOptions& o);

// A checkpoint's trainer_state.json, every field checked for type, range and consistency (bad_input naming the file
// and the field): what resuming, embedding and evaluating read from it.
struct SavedState {
  bool has_options = false;
  TrainOptions options;          // the saved run's options (kFixed and kFree fields; defaults where absent)
  std::int64_t step = 0;         // optimizer steps done
  std::int64_t updates = 0;      // updates applied, <= step
  std::int64_t total_steps = 0;  // the schedule's length, >= step (0 when absent)
};
// path names the file in messages. for_resume: "options" is required and must pass validate() as a whole;
// otherwise only the fields inference uses (seq-len) are range-checked. max_positions: the checkpoint's
// config.json max_position_embeddings, which a saved seq-len may not exceed.
SavedState read_saved_state(const nlohmann::json& state, const std::string& path, bool for_resume,
                            int max_positions);

// The model config the options ask for, sized for the training data (vocabulary, classes).
model::BertConfig config_for(const TrainOptions& o, const data::TokenDataset& train);

}  // namespace strata::app
