// CSV/TSV reader: layout rules (label column), quoting, line ends, class order, missing values, and every
// malformed-input refusal with file:line in the message; the parallel path must match the serial one exactly.
#include "strata/data/csv.h"

#include <cmath>
#include <cstdlib>

#include <gtest/gtest.h>

#include "strata/data/dataset.h"
#include "strata/data/file_bytes.h"
#include "test_util.h"

namespace strata::data {
namespace {

using testing::bad_input_message;
using testing::write_temp;
using testing::write_temp_gz;

std::string temp_dir_path(const std::string& name) { return testing::temp_path(name); }

TEST(Csv, ReadsFeaturesAndLabelColumnNamedLabel) {
  auto p = write_temp("basic.csv", "a,label,b\n1,x,2\n3,y,4.5\n-1e-3,x,+7\n");
  Dataset ds = load(p);
  ASSERT_EQ(ds.n, 3u);
  ASSERT_EQ(ds.d, 2u);
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2, 3, 4.5f, -1e-3f, 7}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{0, 1, 0}));
  EXPECT_EQ(ds.source, p);
}

TEST(Csv, SingleLineFastPathAndGeneralPathAgreeOnEveryCellForm) {
  // Each row holds a form the one-pass reader hands to the general tokenizer, next to plain rows.
  auto p = write_temp("forms.csv",
                      "a,b,label\r\n"
                      "1,2,x\r\n"
                      " 3 , 4 , y \r\n"
                      "\"5\",6,x\r\n"
                      "1e2,-0.5,y\r\n"
                      "+7,12345678,x\r\n"
                      "-8,9,\"y\"\r\n"
                      "10,11,x");
  Dataset ds = load(p);
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2, 3, 4, 5, 6, 100, -0.5f, 7, 12345678, -8, 9, 10, 11}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{0, 1, 0, 1, 0, 1, 0}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"x", "y"}));
}

TEST(Csv, LastColumnIsLabelWithoutLabelHeader) {
  auto p = write_temp("last.csv", "f1,f2,cls\n0.5,1,b\n2,3,a\n");
  Dataset ds = load(p);
  EXPECT_EQ(ds.d, 2u);
  EXPECT_EQ(ds.x, (std::vector<float>{0.5f, 1, 2, 3}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{1, 0}));
}

TEST(Csv, LabelColumnOptionOverridesAndUnknownColumnListsColumns) {
  auto p = write_temp("override.csv", "kind,f,label\nu,1,5\nv,2,6\n");
  LoadOptions o;
  o.label_column = "kind";
  Dataset ds = load(p, o);
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"u", "v"}));
  EXPECT_EQ(ds.x, (std::vector<float>{1, 5, 2, 6}));  // "label" is now a feature

  o.label_column = "species";
  auto msg = bad_input_message([&] { load(p, o); });
  EXPECT_HAS(msg, "override.csv:1");
  EXPECT_HAS(msg, "'species'");
  EXPECT_HAS(msg, "kind, f, label");
}

TEST(Csv, CrlfBomAndMissingFinalNewline) {
  auto p = write_temp("crlf.csv",
                      "\xEF\xBB\xBF"
                      "a,b,label\r\n1,2,x\r\n\r\n3,4,y");
  Dataset ds = load(p);
  EXPECT_EQ(ds.n, 2u);
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"x", "y"}));
}

TEST(Csv, QuotedFieldsWithDelimitersEscapesAndNewlines) {
  auto p =
      write_temp("quoted.csv", "\"f 1\",\"label\"\n\"1.5\",\"cat, \"\"big\"\"\"\n2,dog\n3,\"two\nlines\"\n4,dog\n");
  Dataset ds = load(p);
  ASSERT_EQ(ds.n, 4u);
  EXPECT_EQ(ds.x, (std::vector<float>{1.5f, 2, 3, 4}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"cat, \"big\"", "dog", "two\nlines"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{0, 1, 2, 1}));
  // A line number after a quoted newline still counts physical lines.
  auto q = write_temp("quoted_bad.csv", "f,label\n1,\"a\nb\"\nzz,c\n");
  auto msg = bad_input_message([&] { load(q); });
  EXPECT_HAS(msg, "quoted_bad.csv:4");
}

