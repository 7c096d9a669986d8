// Starting a model from a pre-trained directory (train --init): strata's own checkpoint or a Hugging Face BERT
// directory (config.json + model.safetensors), whose tensors are named "bert.encoder.layer.0...." (BertFor* models)
// or without the "bert." prefix (BertModel). The encoder comes from the file; the task head is new, initialised as
// Hugging Face initialises it, except a pooler the file has (BertModel and BertForSequenceClassification save one).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "strata/model/bert.h"
#include "strata/model/config.h"

namespace strata::train {

struct PretrainedReport {
  std::vector<std::string> loaded;       // strata tensor names read from the file
  std::vector<std::string> initialised;  // strata tensor names newly initialised (the head)
  std::vector<std::string> unused;       // file tensor names nothing read, sorted (pre-training heads, ...)
  std::string prefix;                    // "bert." or "": how the file names the encoder
};

// DIR/config.json (bad_input naming DIR when absent).
model::BertConfig pretrained_config(const std::string& dir);

// Fills params (model.total_floats()) from DIR/model.safetensors: model.init(params, seed) first, then every
// embedding and encoder tensor from the file (LayerNorm "gamma"/"beta" accepted for "weight"/"bias", as HF does),
// the pooler when the file has it; the classifier is always new. bad_input (exit 2) naming the file and every
// tensor that is missing, and every one whose shape differs (expected and found shapes).
PretrainedReport load_pretrained(const std::string& dir, const model::Bert& model, float* params, std::uint64_t seed);

}  // namespace strata::train
