// Subword tokenizer: a thin wrapper over SentencePiece (unigram) that trains quietly and deterministically, or over
// WordPiece (a Hugging Face BERT directory's vocab.txt, data/wordpiece.h), that turns a TextDataset into fixed-length
// BERT-style inputs: [CLS] pieces [SEP] [PAD]..., with an attention mask.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strata/data/text.h"

namespace strata::data {

// How many leading bytes of a text encode() reads for rows of seq_len tokens; utf8_prefix cuts a string there
// without splitting a UTF-8 character.
std::size_t encode_prefix_bytes(int seq_len);
std::string utf8_prefix(const std::string& s, std::size_t max_bytes);

class Tokenizer {
 public:
  // Trains a unigram model and writes it to model_dir/tokenizer.model (atomically; the directory is created).
  // Ids: 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK], then the learnt pieces. vocab_size is a soft limit (a tiny
  // corpus may give fewer pieces). At most kMaxTrainTexts texts are used (a seeded sample when there are more), so
  // training takes seconds; the same texts, vocab_size and seed give the same model. Empty texts are skipped.
  static Tokenizer train(const std::vector<std::string>& texts, int vocab_size, const std::string& model_dir,
                         std::uint64_t seed);
  // Loads a SentencePiece model; it must define [CLS] and [SEP] (and a pad id or a [PAD] piece). Throws bad_input
  // naming the file if it is missing, not a model, or lacks those pieces.
  // A path naming a .txt file loads a WordPiece vocab.txt instead (WordPiece::load's checks and options); a directory
  // loads its vocab.txt when it has one, else its tokenizer.model.
  static Tokenizer load(const std::string& model_path);
  // The file load() would read for a path (a directory resolved as above; "" when a directory holds neither).
  static std::string resolve(const std::string& path);
  static bool is_wordpiece_path(const std::string& path);

  static constexpr std::size_t kMaxTrainTexts = 50'000;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Rows of exactly seq_len (>= 3) tokens: [CLS] pieces [SEP] then [PAD]; pieces beyond seq_len - 2 are dropped and
  // the row counted in *truncated_count. Only the first encode_prefix_bytes(seq_len) bytes of a text are encoded (a
  // piece spans at most 16 characters, so these hold seq_len pieces of any real text): a 10 MB line costs what its
  // prefix costs; a text cut so counts as truncated. mask is 1 on [CLS], pieces and [SEP]. y and classes are copied.
  TokenDataset encode(const TextDataset& ds, int seq_len, int* truncated_count = nullptr) const;
  // The pieces of one text, without special tokens.
  std::vector<std::int32_t> encode_text(const std::string& text) const;
  // Text back from ids; special tokens are dropped.
  std::string decode(const std::vector<std::int32_t>& ids) const;

  int vocab_size() const;
  int pad_id() const { return pad_id_; }
  int unk_id() const { return unk_id_; }
  int cls_id() const { return cls_id_; }
  int sep_id() const { return sep_id_; }
  int mask_id() const { return mask_id_; }  // -1 if the model has no [MASK]
  const std::string& model_path() const { return model_path_; }
  bool is_wordpiece() const;

 private:
  struct Impl;
  Tokenizer();
  static Tokenizer from_serialized(const std::string& bytes, const std::string& where);
  std::unique_ptr<Impl> impl_;
  std::string model_path_;
  int pad_id_ = -1, unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, mask_id_ = -1;
};

}  // namespace strata::data
