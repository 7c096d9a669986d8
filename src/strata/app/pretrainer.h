// strata pretrain: masked-language-model pre-training of a BERT encoder on text (model/bert_mlm.h, BERT's masking
// recipe from data/mlm_masking.h), every layer resident (the baseline schedule), AdamW with HF's linear warm-up and
// decay, MLM loss and masked-token accuracy on the held-out split, and a checkpoint directory Hugging Face loads as
// BertForMaskedLM (and strata as `train --init`).
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/core/progress.h"

namespace strata::app {

struct PretrainOptions {
  std::string data;            // PATH.txt (one text a line), PATH.tsv / PATH.jsonl (text column), wordnet:lexname
  std::string model = "mini";  // preset or config.json
  int layers = 0;              // > 0: override num_hidden_layers
  std::string tokenizer;       // .model / vocab.txt / a directory with one; "": train a SentencePiece model
  int vocab_size = 8192;       // for a trained tokenizer
  int batch = 32;
  int seq_len = 64;
  std::int64_t steps = 0;  // > 0: this many steps; else one epoch of the training split
  double lr = 5e-4;
  double warmup = 0.1;
  double weight_decay = 0.01;
  double clip = 1.0;
  double mask_prob = 0.15;
  float dropout = -1.0f;  // >= 0: every dropout probability
  int eval_rows = 2048;   // held-out rows evaluated at the end (0: all)
  int threads = 0;
  std::uint64_t seed = 0;
  // How a step runs (app/mlm_engine.h): baseline (every layer resident) or l2l (one layer on the device, the tied
  // decoder streamed by vocabulary chunks, the eager param-server), and the l2l knobs train has.
  std::string executor = "baseline";
  int micro_batch = 0;  // l2l: 0 = the largest that fits --device-memory
  std::string device_dtype = "f32";
  int eps_threads = 2;
  std::string stash = "host";
  std::string recompute = "auto";
  std::size_t stash_memory = 0;   // 0: half the available host memory
  std::size_t device_memory = 0;  // 0: no limit
  std::string backend = "cpu";
  std::string optimizer = "adamw";  // adamw | lamb
  std::string save, report, log;    // --log: one JSON line per step
  std::int64_t save_every = 0;      // > 0: a resumable checkpoint in --save every N steps
  std::int64_t stop_at = 0;         // > 0: stop after step N of the schedule (checkpoint and report as at the end)
  std::string resume;               // a pretrain --save directory: continue its run
  std::set<std::string> given;      // the options given on the command line (a resumed run refuses changes to
                                    // the ones that fix its trajectory)
  bool quiet = false;
};

struct PretrainResult {
  std::vector<double> losses;  // per step: mean MLM loss over the step's predicted tokens
  nlohmann::json report;       // steps, losses, eval_mlm_loss, eval_masked_accuracy, timing, memory
};

PretrainResult pretrain(const PretrainOptions& o, ProgressSink& progress);

}  // namespace strata::app
