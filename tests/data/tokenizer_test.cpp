// Tests for the SentencePiece wrapper: a tiny model trained in the test, special ids, round trips, BERT-style rows
// with padding and mask, truncation counting, deterministic training, and load errors.
#include "strata/data/tokenizer.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_path;

// A small deterministic corpus: 300 sentences from a fixed word list.
std::vector<std::string> corpus() {
  const std::vector<std::string> words = {"the",   "cat",    "sat",  "on",    "mat",    "dog",     "barked",
                                          "at",    "a",      "loud", "car",   "drove",  "quickly", "through",
                                          "town",  "birds",  "sing", "in",    "spring", "morning", "rain",
                                          "falls", "softly", "over", "hills", "and",    "valleys", "running"};
  std::vector<std::string> out;
  std::uint64_t s = 42;
  for (int i = 0; i < 300; ++i) {
    std::string line;
    const int len = 3 + static_cast<int>((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 61);
    for (int k = 0; k < len; ++k) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      if (k) line += ' ';
      line += words[(s >> 33) % words.size()];
    }
    out.push_back(line);
  }
  return out;
}

const Tokenizer& trained() {
  static Tokenizer t = Tokenizer::train(corpus(), 80, temp_path("tok_a"), 7);
  return t;
}

TEST(Tokenizer, TrainsWithBertStyleSpecialIds) {
  const auto& t = trained();
  EXPECT_TRUE(std::filesystem::exists(temp_path("tok_a") + "/tokenizer.model"));
  EXPECT_EQ(t.model_path(), temp_path("tok_a") + "/tokenizer.model");
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.sep_id(), 3);
  EXPECT_EQ(t.mask_id(), 4);
  EXPECT_GT(t.vocab_size(), 20);
  EXPECT_LE(t.vocab_size(), 80);
}

TEST(Tokenizer, EncodeDecodeRoundTripsAndNeverEmitsSpecials) {
  const auto& t = trained();
  for (const auto& s : corpus()) {
    auto ids = t.encode_text(s);
    ASSERT_FALSE(ids.empty());
    for (int id : ids) {
      EXPECT_GT(id, 4) << s;  // no pad/unk/cls/sep/mask for in-vocabulary text
      EXPECT_LT(id, t.vocab_size());
    }
    EXPECT_EQ(t.decode(ids), s);
  }
  // An unseen character maps to [UNK].
  auto ids = t.encode_text("cat \xE2\x98\x83");
  EXPECT_NE(std::find(ids.begin(), ids.end(), t.unk_id()), ids.end());
}

TEST(Tokenizer, EncodeBuildsClsTextSepPadRowsAndCountsTruncation) {
  const auto& t = trained();
  TextDataset ds;
  ds.texts = corpus();
  ds.texts.resize(50);
  ds.texts.push_back("");
  ds.y.assign(ds.texts.size(), 1);
  ds.classes = {"a", "b"};
  const int T = 8;
  int truncated = -1;
  auto tok = t.encode(ds, T, &truncated);
  ASSERT_EQ(tok.n, 51);
  ASSERT_EQ(tok.T, T);
  EXPECT_EQ(tok.num_classes, 2);
  EXPECT_EQ(tok.y, ds.y);
  int want_truncated = 0;
  for (std::size_t i = 0; i < ds.texts.size(); ++i) {
    auto pieces = t.encode_text(ds.texts[i]);
    const std::size_t keep = std::min<std::size_t>(pieces.size(), T - 2);
    want_truncated += pieces.size() > keep;
    const std::int32_t* row = tok.ids.data() + i * T;
    const std::uint8_t* m = tok.mask.data() + i * T;
    EXPECT_EQ(row[0], t.cls_id());
    for (std::size_t k = 0; k < keep; ++k) EXPECT_EQ(row[k + 1], pieces[k]);
    EXPECT_EQ(row[keep + 1], t.sep_id());
    for (std::size_t k = 0; k < static_cast<std::size_t>(T); ++k) {
      EXPECT_EQ(m[k], k < keep + 2 ? 1 : 0) << "row " << i << " pos " << k;
      if (k >= keep + 2) {
        EXPECT_EQ(row[k], t.pad_id());
      }
    }
  }
  EXPECT_GT(want_truncated, 0);
  EXPECT_LT(want_truncated, 51);  // some rows are padded, some truncated
  EXPECT_EQ(truncated, want_truncated);
  EXPECT_HAS(bad_input_message([&] { t.encode(ds, 2); }), "seq_len");
}

