// What makes a pre-training run resumable: the options that fix its trajectory (saved in trainer_state.json, checked
// and restored by --resume), and its checkpoints -- a BertForMaskedLM directory (model.safetensors under Hugging
// Face names, config.json, the tokenizer) plus optimizer.safetensors and trainer_state.json, written as `train`
// writes its checkpoints (train/checkpoint.h: whole, then swapped in atomically).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/app/mlm_engine.h"
#include "strata/app/pretrainer.h"
#include "strata/model/bert_mlm.h"
#include "strata/train/checkpoint.h"

namespace strata::app {

// The options of o that fix the trajectory (data, schedule, optimizer, masking, seed, ...), as saved.
nlohmann::json trajectory_options(const PretrainOptions& o);
// How the run executes (executor, micro-batch, device dtype, stash, recompute, param-server threads,
// backend), as saved: a resumed run may change them, and keeps the saved ones it is not given, so it runs as the
// saved run did (the same micro-batches draw the same dropout masks).
nlohmann::json execution_options(const PretrainOptions& o);

// A run to resume: its checkpoint (model, moments, tokenizer) and where it stopped.
struct PretrainResume {
  train::Checkpoint checkpoint;  // params, m, v in model::Bert(Head::kMaskedLm)'s layout
  std::int64_t steps_done = 0, updates_done = 0;
};

// Reads DIR/trainer_state.json of a pretrain checkpoint and applies its trajectory options to o: an option given on
// the command line (o.given) with another value is bad_input naming it and both values. The execution options not
// given are the saved ones (the l2l ones only while the executor stays the saved one). Also points o.tokenizer at
// the checkpoint's tokenizer. Call before the data is loaded.
nlohmann::json apply_resume_options(PretrainOptions& o);
// Loads the checkpoint for the model the options describe (a different model is bad_input naming the first tensor
// that differs).
PretrainResume load_resume(const std::string& dir, const nlohmann::json& state, const model::BertMlm& model);

// Writes a resumable checkpoint of the engine's state to dir (after `steps` steps). Data parallel: every process
// calls it (sharded optimizer state is gathered), the one with `write` writes.
void save_pretrain_checkpoint(const std::string& dir, const PretrainOptions& o, const model::BertMlm& model,
                              MlmEngine& engine, std::int64_t steps, const std::string& tokenizer_path,
                              bool write = true);

}  // namespace strata::app
