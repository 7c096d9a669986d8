// Checkpoint directories, as Hugging Face lays them out plus what resuming needs:
//   config.json             BertConfig fields + num_labels, id2label (model/config.h); a masked-LM model's names
//                           BertForMaskedLM and has no labels
//   model.safetensors       every parameter, float32, under its Hugging Face name
//   tokenizer.model         the SentencePiece model the texts were encoded with (absent for token-id data), or
//   vocab.txt               a WordPiece vocabulary (+ tokenizer_config.json), as Hugging Face writes it
//   optimizer.safetensors   AdamW/LAMB moments as "exp_avg.<name>" and "exp_avg_sq.<name>" (training checkpoints)
//   trainer_state.json      steps done, updates done, the options that fix the trajectory, the data spec
// A checkpoint is written whole into DIR.tmp.<pid>, fsynced, then swapped in with one atomic rename (renameat2
// RENAME_EXCHANGE when DIR exists), so a crash leaves either the old checkpoint or the new one, never a mixture.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/model/bert.h"

namespace strata::train {

struct Checkpoint {
  std::string dir;
  model::BertConfig config;
  std::vector<float> params;                        // model total_floats(), layer-major (model/bert.h)
  std::vector<float> m, v;                          // same layout; empty unless loaded with the optimizer state
  nlohmann::json state = nlohmann::json::object();  // trainer_state.json ({} if absent and not required)
  std::string tokenizer_path;                       // DIR/vocab.txt, else DIR/tokenizer.model, else ""
};

struct CheckpointContent {
  const model::Bert* model = nullptr;
  const float* params = nullptr;
  const float* m = nullptr;  // null: no optimizer.safetensors
  const float* v = nullptr;
  nlohmann::json state = nlohmann::json::object();
  std::string tokenizer_source;  // a tokenizer.model or vocab.txt (*.txt) file to copy in, or ""
};

// Writes the checkpoint atomically (see above). bad_input if DIR exists and is not a directory, or is a non-empty
// directory that is not a strata checkpoint (it is never replaced), or cannot be written.
void save_checkpoint(const std::string& dir, const CheckpointContent& content);

// Reads and validates a checkpoint: every tensor the config implies must be present, float, of the right shape
// (bad_input naming the file and tensor otherwise). with_optimizer: optimizer.safetensors and trainer_state.json
// are required too (for --resume). expect: check the tensors against this model instead of the directory's own
// config.json (resuming with a given model: a mismatch names the first tensor that differs).
// head: the checkpoint's last slab (a classifier, or the masked-LM head of a `pretrain` checkpoint).
Checkpoint load_checkpoint(const std::string& dir, bool with_optimizer, const model::BertConfig* expect = nullptr,
                           model::Head head = model::Head::kClassifier);

// Fails early (bad_input, exit 2) when DIR could not be written as a checkpoint: its parent cannot be created or
// written, or DIR exists and would be refused by save_checkpoint. Creates DIR's parent directories.
void check_checkpoint_target(const std::string& dir);

}  // namespace strata::train
