// Tests for the text data sets: WordNet glosses (a hand-made fixture via STRATA_WORDNET_DIR, and the real
// database when installed), TSV and JSONL readers with their file:line errors, the hash split, and the documented
// synthetic token generator.
#include "strata/data/text.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "strata/core/error.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::temp_path;
using testing::write_temp;

const std::string kFixture = std::string(STRATA_TEST_DATA) + "/text";

// Sets STRATA_WORDNET_DIR for the scope, restoring what was there.
class WordnetDir {
 public:
  explicit WordnetDir(const std::string& dir) {
    const char* old = std::getenv("STRATA_WORDNET_DIR");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("STRATA_WORDNET_DIR", dir.c_str(), 1);
  }
  ~WordnetDir() {
    if (had_)
      ::setenv("STRATA_WORDNET_DIR", old_.c_str(), 1);
    else
      ::unsetenv("STRATA_WORDNET_DIR");
  }

 private:
  bool had_ = false;
  std::string old_;
};

// train and test must partition all by key: every row of all in exactly one split, the split its key hashes to,
// with the same text and label; keys are unique (one row per synset).
void expect_partition(const TextDataset& all, const TextDataset& train, const TextDataset& test) {
  ASSERT_EQ(train.texts.size() + test.texts.size(), all.texts.size());
  EXPECT_EQ(train.classes, all.classes);
  EXPECT_EQ(test.classes, all.classes);
  std::map<std::uint64_t, std::size_t> row_of;
  for (std::size_t k = 0; k < all.keys.size(); ++k) EXPECT_TRUE(row_of.emplace(all.keys[k], k).second) << "dup key";
  std::set<std::uint64_t> seen;
  for (const TextDataset* part : {&train, &test}) {
    for (std::size_t i = 0; i < part->keys.size(); ++i) {
      const std::uint64_t key = part->keys[i];
      EXPECT_EQ(in_test_split(key), part == &test);
      EXPECT_TRUE(seen.insert(key).second) << "key " << key << " in both splits";
      auto it = row_of.find(key);
      ASSERT_NE(it, row_of.end());
      EXPECT_EQ(part->texts[i], all.texts[it->second]);
      EXPECT_EQ(part->y[i], all.y[it->second]);
    }
  }
  EXPECT_EQ(seen.size(), all.keys.size());
}

TEST(WordnetLexnames, Has45NamesInLexFileOrder) {
  const auto& n = wordnet_lexnames();
  ASSERT_EQ(n.size(), 45u);
  EXPECT_EQ(n[0], "adj.all");
  EXPECT_EQ(n[3], "noun.Tops");
  EXPECT_EQ(n[5], "noun.animal");
  EXPECT_EQ(n[28], "noun.time");
  EXPECT_EQ(n[29], "verb.body");
  EXPECT_EQ(n[43], "verb.weather");
  EXPECT_EQ(n[44], "adj.ppl");
  EXPECT_EQ(std::set<std::string>(n.begin(), n.end()).size(), 45u);
}

TEST(TextSplit, HashSplitIsAboutTenPercent) {
  int test = 0;
  for (std::uint64_t k = 0; k < 100000; ++k) test += in_test_split(k);
  EXPECT_GT(test, 9500);
  EXPECT_LT(test, 10500);
}

