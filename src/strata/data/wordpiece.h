// WordPiece tokenization as Hugging Face's BertTokenizer does it (transformers' BasicTokenizer + WordpieceTokenizer),
// so that a pre-trained BERT directory's vocab.txt encodes text to the ids the model was trained on. Unicode
// categories, lower-casing and normalisation come from ICU.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata::data {

struct WordPieceOptions {
  bool lower_case = true;               // do_lower_case
  int strip_accents = -1;               // strip_accents: -1 unset (follows lower_case), 0 false, 1 true
  bool tokenize_chinese_chars = true;   // tokenize_chinese_chars
  int max_input_chars_per_word = 100;   // longer words (in code points) become [UNK]
};

class WordPiece {
 public:
  // Reads vocab.txt: one token a line, the id is the line's index (0-based), a trailing "\r" is dropped. bad_input
  // (exit 2) naming the file and line on invalid UTF-8 or a duplicate token, and naming the file when [UNK], [CLS],
  // [SEP] or [PAD] is missing. Options come from tokenizer_config.json beside it when present (do_lower_case,
  // strip_accents, tokenize_chinese_chars), else the defaults above (bert-base-uncased's).
  static WordPiece load(const std::string& vocab_path);
  static WordPiece from_vocab(const std::vector<std::string>& tokens, const WordPieceOptions& options,
                              const std::string& where);

  // The pieces of one text as strings ("un", "##aff", "##able"); special tokens written in the text ([CLS],
  // [MASK], ...: exactly, case-sensitive) are kept whole, as the HF tokenizer's added-token split does.
  std::vector<std::string> tokenize(const std::string& text) const;
  // The same as ids.
  std::vector<std::int32_t> encode(const std::string& text) const;
  // Tokens joined with spaces, "##" continuations glued to their word (HF convert_tokens_to_string).
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special) const;

  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  int id(const std::string& token) const;  // -1 if absent
  int unk_id() const { return unk_; }
  int cls_id() const { return cls_; }
  int sep_id() const { return sep_; }
  int pad_id() const { return pad_; }
  int mask_id() const { return mask_; }  // -1 if the vocabulary has no [MASK]
  const WordPieceOptions& options() const { return opt_; }

 private:
  // HF BasicTokenizer on a piece of text that holds no special token: clean-up, CJK spacing, NFC, whitespace split,
  // lower-casing / accent stripping, punctuation split.
  std::vector<std::u32string> basic_tokenize(const std::u32string& text) const;
  // Greedy longest-match-first over one basic token; appends ids.
  void wordpiece(const std::u32string& word, std::vector<std::int32_t>& out) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int32_t> ids_;
  WordPieceOptions opt_;
  int unk_ = -1, cls_ = -1, sep_ = -1, pad_ = -1, mask_ = -1;
};

// UTF-8 <-> code points; invalid bytes decode to U+FFFD (which the clean-up step then drops, as HF drops it).
std::u32string utf8_to_u32(const std::string& s);
std::string u32_to_utf8(const std::u32string& s);
// True if s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& s);

}  // namespace strata::data
