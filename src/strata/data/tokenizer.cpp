// SentencePiece training and encoding behind strata's error conventions. Training reads sentences from memory
// through an iterator (no temporary corpus file), is silenced with minloglevel, and samples its input itself with
// a seeded generator so the model depends only on (texts, vocab_size, seed).
#include "strata/data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <unordered_map>

#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/core/rng.h"
#include "strata/core/thread_pool.h"
#include "strata/data/wordpiece.h"

namespace strata::data {

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
  std::unique_ptr<WordPiece> wp;  // set: a WordPiece vocabulary, sp unused
};

namespace {

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  VectorIterator(const std::vector<std::string>& texts, const std::vector<std::size_t>& order)
      : texts_(texts), order_(order) {}
  bool done() const override { return pos_ >= order_.size(); }
  void Next() override { ++pos_; }
  const std::string& value() const override { return texts_[order_[pos_]]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  const std::vector<std::string>& texts_;
  const std::vector<std::size_t>& order_;
  std::size_t pos_ = 0;
};

}  // namespace

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::train(const std::vector<std::string>& texts, int vocab_size, const std::string& model_dir,
                           std::uint64_t seed) {
  if (vocab_size < 8) bad_input("tokenizer: vocab_size must be at least 8, given ", vocab_size);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < texts.size(); ++i)
    if (texts[i].find_first_not_of(" \t\r\n") != std::string::npos) order.push_back(i);
  if (order.empty()) bad_input("tokenizer: no non-empty text to train on (", texts.size(), " texts given)");
  if (order.size() > kMaxTrainTexts) {  // seeded partial Fisher-Yates, then back to corpus order
    Rng rng(seed);
    for (std::size_t i = 0; i < kMaxTrainTexts; ++i) std::swap(order[i], order[i + rng.below(order.size() - i)]);
    order.resize(kMaxTrainTexts);
    std::sort(order.begin(), order.end());
  }
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned int>(seed));
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(vocab_size)},
      {"hard_vocab_limit", "false"},
      {"character_coverage", "1.0"},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_piece", "[PAD]"},
      {"unk_piece", "[UNK]"},
      {"control_symbols", "[CLS],[SEP],[MASK]"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"num_threads", "2"},
      {"minloglevel", "2"},
      {"seed_sentencepiece_size", "200000"},
  };
  VectorIterator it(texts, order);
  std::string serialized;
  auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &serialized);
  if (!status.ok())
    bad_input("tokenizer: SentencePiece training failed (vocab_size=", vocab_size, ", ", order.size(),
              " texts): ", status.ToString());
  std::error_code ec;
  std::filesystem::create_directories(model_dir, ec);
  if (ec) bad_input(model_dir, ": cannot create directory (", ec.message(), ")");
  const std::string path = model_dir + "/tokenizer.model";
  write_file_atomic(path, serialized);
  Tokenizer t = from_serialized(serialized, path);
  t.model_path_ = path;
  return t;
}

bool Tokenizer::is_wordpiece_path(const std::string& path) {
  return std::filesystem::path(path).extension() == ".txt";
}

std::string Tokenizer::resolve(const std::string& path) {
  if (!std::filesystem::is_directory(path)) return path;
  for (const char* name : {"/vocab.txt", "/tokenizer.model"})
    if (std::filesystem::is_regular_file(path + name)) return path + name;
  return "";
}

bool Tokenizer::is_wordpiece() const { return impl_->wp != nullptr; }

Tokenizer Tokenizer::load(const std::string& path) {
  const std::string model_path = resolve(path);
  if (model_path.empty())
    bad_input(path, ": directory holds no tokenizer (expected vocab.txt or tokenizer.model)");
  if (is_wordpiece_path(model_path)) {
    Tokenizer t;
    t.impl_->wp = std::make_unique<WordPiece>(WordPiece::load(model_path));
    const WordPiece& w = *t.impl_->wp;
    t.pad_id_ = w.pad_id(), t.unk_id_ = w.unk_id(), t.cls_id_ = w.cls_id(), t.sep_id_ = w.sep_id();
    t.mask_id_ = w.mask_id();
    t.model_path_ = model_path;
    return t;
  }
  if (!std::filesystem::is_regular_file(model_path))
    bad_input(model_path, ": tokenizer model not found (expected a SentencePiece .model file)");
  Tokenizer t = from_serialized(read_file(model_path), model_path);
  t.model_path_ = model_path;
  return t;
}