TEST(Csv, RejectsUnclosedQuoteAndTextAfterQuote) {
  auto p = write_temp("unclosed.csv", "f,label\n1,a\n2,\"b\n3,c\n");
  auto msg = bad_input_message([&] { load(p); });
  EXPECT_HAS(msg, "unclosed.csv:3");
  EXPECT_HAS(msg, "never closed");
  auto q = write_temp("afterquote.csv", "f,label\n1,\"a\"x\n2,b\n");
  msg = bad_input_message([&] { load(q); });
  EXPECT_HAS(msg, "afterquote.csv:2");
  EXPECT_HAS(msg, "after the closing quote");
}

TEST(Csv, IntegerLabelsSortNumericallyOthersLexicographically) {
  auto p = write_temp("numeric.csv", "f,label\n1,10\n2,9\n3,2\n4,10\n5,07\n6,7\n");
  Dataset ds = load(p);
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"2", "7", "9", "10"}));
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{3, 2, 0, 3, 1, 1}));  // "07" and "7" are one class
  EXPECT_EQ(ds.class_counts(), (std::vector<std::size_t>{1, 2, 1, 2}));

  auto q = write_temp("lex.csv", "f,label\n1,b\n2,a\n3,B\n4,10\n5,9\n");
  Dataset lx = load(q);
  EXPECT_EQ(lx.classes, (std::vector<std::string>{"10", "9", "B", "a", "b"}));
  EXPECT_EQ(lx.y, (std::vector<std::int32_t>{4, 3, 2, 0, 1}));

  auto r = write_temp("floatint.csv", "f,label\n1,3.0\n2,-1\n");
  EXPECT_EQ(load(r).classes, (std::vector<std::string>{"-1", "3"}));
}

TEST(Csv, MissingValuesRefusedByDefault) {
  auto p = write_temp("missing.csv", "a,b,label\n1,2,x\n3,,y\n5,6,x\n");
  auto msg = bad_input_message([&] { load(p); });
  EXPECT_HAS(msg, "missing.csv:3:2");
  EXPECT_HAS(msg, "'b'");
  EXPECT_HAS(msg, "--missing mean");
  EXPECT_HAS(msg, "--missing zero");
  auto q = write_temp("missing_na.csv", "a,b,label\n1,NA,x\n3,4,y\n");
  EXPECT_HAS(bad_input_message([&] { load(q); }), "missing_na.csv:2:2");
}

TEST(Csv, MissingMeanAndZero) {
  auto p = write_temp("fill.csv", "a,b,label\n1,,x\n,2,y\n3,nan,x\n5,8,y\n");
  LoadOptions o;
  o.missing = Missing::kMean;
  Dataset m = load(p, o);
  // a: mean of 1, 3, 5 = 3; b: mean of 2, 8 = 5
  EXPECT_EQ(m.x, (std::vector<float>{1, 5, 3, 2, 3, 5, 5, 8}));
  o.missing = Missing::kZero;
  Dataset z = load(p, o);
  EXPECT_EQ(z.x, (std::vector<float>{1, 0, 0, 2, 3, 0, 5, 8}));

  auto q = write_temp("allmissing.csv", "a,b,label\n1,,x\n2,,y\n");
  o.missing = Missing::kMean;
  auto msg = bad_input_message([&] { load(q, o); });
  EXPECT_HAS(msg, "allmissing.csv");
  EXPECT_HAS(msg, "'b'");
}

