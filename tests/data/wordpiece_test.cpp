// WordPiece against reference tokenizations worked out by hand from Hugging Face's BertTokenizer algorithm
// (transformers/models/bert/tokenization_bert.py: _clean_text, _tokenize_chinese_chars, NFC, whitespace split,
// lower() + _run_strip_accents, _run_split_on_punc, then greedy longest-match-first WordPiece), on inputs chosen
// to break a naive implementation; plus vocab.txt errors and the Tokenizer front door choosing WordPiece.
#include "strata/data/wordpiece.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "strata/data/tokenizer.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_path;
using testing::write_temp;
using Pieces = std::vector<std::string>;

const std::vector<std::string> kVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "un", "##aff", "##able", ",",
    ".", "!", "'", "$", "5", "don", "t", "hello", "world", "##world", "cafe", "caf\u00e9", "resume", "naive",
    "\u4e2d", "\u56fd", "\u4eba", "a", "##a", "\u03bf\u03b4\u03bf\u03c2", "istanbul", "[", "mask", "]", "xyz", "##s",
    "dog"};

std::string vocab_file(const std::string& name, const std::vector<std::string>& tokens) {
  std::string text;
  for (const auto& t : tokens) text += t + "\n";
  std::filesystem::create_directories(temp_path(name));
  return write_temp(name + "/vocab.txt", text);
}

const WordPiece& uncased() {
  static WordPiece w = WordPiece::from_vocab(kVocab, WordPieceOptions{}, "test");
  return w;
}

const WordPiece& cased() {
  static WordPiece w = [] {
    WordPieceOptions o;
    o.lower_case = false;
    return WordPiece::from_vocab(kVocab, o, "test");
  }();
  return w;
}

TEST(WordPiece, GreedyLongestMatchWithContinuations) {
  EXPECT_EQ(uncased().tokenize("UNaffable cats"), (Pieces{"un", "##aff", "##able", "cat", "##s"}));
  EXPECT_EQ(uncased().tokenize("the dogs"), (Pieces{"the", "dog", "##s"}));
  // One position that matches nothing makes the whole word [UNK], not just its tail.
  EXPECT_EQ(uncased().tokenize("catx dog"), (Pieces{"[UNK]", "dog"}));
  EXPECT_EQ(uncased().encode("the cat"), (std::vector<std::int32_t>{5, 6}));
}

TEST(WordPiece, LowerCasesAndStripsAccentsOnlyWhenUncased) {
  EXPECT_EQ(uncased().tokenize("Caf\u00e9 R\u00e9sum\u00e9 NA\u00cfVE"), (Pieces{"cafe", "resume", "naive"}));
  EXPECT_EQ(cased().tokenize("Caf\u00e9 r\u00e9sum\u00e9"), (Pieces{"[UNK]", "[UNK]"}));
  // Cased: a decomposed e + combining acute is composed by NFC and matches the composed vocabulary entry.
  EXPECT_EQ(cased().tokenize("cafe\u0301"), (Pieces{"caf\u00e9"}));
  // Full Unicode lower-casing: Greek final sigma, and dotted capital I -> i + combining dot (then stripped).
  EXPECT_EQ(uncased().tokenize("\u039f\u0394\u039f\u03a3"), (Pieces{"\u03bf\u03b4\u03bf\u03c2"}));
  EXPECT_EQ(uncased().tokenize("\u0130STANBUL"), (Pieces{"istanbul"}));
}

TEST(WordPiece, SplitsPunctuationIncludingAsciiSymbols) {
  EXPECT_EQ(uncased().tokenize("Hello, world! don't $5."),
            (Pieces{"hello", ",", "world", "!", "don", "'", "t", "$", "5", "."}));
  EXPECT_EQ(uncased().tokenize("(the)"), (Pieces{"[UNK]", "the", "[UNK]"}));
  // A special token written in lower case is not special: it splits on its brackets.
  EXPECT_EQ(uncased().tokenize("[mask]"), (Pieces{"[", "mask", "]"}));
}

TEST(WordPiece, SpecialTokensInTextStayWhole) {
  EXPECT_EQ(uncased().tokenize("[CLS] hello[MASK]world [SEP]"),
            (Pieces{"[CLS]", "hello", "[MASK]", "world", "[SEP]"}));
}

TEST(WordPiece, SplitsChineseCharactersButNotKana) {
  EXPECT_EQ(uncased().tokenize("hello\u4e2d\u56fd\u4eba\u6211"), (Pieces{"hello", "\u4e2d", "\u56fd", "\u4eba", "[UNK]"}));
  // Hiragana is outside the CJK ideograph blocks: one word, unknown as a whole.
  EXPECT_EQ(uncased().tokenize("\u3053\u3093\u306b\u3061\u306f"), (Pieces{"[UNK]"}));
  WordPieceOptions o;
  o.tokenize_chinese_chars = false;
  const WordPiece w = WordPiece::from_vocab(kVocab, o, "test");
  EXPECT_EQ(w.tokenize("\u4e2d\u56fd"), (Pieces{"[UNK]"}));
}

