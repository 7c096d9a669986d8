// Checkpoint directories: HF-named safetensors + config.json + tokenizer + optimizer state, written whole into a
// temporary directory and swapped in atomically.
#include "strata/train/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE (glibc >= 2.28)
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>

#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/json.h"
#include "strata/core/memory.h"
#include "strata/io/safetensors.h"
#include "strata/model/config.h"

namespace strata::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarkers[] = {"trainer_state.json", "config.json", "model.safetensors"};

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string parent_of(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();  // "a/b/" -> "a/b"
  const fs::path parent = p.parent_path();
  return parent.empty() ? "." : parent.string();
}

std::string normalised(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// bad_input unless dir is absent, an empty directory, or a directory holding a strata checkpoint.
void check_replaceable(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) bad_input(dir, ": exists and is not a directory; cannot save a checkpoint there");
  bool empty = fs::is_empty(dir, ec);
  if (empty) return;
  for (const char* m : kMarkers)
    if (fs::exists(fs::path(dir) / m)) return;
  bad_input(dir, ": exists, is not empty and holds no strata checkpoint (no trainer_state.json, config.json or ",
            "model.safetensors); refusing to replace it");
}

std::vector<io::TensorToWrite> named_tensors(const model::Bert& model, const float* base, const std::string& prefix) {
  std::vector<io::TensorToWrite> out;
  for (const model::TensorInfo& t : model.tensors())
    out.push_back({prefix + t.name, "F32", t.shape, base + t.offset, t.numel * sizeof(float)});
  return out;
}

// Every tensor the model needs is in f, float, of its shape: checked before anything the size of the model is
// allocated, so a config claiming a huge model is refused by the file it comes with (whose size is real).
void check_named(const io::SafetensorsFile& f, const model::Bert& model, const std::string& prefix) {
  for (const model::TensorInfo& t : model.tensors()) {
    const io::SafeTensor& st = f.get(prefix + t.name);
    if (st.shape != t.shape) {
      std::string want, got;
      for (auto d : t.shape) want += cat(want.empty() ? "" : ", ", d);
      for (auto d : st.shape) got += cat(got.empty() ? "" : ", ", d);
      bad_input(f.path(), ": tensor '", prefix + t.name, "': expected shape [", want,
                "] (from the model's config), found [", got, "]");
    }
    if (st.dtype != "F32" && st.dtype != "F16" && st.dtype != "BF16")
      bad_input(f.path(), ": tensor '", prefix + t.name, "': expected dtype F32 (or F16/BF16), found ", st.dtype);
  }
}

// Host memory for n floats of `what`: exit 3 naming what asked for it and how much, instead of a bare bad_alloc.
std::vector<float> floats_for(std::size_t n, const std::string& what) {
  try {
    return std::vector<float>(n, 0.0f);
  } catch (const std::bad_alloc&) {
    resource_error("cannot allocate ", format_bytes(n * sizeof(float)), " of host memory for ", what);
  }
}

void read_named(const io::SafetensorsFile& f, const model::Bert& model, const std::string& prefix, float* dst) {
  for (const model::TensorInfo& t : model.tensors()) {
    const std::vector<float> v = f.read_f32(prefix + t.name, t.shape);
    std::copy(v.begin(), v.end(), dst + t.offset);
  }
}

// A SentencePiece model becomes DIR/tokenizer.model; a WordPiece vocab.txt (any *.txt) DIR/vocab.txt, with the
// tokenizer_config.json beside it (its casing options) when there is one.
void copy_tokenizer(const std::string& source, const std::string& dir) {
  if (fs::path(source).extension() != ".txt") {
    write_file_atomic(dir + "/tokenizer.model", read_file(source));
    return;
  }
  write_file_atomic(dir + "/vocab.txt", read_file(source));
  const fs::path cfg = fs::path(source).parent_path() / "tokenizer_config.json";
  if (fs::is_regular_file(cfg)) write_file_atomic(dir + "/tokenizer_config.json", read_file(cfg.string()));
}

}  // namespace

void check_checkpoint_target(const std::string& dir_in) {
  if (dir_in.empty()) bad_input("--save: empty directory name");
  const std::string dir = normalised(dir_in);
  check_replaceable(dir);
  const std::string parent = parent_of(dir);
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) bad_input(dir, ": cannot create the parent directory ", parent, " (", ec.message(), ")");
  const std::string probe = cat(dir, ".tmp.", ::getpid());
  fs::remove_all(probe, ec);
  if (!fs::create_directory(probe, ec) || ec)
    bad_input(dir, ": cannot write a checkpoint here (", ec ? ec.message() : std::string("cannot create ") + probe,
              ")");
  fs::remove_all(probe, ec);
}

// Removes DIR.tmp.<pid> directories left by writers that no longer run (killed mid-save).
static void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  const fs::path d(dir);
  const std::string prefix = d.filename().string() + ".tmp.";
  for (const auto& e : fs::directory_iterator(parent_of(dir), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const long p = std::stol(pid);
    if (p == ::getpid() || (::kill(static_cast<pid_t>(p), 0) != 0 && errno == ESRCH)) fs::remove_all(e.path(), ec);
  }
}