TEST(Csv, RejectsNonNumericFeatureNamingLineColumnAndText) {
  auto p = write_temp("text.csv", "height,width,label\n1,2,x\n3,4,y\n5,wide,x\n");
  auto msg = bad_input_message([&] { load(p); });
  EXPECT_HAS(msg, "text.csv:4");
  EXPECT_HAS(msg, "'width'");
  EXPECT_HAS(msg, "'wide'");
  auto q = write_temp("inf.csv", "a,label\n1e99,x\n2,y\n");
  msg = bad_input_message([&] { load(q); });
  EXPECT_HAS(msg, "inf.csv:2");
  EXPECT_HAS(msg, "finite");
}

TEST(Csv, RejectsRaggedRows) {
  auto p = write_temp("ragged.csv", "a,b,label\n1,2,x\n\n3,y\n");
  auto msg = bad_input_message([&] { load(p); });
  EXPECT_HAS(msg, "ragged.csv:4");  // the blank line still counts
  EXPECT_HAS(msg, "expected 3 cells");
  EXPECT_HAS(msg, "found 2");
  auto q = write_temp("ragged2.csv", "a,b,label\n1,2,x,9\n");
  msg = bad_input_message([&] { load(q); });
  EXPECT_HAS(msg, "ragged2.csv:2");
  EXPECT_HAS(msg, "found 4");
}

TEST(Csv, RejectsEmptyHeaderOnlyOneColumnOneClassAndEmptyLabel) {
  EXPECT_HAS(bad_input_message([&] { load(write_temp("empty.csv", "")); }), "empty.csv: file is empty");
  EXPECT_HAS(bad_input_message([&] { load(write_temp("blank.csv", "\n\r\n\n")); }), "blank.csv");
  EXPECT_HAS(bad_input_message([&] { load(write_temp("header.csv", "a,b,label\n")); }), "no data rows");
  EXPECT_HAS(bad_input_message([&] { load(write_temp("onecol.csv", "a;b;label\n1;2;x\n")); }), "onecol.csv:1");
  auto one = bad_input_message([&] { load(write_temp("oneclass.csv", "a,label\n1,x\n2,x\n")); });
  EXPECT_HAS(one, "oneclass.csv");
  EXPECT_HAS(one, "at least 2 classes");
  auto el = bad_input_message([&] { load(write_temp("emptylabel.csv", "a,label\n1,x\n2,\n")); });
  EXPECT_HAS(el, "emptylabel.csv:3:2");
  EXPECT_HAS(el, "empty label");
}

TEST(Csv, TsvAndGzip) {
  auto t = write_temp("tab.tsv", "a\tb\tlabel\n1\t2\tx y\n3\t4\tz\n");
  Dataset ds = load(t);
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"x y", "z"}));
  auto g = write_temp_gz("zipped.csv.gz", "a,label\n1,x\n2,y\n");
  Dataset gz = load(g);
  EXPECT_EQ(gz.x, (std::vector<float>{1, 2}));
  EXPECT_EQ(gz.n, 2u);
}

// A gzip file inflating far beyond its size (a few hundred KB of newlines to hundreds of MB) is refused while
// inflating, naming the file and the limit; ordinary compressible data below the floor still loads.
TEST(Csv, GzipBombIsRefusedWhileInflating) {
  const std::size_t limit = gzip_inflate_limit(1000);
  EXPECT_EQ(limit, kMinInflateLimit);
  EXPECT_EQ(gzip_inflate_limit(std::size_t{10} << 20), (std::size_t{10} << 20) * kMaxInflateRatio);
  const std::string p = temp_dir_path("bomb.csv.gz");
  {
    gzFile g = gzopen(p.c_str(), "wb9");
    gzputs(g, "a,label\n1,x\n");
    const std::string nl(1 << 20, '\n');
    for (std::size_t i = 0; i < (kMinInflateLimit >> 20) + 8; ++i)
      gzwrite(g, nl.data(), static_cast<unsigned>(nl.size()));
    gzputs(g, "2,y\n");
    gzclose(g);
  }
  const std::string m = bad_input_message([&] { load(p); });
  EXPECT_HAS(m, p + ": inflates to more than " + std::to_string(kMinInflateLimit) + " bytes");
  EXPECT_HAS(m, "gunzip the file");
  // 8 MB of blank lines between rows (compressing ~1000 times) is below the floor: it loads, and its 4 rows only.
  std::string ok = "a,label\n1,x\n";
  ok += std::string(8 << 20, '\n');
  ok += "2,y\n3,x\n4,y\n";
  const Dataset ds = load(write_temp_gz("blank.csv.gz", ok));
  EXPECT_EQ(ds.n, 4u);
  EXPECT_EQ(ds.x, (std::vector<float>{1, 2, 3, 4}));
}

