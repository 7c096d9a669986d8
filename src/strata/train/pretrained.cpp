// train --init: tensors of a pre-trained directory matched to the model by Hugging Face name, every problem named
// at once (a user fixing a converted checkpoint wants the whole list, not one name per run).
#include "strata/train/pretrained.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "strata/core/error.h"
#include "strata/io/safetensors.h"

namespace strata::train {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

bool is_new_head(const std::string& name) { return starts_with(name, "classifier."); }
bool is_pooler(const std::string& name) { return starts_with(name, "bert.pooler."); }

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += cat(i ? ", " : "", s[i]);
  return out + "]";
}

// The file's name for a strata tensor: the prefix style swapped in, then HF's legacy LayerNorm names. "" if absent.
std::string file_name(const io::SafetensorsFile& f, const std::string& name, const std::string& prefix) {
  std::string n = starts_with(name, "bert.") ? prefix + name.substr(5) : name;
  if (f.contains(n)) return n;
  const std::string ln_w = "LayerNorm.weight", ln_b = "LayerNorm.bias";
  for (const auto& [from, to] : {std::pair{ln_w, std::string("LayerNorm.gamma")}, {ln_b, "LayerNorm.beta"}}) {
    if (n.size() >= from.size() && n.compare(n.size() - from.size(), from.size(), from) == 0) {
      const std::string legacy = n.substr(0, n.size() - from.size()) + to;
      if (f.contains(legacy)) return legacy;
    }
  }
  return "";
}

// "bert." when the file names any tensor with it, else "" (a BertModel checkpoint).
std::string detect_prefix(const io::SafetensorsFile& f) {
  for (const io::SafeTensor& t : f.tensors())
    if (starts_with(t.name, "bert.")) return "bert.";
  return "";
}

}  // namespace

model::BertConfig pretrained_config(const std::string& dir) {
  if (!fs::is_directory(dir)) bad_input("--init ", dir, ": not a directory (expected a pre-trained model directory)");
  const std::string cfg = dir + "/config.json";
  if (!fs::is_regular_file(cfg))
    bad_input("--init ", dir, ": no config.json (expected a strata or Hugging Face BERT directory)");
  return model::load_bert_config(cfg);
}

PretrainedReport load_pretrained(const std::string& dir, const model::Bert& model, float* params, std::uint64_t seed) {
  const std::string path = dir + "/model.safetensors";
  if (!fs::is_regular_file(path))
    bad_input("--init ", dir, ": no model.safetensors (a pytorch_model.bin must be converted to safetensors first)");
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  model.init(params, seed);
  PretrainedReport r;
  r.prefix = detect_prefix(f);
  std::set<std::string> used;
  std::string missing, misshapen;
  for (const model::TensorInfo& t : model.tensors()) {
    const std::string n = is_new_head(t.name) ? "" : file_name(f, t.name, r.prefix);
    if (n.empty()) {
      if (is_new_head(t.name) || is_pooler(t.name)) {
        r.initialised.push_back(t.name);
      } else {
        missing += cat(missing.empty() ? "" : ", ", r.prefix.empty() ? t.name.substr(5) : t.name);
      }
      continue;
    }
    const io::SafeTensor& st = f.get(n);
    if (st.shape != t.shape) {
      misshapen += cat(misshapen.empty() ? "" : "; ", n, " expected ", shape_str(t.shape), ", found ",
                       shape_str(st.shape));
      continue;
    }
    const std::vector<float> v = f.read_f32(n, t.shape);
    std::copy(v.begin(), v.end(), params + t.offset);
    used.insert(n);
    r.loaded.push_back(t.name);
  }
  if (!missing.empty() || !misshapen.empty())
    bad_input(path, ": cannot start the model from it: ", missing.empty() ? "" : cat("missing tensors: ", missing),
              !missing.empty() && !misshapen.empty() ? "; " : "",
              misshapen.empty() ? "" : cat("tensors of another shape: ", misshapen),
              " (config.json describes a model these tensors do not fit)");
  for (const io::SafeTensor& t : f.tensors())
    if (!used.count(t.name)) r.unused.push_back(t.name);
  std::sort(r.unused.begin(), r.unused.end());
  return r;
}

}  // namespace strata::train