// config.json: a classifier's with its labels; a masked-LM model's as BertForMaskedLM writes it (no labels).
static void write_config(const model::Bert& model, const std::string& path) {
  if (model.head() == model::Head::kClassifier) return model::save_bert_config(model.config(), path);
  model.config().validate();
  nlohmann::json cfg = model::to_json(model.config());
  cfg["architectures"] = {"BertForMaskedLM"};
  for (const char* k : {"id2label", "label2id", "num_labels"}) cfg.erase(k);
  write_file_atomic(path, cfg.dump(2) + "\n");
}

void save_checkpoint(const std::string& dir_in, const CheckpointContent& c) {
  STRATA_CHECK(c.model && c.params, "save_checkpoint needs a model and its parameters");
  const std::string dir = normalised(dir_in);
  check_replaceable(dir);
  std::error_code ec;
  fs::create_directories(parent_of(dir), ec);
  remove_stale_temporaries(dir);
  const std::string tmp = cat(dir, ".tmp.", ::getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) bad_input(tmp, ": cannot create the checkpoint directory (", ec.message(), ")");
  try {
    const model::Bert& model = *c.model;
    write_config(model, tmp + "/config.json");
    io::write_safetensors(tmp + "/model.safetensors", named_tensors(model, c.params, ""), {{"format", "pt"}});
    if (c.m && c.v) {
      std::vector<io::TensorToWrite> t = named_tensors(model, c.m, "exp_avg.");
      std::vector<io::TensorToWrite> t2 = named_tensors(model, c.v, "exp_avg_sq.");
      t.insert(t.end(), t2.begin(), t2.end());
      io::write_safetensors(tmp + "/optimizer.safetensors", t);
    }
    if (!c.tokenizer_source.empty()) copy_tokenizer(c.tokenizer_source, tmp);
    write_file_atomic(tmp + "/trainer_state.json", c.state.dump(2) + "\n");
    fsync_path(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
    // Swap the complete new directory in for the old one in one step, then drop the old one.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
      const std::string why = std::strerror(errno);
      fs::remove_all(tmp, ec);
      bad_input(dir, ": cannot replace the checkpoint (", why, ")");
    }
    fs::remove_all(tmp, ec);  // now the old checkpoint
  } else if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    fs::remove_all(tmp, ec);
    bad_input(dir, ": cannot create the checkpoint (", why, ")");
  }
  fsync_path(parent_of(dir));
}

Checkpoint load_checkpoint(const std::string& dir, bool with_optimizer, const model::BertConfig* expect,
                           model::Head head) {
  if (!fs::is_directory(dir))
    bad_input(dir, ": not a checkpoint directory (expected a directory from strata train --save)");
  Checkpoint ck;
  ck.dir = dir;
  const std::string cfg_path = dir + "/config.json";
  if (!fs::exists(cfg_path)) bad_input(dir, ": no config.json (not a strata/Hugging Face checkpoint directory)");
  ck.config = model::load_bert_config(cfg_path);
  const model::Bert layout(expect ? *expect : ck.config, head);
  const std::string model_path = dir + "/model.safetensors";
  if (!fs::exists(model_path)) bad_input(dir, ": no model.safetensors");
  const io::SafetensorsFile weights = io::SafetensorsFile::open(model_path);
  check_named(weights, layout, "");
  ck.params = floats_for(layout.total_floats(), model_path + " (the model's parameters)");
  read_named(weights, layout, "", ck.params.data());
  if (expect) ck.config = *expect;
  const std::string state_path = dir + "/trainer_state.json";
  if (fs::exists(state_path)) {
    ck.state = parse_json(read_file(state_path), state_path);
    if (!ck.state.is_object()) bad_input(state_path, ": expected a JSON object, found ", ck.state.type_name());
  } else if (with_optimizer) {
    bad_input(dir, ": no trainer_state.json (a model exported without training state cannot be resumed)");
  }
  if (with_optimizer) {
    const std::string opt_path = dir + "/optimizer.safetensors";
    if (!fs::exists(opt_path)) bad_input(dir, ": no optimizer.safetensors (cannot resume without optimizer state)");
    const io::SafetensorsFile f = io::SafetensorsFile::open(opt_path);
    check_named(f, layout, "exp_avg.");
    check_named(f, layout, "exp_avg_sq.");
    ck.m = floats_for(layout.total_floats(), opt_path + " (the optimizer's first moments)");
    ck.v = floats_for(layout.total_floats(), opt_path + " (the optimizer's second moments)");
    read_named(f, layout, "exp_avg.", ck.m.data());
    read_named(f, layout, "exp_avg_sq.", ck.v.data());
  }
  if (fs::exists(dir + "/vocab.txt"))  // a WordPiece vocabulary wins, as in a Hugging Face directory
    ck.tokenizer_path = dir + "/vocab.txt";
  else if (fs::exists(dir + "/tokenizer.model"))
    ck.tokenizer_path = dir + "/tokenizer.model";
  return ck;
}

}  // namespace strata::train