TEST(Tokenizer, TrainingIsDeterministicAndLoadGivesTheSameModel) {
  const auto& a = trained();
  auto b = Tokenizer::train(corpus(), 80, temp_path("tok_b"), 7);
  EXPECT_EQ(read_file(temp_path("tok_a") + "/tokenizer.model"), read_file(temp_path("tok_b") + "/tokenizer.model"));
  auto c = Tokenizer::load(temp_path("tok_b") + "/tokenizer.model");
  EXPECT_EQ(c.vocab_size(), a.vocab_size());
  EXPECT_EQ(c.cls_id(), a.cls_id());
  for (const auto& s : corpus()) EXPECT_EQ(c.encode_text(s), a.encode_text(s));
}

TEST(Tokenizer, LoadAndTrainErrorsAreBadInput) {
  auto m = bad_input_message([] { Tokenizer::load(temp_path("nowhere/tokenizer.model")); });
  EXPECT_HAS(m, temp_path("nowhere/tokenizer.model"));
  const std::string junk = testing::write_temp("junk.model", "this is not a protobuf model");
  EXPECT_HAS(bad_input_message([&] { Tokenizer::load(junk); }), junk);
  EXPECT_HAS(bad_input_message([] { Tokenizer::train({"", "  "}, 50, temp_path("tok_c"), 1); }), "no non-empty text");
}

// Found by fuzz/tokenizer_fuzz.cpp: a piece starting with a NUL byte is a zero-length key to SentencePiece's trie
// builder (darts), which throws its own exception type; it escaped as an internal error (exit 1).
TEST(Tokenizer, PieceStartingWithNulIsBadInput) {
  // ModelProto { pieces { piece: "<unk>" score: 0 type: UNKNOWN } pieces { piece: "\0" score: 0 type: NORMAL } }
  const std::string model("\x0a\x0e\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02"
                          "\x0a\x0a\x0a\x01\x00\x15\x00\x00\x00\x00\x18\x01",
                          28);
  const std::string path = temp_path("nul_piece.model");
  { std::ofstream(path, std::ios::binary) << model; }
  const std::string m = bad_input_message([&] { Tokenizer::load(path); });
  EXPECT_HAS(m, path + ": not a SentencePiece model");
}

}  // namespace
}  // namespace strata::data

namespace strata::data {
namespace {

// A 10 MB text costs what its encoded prefix costs: the row holds the same pieces as encoding the whole text would
// give (the cut is far past seq_len pieces), and the row counts as truncated.
TEST(Tokenizer, HugeTextsAreEncodedFromABoundedPrefix) {
  static const Tokenizer t =
      Tokenizer::train({"the cat sat on the mat", "a dog ran in the park", "birds fly over the sea"}, 40,
                       testing::temp_path("tok_prefix"), 1);
  std::string huge;
  while (huge.size() < (10u << 20)) huge += "the cat sat on the mat a dog ran ";
  TextDataset ds;
  ds.texts = {huge, "a dog", std::string(5u << 20, ' ') + "cat"};
  ds.y = {0, 1, 0};
  ds.classes = {"x", "y"};
  const int T = 16;
  int truncated = 0;
  const TokenDataset tok = t.encode(ds, T, &truncated);
  const std::vector<std::int32_t> want = t.encode_text(huge.substr(0, 4000));
  for (int k = 0; k < T - 2; ++k) EXPECT_EQ(tok.ids[1 + k], want[k]) << k;
  EXPECT_EQ(tok.ids[T - 1], t.sep_id());
  EXPECT_EQ(truncated, 2);  // the huge text and the text past 5 MB of spaces
  EXPECT_EQ(tok.mask[T + 3], 1);
  EXPECT_GE(encode_prefix_bytes(T), static_cast<std::size_t>(T) * 64);
}

TEST(Tokenizer, Utf8PrefixNeverSplitsACharacter) {
  const std::string s = "ab\xC3\xA9\xE2\x82\xAC";  // a b é €
  EXPECT_EQ(utf8_prefix(s, 3), "ab");
  EXPECT_EQ(utf8_prefix(s, 4), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(s, 5), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(s, 6), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(s, 7), s);
  EXPECT_EQ(utf8_prefix(s, 100), s);
}

}  // namespace
}  // namespace strata::data