TEST(WordnetText, FixtureGivesGlossesLexnamesAndAHashSplit) {
  WordnetDir env(kFixture + "/wordnet");
  auto all = load_text("wordnet:lexname", "all");
  // Synsets in file order noun, verb, adj, adv: (offset, pos code, lexname, gloss).
  struct Syn {
    std::uint64_t offset, pos;
    std::string lex, gloss;
  };
  const std::vector<Syn> expect = {
      {1740, 0, "noun.Tops",
       "that which is perceived or known or inferred to have its own distinct existence (living or nonliving)"},
      {15388, 0, "noun.animal", "a living organism characterized by voluntary movement"},
      {17222, 0, "noun.plant", "(botany) a living organism lacking the power of locomotion"},
      {1740, 1, "verb.body", "draw air into, and expel out of, the lungs; \"I can breathe better now\""},
      {1835496, 1, "verb.motion", "change location; move, travel, or proceed, also metaphorically"},
      {1740, 2, "adj.all", "(usually followed by `to') having the necessary means or skill"},
      {2935000, 2, "adj.ppl", "having been completed"},
      {1740, 3, "adv.all", "only a very short time before"},
  };
  ASSERT_EQ(all.texts.size(), expect.size());
  EXPECT_EQ(all.classes, (std::vector<std::string>{"adj.all", "adj.ppl", "adv.all", "noun.Tops", "noun.animal",
                                                   "noun.plant", "verb.body", "verb.motion"}));
  std::vector<std::string> want_test;
  for (std::size_t i = 0; i < expect.size(); ++i) {
    EXPECT_EQ(all.texts[i], expect[i].gloss);
    EXPECT_EQ(all.classes[static_cast<std::size_t>(all.y[i])], expect[i].lex);
    EXPECT_EQ(all.keys[i], expect[i].offset * 4 + expect[i].pos);
    if (in_test_split(expect[i].offset * 4 + expect[i].pos)) want_test.push_back(expect[i].gloss);
  }
  auto train = load_text("wordnet:lexname", "train");
  auto test = [&] {  // the split may be empty on 8 synsets; then it must say so
    try {
      return load_text("wordnet:lexname", "test");
    } catch (const strata::Error&) {
      return TextDataset{{}, {}, all.classes, {}, ""};
    }
  }();
  EXPECT_EQ(test.texts, want_test);
  expect_partition(all, train, test);
  EXPECT_HAS(all.source, kFixture);
}

TEST(WordnetText, MalformedLinesNameFileAndLine) {
  const std::string dir = temp_path("wn_bad");
  struct Case {
    std::string line, expect;
  };
  const std::vector<Case> cases = {
      {"00001740 29 v 01 breathe 0 000", "no gloss"},
      {"00001740 4x v 01 breathe 0 000 | gloss", "two-digit lexicographer"},
      {"00001740 45 v 01 breathe 0 000 | gloss", "beyond the 45"},
      {"0000174z 29 v 01 breathe 0 000 | gloss", "decimal synset offset"},
      {"00001740", "expected 'synset_offset"},
      {"00001740 29 v 01 breathe 0 000 |    ", "empty gloss"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    std::filesystem::remove_all(dir);
    std::filesystem::copy(kFixture + "/wordnet", dir);
    write_temp("wn_bad/data.verb", "  1 license\n01835496 38 v 01 travel 0 000 | move\n" + c.line + "\n");
    WordnetDir env(dir);
    auto m = bad_input_message([] { load_text("wordnet:lexname", "all"); });
    EXPECT_HAS(m, dir + "/data.verb:3");
    EXPECT_HAS(m, c.expect);
  }
  write_temp("wn_bad/data.verb", "01835496 38 v 01 travel 0 000 | move\n");
  std::filesystem::remove(dir + "/data.adv");
  WordnetDir env(dir);
  EXPECT_HAS(bad_input_message([] { load_text("wordnet:lexname", "all"); }), "data.adv");
}

TEST(WordnetText, RealDatabaseHas45ClassesAndADisjointDeterministicSplit) {
  if (!std::filesystem::exists("/usr/share/wordnet/data.noun")) GTEST_SKIP() << "wordnet-base not installed";
  WordnetDir env("/usr/share/wordnet");
  auto all = load_text("wordnet:lexname", "all");
  auto train = load_text("wordnet:lexname", "train");
  auto test = load_text("wordnet:lexname", "test");
  EXPECT_EQ(all.classes.size(), 45u);
  EXPECT_EQ(all.texts.size(), 117659u);  // WordNet 3.0 synsets: 82115 + 13767 + 18156 + 3621
  expect_partition(all, train, test);
  const double frac = static_cast<double>(test.texts.size()) / all.texts.size();
  EXPECT_GT(frac, 0.09);
  EXPECT_LT(frac, 0.11);
  std::vector<int> per_train(45), per_test(45);
  for (int y : train.y) ++per_train[static_cast<std::size_t>(y)];
  for (int y : test.y) ++per_test[static_cast<std::size_t>(y)];
  for (std::size_t c = 0; c < 45; ++c) EXPECT_GT(per_train[c], 0) << all.classes[c];
  std::cout << "wordnet:lexname all=" << all.texts.size() << " train=" << train.texts.size()
            << " test=" << test.texts.size() << "\n";
  auto again = load_text("wordnet:lexname", "test");
  EXPECT_EQ(again.texts, test.texts);
  EXPECT_EQ(again.y, test.y);
}

TEST(TsvText, ReadsHeaderColumnsInAnyOrderAndSplits) {
  auto all = load_text(kFixture + "/small.tsv", "all");
  EXPECT_EQ(all.classes, (std::vector<std::string>{"animal", "vehicle"}));
  EXPECT_EQ(all.texts, (std::vector<std::string>{"the cat sat on the mat", "a red car drove fast", "dogs bark at night",
                                                 "trucks carry heavy loads", "birds fly south in winter"}));
  EXPECT_EQ(all.y, (std::vector<std::int32_t>{0, 1, 0, 1, 0}));
  std::vector<std::string> want_test;
  for (std::size_t i = 0; i < all.texts.size(); ++i)
    if (in_test_split(i)) want_test.push_back(all.texts[i]);
  auto train = load_text(kFixture + "/small.tsv", "train");
  EXPECT_EQ(train.texts.size() + want_test.size(), all.texts.size());
  for (const auto& t : train.texts) EXPECT_EQ(std::find(want_test.begin(), want_test.end(), t), want_test.end()) << t;
}

TEST(TsvText, MalformedRowsNameFileAndLine) {
  auto p = write_temp("bad1.tsv", "text\tlabel\na\tx\nb\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":3: expected 2 tab-separated fields");
  p = write_temp("bad2.tsv", "sentence\tclass\na\tx\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":1: expected a header");
  p = write_temp("bad3.tsv", "text\tlabel\na\tx\nb\t \n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":3: empty label");
  p = write_temp("bad4.tsv", "text\tlabel\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), "no data rows");
  p = write_temp("bad5.tsv", "");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), "empty file");
  p = testing::write_temp_gz("ok.tsv.gz", "text\tlabel\nhello\tb\nworld\ta\n");
  auto ds = load_text(p, "all");
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{1, 0}));
}

TEST(JsonlText, IntegerLabelsSortNumericallyAndBlankLinesAreSkipped) {
  auto ds = load_text(kFixture + "/small.jsonl", "all");
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"3", "10"}));
  EXPECT_EQ(ds.texts, (std::vector<std::string>{"the cat sat on the mat", "a red car drove fast", "dogs bark"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{0, 1, 0}));
}