TEST(Csv, GivenClassOrderKeepsIdsAcrossSplits) {
  auto p = write_temp("split_test.csv", "a,label\n1,cat\n2,ant\n");
  LoadOptions o;
  o.classes = {"dog", "cat", "ant"};
  Dataset ds = load(p, o);
  EXPECT_EQ(ds.classes, o.classes);
  EXPECT_EQ(ds.y, (std::vector<std::int32_t>{1, 2}));
  o.classes = {"dog", "cat"};
  auto msg = bad_input_message([&] { load(p, o); });
  EXPECT_HAS(msg, "'ant'");
}

// Sets an environment variable for the scope.
struct ScopedEnv {
  std::string name;
  std::string old;
  bool had;
  ScopedEnv(const char* n, const char* v) : name(n) {
    const char* o = std::getenv(n);
    had = o != nullptr;
    if (had) old = o;
    ::setenv(n, v, 1);
  }
  ~ScopedEnv() {
    if (had)
      ::setenv(name.c_str(), old.c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

TEST(Csv, ParallelParseMatchesSerialAndReportsTheFirstErrorLine) {
  // ~6 MB: above the size where the reader splits the file across threads.
  const int rows = 12000, cols = 60;
  std::string s = "label";
  for (int j = 0; j < cols; ++j) s += ",f" + std::to_string(j);
  s += "\n";
  for (int i = 0; i < rows; ++i) {
    s += "c" + std::to_string(i % 7);
    for (int j = 0; j < cols; ++j) s += "," + std::to_string((i * cols + j) % 997) + ".125";
    s += "\n";
  }
  auto p = write_temp("big.csv", s);
  Dataset par, ser;
  {
    ScopedEnv env("STRATA_THREADS", "4");
    par = load(p);
  }
  {
    ScopedEnv env("STRATA_THREADS", "1");
    ser = load(p);
  }
  ASSERT_EQ(par.n, static_cast<std::size_t>(rows));
  EXPECT_EQ(par.d, static_cast<std::size_t>(cols));
  EXPECT_EQ(par.x, ser.x);
  EXPECT_EQ(par.y, ser.y);
  EXPECT_EQ(par.classes.size(), 7u);
  EXPECT_FLOAT_EQ(par.x[5 * cols + 3], static_cast<float>((5 * cols + 3) % 997) + 0.125f);
  EXPECT_EQ(par.y[8], 1);  // "c1"

  // Two bad rows in different chunks: the earlier one is reported, with its true line number.
  std::string bad = s;
  auto break_row = [&](int row) {  // data row r sits on line r + 2
    std::size_t pos = 0;
    for (int k = 0; k < row + 1; ++k) pos = bad.find('\n', pos) + 1;
    bad.replace(bad.find(',', pos) + 1, 1, "Q");
  };
  break_row(rows - 10);
  break_row(rows / 2 + 3);
  auto q = write_temp("big_bad.csv", bad);
  ScopedEnv env("STRATA_THREADS", "4");
  auto msg = bad_input_message([&] { load(q); });
  EXPECT_HAS(msg, "big_bad.csv:" + std::to_string(rows / 2 + 3 + 2) + ":2");
}

}  // namespace
}  // namespace strata::data