Tokenizer Tokenizer::from_serialized(const std::string& bytes, const std::string& where) {
  Tokenizer t;
  sentencepiece::util::Status status;
  try {
    status = t.impl_->sp.LoadFromSerializedProto(bytes);
  } catch (const std::exception& e) {  // SentencePiece's trie builder throws on some malformed vocabularies
    bad_input(where, ": not a SentencePiece model (", e.what(), ")");
  }
  if (!status.ok()) bad_input(where, ": not a SentencePiece model (", status.ToString(), ")");
  auto& sp = t.impl_->sp;
  auto piece_id = [&](const char* piece) {
    const int id = sp.PieceToId(piece);
    return id >= 0 && id < sp.GetPieceSize() && sp.IdToPiece(id) == piece ? id : -1;
  };
  t.unk_id_ = sp.unk_id();
  t.pad_id_ = sp.pad_id() >= 0 ? sp.pad_id() : piece_id("[PAD]");
  t.cls_id_ = piece_id("[CLS]");
  t.sep_id_ = piece_id("[SEP]");
  t.mask_id_ = piece_id("[MASK]");
  if (t.pad_id_ < 0 || t.cls_id_ < 0 || t.sep_id_ < 0)
    bad_input(where, ": the model lacks ",
              t.pad_id_ < 0   ? "a pad id / [PAD] piece"
              : t.cls_id_ < 0 ? "[CLS]"
                              : "[SEP]",
              " (train it with strata, or with control_symbols=[CLS],[SEP] and pad_id set)");
  return t;
}

int Tokenizer::vocab_size() const { return impl_->wp ? impl_->wp->vocab_size() : impl_->sp.GetPieceSize(); }

std::vector<std::int32_t> Tokenizer::encode_text(const std::string& text) const {
  if (impl_->wp) return impl_->wp->encode(text);
  std::vector<int> ids;
  auto status = impl_->sp.Encode(text, &ids);
  if (!status.ok()) internal_error("tokenizer: encode failed: ", status.ToString());
  return std::vector<std::int32_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids) const {
  if (impl_->wp) return impl_->wp->decode(ids, true);
  std::vector<int> keep;
  for (std::int32_t id : ids)
    if (id != pad_id_ && id != cls_id_ && id != sep_id_ && id != mask_id_) keep.push_back(id);
  std::string out;
  auto status = impl_->sp.Decode(keep, &out);
  if (!status.ok()) bad_input("tokenizer: cannot decode ids: ", status.ToString());
  return out;
}

std::size_t encode_prefix_bytes(int seq_len) { return static_cast<std::size_t>(seq_len) * 64 + 4096; }

std::string utf8_prefix(const std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a multi-byte character
  return s.substr(0, n);
}

TokenDataset Tokenizer::encode(const TextDataset& ds, int seq_len, int* truncated_count) const {
  if (seq_len < 3) bad_input("tokenizer: seq_len must be at least 3 ([CLS] x [SEP]), given ", seq_len);
  if (ds.y.size() != ds.texts.size())
    bad_input("tokenizer: ", ds.source, " has ", ds.texts.size(), " texts but ", ds.y.size(), " labels");
  TokenDataset out;
  out.n = static_cast<int>(ds.texts.size());
  out.T = seq_len;
  out.y = ds.y;
  out.classes = ds.classes;
  out.num_classes = static_cast<int>(ds.classes.size());
  out.vocab = vocab_size();
  const std::size_t T = static_cast<std::size_t>(seq_len);
  out.ids.assign(ds.texts.size() * T, pad_id_);  // (n, T)
  out.mask.assign(ds.texts.size() * T, 0);       // (n, T)
  std::vector<std::uint8_t> truncated(ds.texts.size(), 0);
  const std::size_t max_bytes = encode_prefix_bytes(seq_len);
  ThreadPool pool(default_threads());
  pool.parallel_for(ds.texts.size(), [&](std::size_t i) {  // both encoders are const and thread-safe
    const std::string& text = ds.texts[i];
    const bool cut = text.size() > max_bytes;
    const std::vector<std::int32_t> pieces = encode_text(cut ? utf8_prefix(text, max_bytes) : text);
    const std::size_t keep = std::min(pieces.size(), T - 2);
    truncated[i] = cut || pieces.size() > keep;
    std::int32_t* row = out.ids.data() + i * T;
    std::uint8_t* m = out.mask.data() + i * T;
    row[0] = cls_id_;
    std::copy(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(keep), row + 1);
    row[keep + 1] = sep_id_;
    std::fill(m, m + keep + 2, std::uint8_t{1});
  });
  if (truncated_count != nullptr)
    *truncated_count = static_cast<int>(std::count(truncated.begin(), truncated.end(), 1));
  return out;
}

}  // namespace strata::data