TEST(JsonlText, MalformedLinesNameFileAndLine) {
  auto p = write_temp("b1.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":2: not valid JSON");
  p = write_temp("b2.jsonl", "{\"label\": \"x\"}\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":1: missing string field \"text\"");
  p = write_temp("b3.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"a\"}\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":3: missing field \"label\"");
  p = write_temp("b4.jsonl", "{\"text\": \"a\", \"label\": 1.5}\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":1: \"label\" must be a string or an integer");
  p = write_temp("b5.jsonl", "[1]\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":1: expected an object");
  p = write_temp("b6.jsonl", "\n\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), "no rows");
}

TEST(JsonlText, DeepOrHugeValuesAreRefusedNamingFileLineAndLimit) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto p =
      write_temp("deep1.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": " + deep + "}\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":2: JSON nested deeper than the limit of 64 levels");
  p = write_temp("deep2.jsonl", "{\"text\": " + deep + ", \"label\": \"x\"}\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":1: JSON nested deeper than the limit");
  p = write_temp("deep3.jsonl", "{\"text\": \"a\", \"label\": \"x\", \"extra\": " + std::string(65, '{') + "}\n");
  EXPECT_HAS(bad_input_message([&] { load_text(p, "all"); }), p + ":1: JSON nested deeper than the limit");
  std::string wide = "{\"text\": \"a\", \"label\": [";
  for (int i = 0; i < 100000; ++i) wide += "123456789,";
  wide += "1]}\n";
  p = write_temp("wide.jsonl", wide);
  const std::string m = bad_input_message([&] { load_text(p, "all"); });
  EXPECT_HAS(m, p + ":1: \"label\" must be a string or an integer, found [123456789,");
  EXPECT_LT(m.size(), p.size() + 150);
  p = write_temp("badtoken.jsonl", "{\"text\": \"" + std::string(1 << 20, 'q') + "\n");
  EXPECT_LT(bad_input_message([&] { load_text(p, "all"); }).size(), p.size() + 300);
}

TEST(LinesText, OneTextALineBlankLinesSkippedOneClassHashSplit) {
  const std::string p = write_temp("corpus.txt", "first text\r\n\n  \nsecond text\nthird\n");
  const auto all = load_text(p, "all");
  EXPECT_EQ(all.texts, (std::vector<std::string>{"first text", "second text", "third"}));
  EXPECT_EQ(all.classes, (std::vector<std::string>{"text"}));
  EXPECT_EQ(all.y, (std::vector<std::int32_t>{0, 0, 0}));
  EXPECT_EQ(all.keys, (std::vector<std::uint64_t>{0, 1, 2}));  // blank lines take no key: rows, not line numbers
  const auto gz = load_text(testing::write_temp_gz("corpus.txt.gz", "a\nb\n"), "all");
  EXPECT_EQ(gz.texts, (std::vector<std::string>{"a", "b"}));
  const std::string empty = write_temp("empty.txt", "\n \n");
  EXPECT_HAS(bad_input_message([&] { load_text(empty, "all"); }), empty + ": no text");
}

TEST(LoadText, RejectsUnknownSpecsAndSplits) {
  EXPECT_HAS(bad_input_message([] { load_text(kFixture + "/small.tsv", "validation"); }), "'validation'");
  EXPECT_HAS(bad_input_message([] { load_text("data.csv", "all"); }), "PATH.jsonl or PATH.txt");
  EXPECT_HAS(bad_input_message([] { load_text("wordnet:hypernym", "all"); }), "wordnet:lexname");
  EXPECT_HAS(bad_input_message([] { load_text("synthetic:vocab=10,classes=2,n=3", "all"); }), "load_synthetic");
  EXPECT_HAS(bad_input_message([] { load_text(temp_path("missing.tsv"), "all"); }), "missing.tsv");
}

// The generator as documented in text.h, written out independently of core/rng.h.
std::uint64_t documented_next(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

TEST(Synthetic, FollowsTheDocumentedGeneratorExactly) {
  auto ds = make_synthetic(8192, 45, 64, 16, 1234);
  ASSERT_EQ(ds.n, 64);
  ASSERT_EQ(ds.T, 16);
  EXPECT_EQ(ds.num_classes, 45);
  ASSERT_EQ(ds.ids.size(), 64u * 16u);
  std::uint64_t state = 1234;
  for (std::size_t k = 0; k < ds.ids.size(); ++k)
    ASSERT_EQ(ds.ids[k], static_cast<std::int32_t>(documented_next(state) % 8192)) << "token " << k;
  for (int i = 0; i < ds.n; ++i)
    EXPECT_EQ(ds.y[static_cast<std::size_t>(i)], ds.ids[static_cast<std::size_t>(i) * 16] % 45);
  EXPECT_EQ(ds.mask, std::vector<std::uint8_t>(ds.ids.size(), 1));
  std::set<int> labels(ds.y.begin(), ds.y.end());
  EXPECT_GT(labels.size(), 20u);  // labels spread over the classes
  EXPECT_NE(make_synthetic(8192, 45, 64, 16, 1235).ids, ds.ids);
  EXPECT_EQ(make_synthetic(8192, 45, 64, 16, 1234).ids, ds.ids);
}

TEST(Synthetic, SpecParsesKeysAndRejectsBadOnes) {
  auto ds = load_synthetic("synthetic:vocab=100,classes=5,n=7", 12, 3);
  EXPECT_EQ(ds.n, 7);
  EXPECT_EQ(ds.T, 12);
  EXPECT_EQ(ds.ids, make_synthetic(100, 5, 7, 12, 3).ids);
  auto ds2 = load_synthetic("synthetic:vocab=100,classes=5,n=7,seq=4,seed=9", 12, 3);
  EXPECT_EQ(ds2.ids, make_synthetic(100, 5, 7, 4, 9).ids);
  EXPECT_HAS(bad_input_message([] { load_synthetic("synthetic:vocab=100,classes=5", 8, 0); }), "required");
  EXPECT_HAS(bad_input_message([] { load_synthetic("synthetic:vocab=100,classes=5,n=3,depth=2", 8, 0); }),
             "unknown key 'depth'");
  EXPECT_HAS(bad_input_message([] { load_synthetic("synthetic:vocab=1x0,classes=5,n=3", 8, 0); }), "'1x0'");
  EXPECT_HAS(bad_input_message([] { load_synthetic("synthetic:vocab=4,classes=5,n=3", 8, 0); }), "classes <= vocab");
}

}  // namespace
}  // namespace strata::data