TEST(WordPiece, CleansControlCharactersAndUnicodeWhitespace) {
  // NUL and other controls vanish (joining their neighbours); tab, newline, CR, NBSP and ideographic space separate.
  EXPECT_EQ(uncased().tokenize(std::string("hel\0lo\tthe\ncat\rsat", 18)), (Pieces{"hello", "the", "cat", "sat"}));
  EXPECT_EQ(uncased().tokenize("hello\x07world"), (Pieces{"hello", "##world"}));
  EXPECT_EQ(uncased().tokenize("hello\u200bworld"), (Pieces{"hello", "##world"}));  // zero-width space is Cf
  EXPECT_EQ(uncased().tokenize("the\u00a0cat\u3000sat"), (Pieces{"the", "cat", "sat"}));
  EXPECT_EQ(uncased().tokenize("the\u2028cat"), (Pieces{"the", "cat"}));  // line separator: Python's split()
  // U+FFFD and invalid UTF-8 (decoded to U+FFFD) are dropped.
  EXPECT_EQ(uncased().tokenize("hello\ufffdworld"), (Pieces{"hello", "##world"}));
  EXPECT_EQ(uncased().tokenize("hello\xffworld"), (Pieces{"hello", "##world"}));
  EXPECT_TRUE(uncased().tokenize(" \t\n").empty());
}

TEST(WordPiece, WordsOverOneHundredCharactersAreUnknown) {
  const Pieces hundred = uncased().tokenize(std::string(100, 'a'));
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred[0], "a");
  EXPECT_EQ(hundred[99], "##a");
  EXPECT_EQ(uncased().tokenize(std::string(101, 'a')), (Pieces{"[UNK]"}));
  // The limit counts code points, not bytes: 60 two-byte characters (120 bytes) are a 60-character word.
  std::vector<std::string> v = kVocab;
  v.push_back("\u03bf");
  v.push_back("##\u03bf");
  const WordPiece w = WordPiece::from_vocab(v, WordPieceOptions{}, "test");
  std::string omicrons;
  for (int i = 0; i < 60; ++i) omicrons += "\u03bf";
  EXPECT_EQ(w.tokenize(omicrons).size(), 60u);
}

TEST(WordPiece, DecodeGluesContinuations) {
  const WordPiece& w = uncased();
  EXPECT_EQ(w.decode(w.encode("[CLS] UNaffable cats, the dogs"), true), "unaffable cats , the dogs");
  EXPECT_EQ(w.decode(w.encode("[CLS] the"), false), "[CLS] the");
}

TEST(WordPiece, VocabularyErrorsNameFileAndLine) {
  std::vector<std::string> dup = kVocab;
  dup.push_back("cat");
  const std::string p = vocab_file("wp_dup", dup);
  std::string msg = bad_input_message([&] { WordPiece::load(p); });
  EXPECT_NE(msg.find(p + ":" + std::to_string(dup.size())), std::string::npos) << msg;
  EXPECT_NE(msg.find("duplicate token 'cat' (first on line 7)"), std::string::npos) << msg;

  std::vector<std::string> no_specials(kVocab.begin() + 5, kVocab.end());
  no_specials.insert(no_specials.begin(), "[CLS]");
  const std::string q = vocab_file("wp_missing", no_specials);
  msg = bad_input_message([&] { WordPiece::load(q); });
  EXPECT_NE(msg.find(q), std::string::npos) << msg;
  EXPECT_NE(msg.find("lacks [UNK], [SEP], [PAD]"), std::string::npos) << msg;

  const std::string r = vocab_file("wp_utf8", {"[PAD]", "[UNK]", "bad\xff", "[CLS]", "[SEP]"});
  msg = bad_input_message([&] { WordPiece::load(r); });
  EXPECT_NE(msg.find(r + ":3: token is not valid UTF-8"), std::string::npos) << msg;

  msg = bad_input_message([&] { WordPiece::load(temp_path("nowhere/vocab.txt")); });
  EXPECT_NE(msg.find("vocabulary not found"), std::string::npos) << msg;
}

TEST(WordPiece, ReadsTokenizerConfigBesideTheVocabulary) {
  const std::string p = vocab_file("wp_cfg", kVocab);
  EXPECT_TRUE(WordPiece::load(p).options().lower_case);
  write_temp("wp_cfg/tokenizer_config.json", R"({"do_lower_case": false, "strip_accents": null})");
  const WordPiece w = WordPiece::load(p);
  EXPECT_FALSE(w.options().lower_case);
  EXPECT_EQ(w.tokenize("The"), (Pieces{"[UNK]"}));
  write_temp("wp_cfg/tokenizer_config.json", R"({"do_lower_case": "yes"})");
  const std::string msg = bad_input_message([&] { WordPiece::load(p); });
  EXPECT_NE(msg.find("do_lower_case"), std::string::npos) << msg;
}

TEST(WordPiece, TokenizerChoosesWordPieceForVocabTxt) {
  const std::string p = vocab_file("wp_dir", kVocab);
  write_temp("wp_dir/tokenizer.model", "not consulted: vocab.txt wins");
  const Tokenizer t = Tokenizer::load(temp_path("wp_dir"));
  EXPECT_TRUE(t.is_wordpiece());
  EXPECT_EQ(t.model_path(), p);
  EXPECT_EQ(t.vocab_size(), static_cast<int>(kVocab.size()));
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.mask_id(), 4);
  TextDataset ds;
  ds.texts = {"The cat sat on the mat."};
  ds.y = {0};
  ds.classes = {"x"};
  const TokenDataset rows = t.encode(ds, 8);
  EXPECT_EQ(rows.ids, (std::vector<std::int32_t>{2, 5, 6, 7, 8, 5, 9, 3}));  // [CLS] the cat sat on the mat [SEP]
  EXPECT_EQ(rows.vocab, static_cast<int>(kVocab.size()));
  EXPECT_EQ(t.decode(rows.ids), "the cat sat on the mat");
}

}  // namespace
}  // namespace strata::data
