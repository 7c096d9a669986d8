// Bounded JSON parsing (core/json.h): the depth limit, messages naming the source, bounded quotation of values.
#include "strata/core/json.h"

#include <gtest/gtest.h>

#include <string>

#include "../common/error_matchers.h"

namespace strata {
namespace {

std::string nest(int depth, const std::string& inner = "0") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(Json, DepthScanIgnoresBracketsInStrings) {
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": 2}]})", 100), 3);
  EXPECT_EQ(json_nesting_depth(R"(["[[[[", "\"[[[", "\\"])", 100), 1);  // an escaped quote does not end a string
  EXPECT_EQ(json_nesting_depth("42", 100), 0);
  std::size_t at = 0;
  EXPECT_EQ(json_nesting_depth("[[[[[]]]]]", 3, &at), 4);  // stops once past the bound
  EXPECT_EQ(at, 3u);
}

TEST(Json, AcceptsTheLimitAndRefusesOneMore) {
  EXPECT_EQ(parse_json(nest(kMaxJsonDepth), "x.json").size(), 1u);
  const std::string m = testing::bad_input_message([] { parse_json(nest(kMaxJsonDepth + 1), "x.json"); });
  EXPECT_HAS(m, "x.json: JSON nested deeper than the limit of 64 levels (at byte 64)");
  EXPECT_HAS(testing::bad_input_message([] { parse_json(R"({"a": )" + nest(9, "{}"), "y", 8); }), "limit of 8");
}

TEST(Json, DeepNestingIsRefusedWithoutCrashing) {
  for (int depth : {1000, 100000, 1000000}) {
    const std::string m = testing::bad_input_message([&] { parse_json(nest(depth), "deep.json"); });
    EXPECT_HAS(m, "deep.json");
    EXPECT_HAS(m, "deeper than the limit");
    const std::string o =
        testing::bad_input_message([&] { parse_json(std::string(depth, '{').insert(1, "\"k\": "), "obj.json"); });
    EXPECT_HAS(o, "obj.json");
  }
}

TEST(Json, InvalidJsonNamesTheSourceAndByteWithAShortMessage) {
  const std::string m = testing::bad_input_message([] { parse_json(R"({"a": tru})", "cfg.json"); });
  EXPECT_HAS(m, "cfg.json: not valid JSON at byte");
  const std::string huge_token = "[\"" + std::string(1 << 20, 'x');  // an unterminated 1 MB string
  const std::string h = testing::bad_input_message([&] { parse_json(huge_token, "big.json"); });
  EXPECT_HAS(h, "big.json");
  EXPECT_LT(h.size(), 400u);
  EXPECT_HAS(testing::bad_input_message([] { parse_json("[1e999]", "num.json"); }), "num.json");
}

TEST(Json, ExcerptIsBoundedWhateverTheValue) {
  EXPECT_EQ(json_excerpt(nlohmann::json(5)), "5");
  EXPECT_EQ(json_excerpt(nlohmann::json("ab")), "\"ab\"");
  EXPECT_EQ(json_excerpt(nlohmann::json::parse(R"({"a":[1,2]})")), R"({"a":[1,2]})");
  nlohmann::json wide = nlohmann::json::array();
  for (int i = 0; i < 100000; ++i) wide.push_back(123456789);
  const std::string w = json_excerpt(wide);
  EXPECT_LE(w.size(), 63u);
  EXPECT_EQ(w.substr(0, 11), "[123456789,");
  EXPECT_EQ(w.substr(w.size() - 3), "...");
  nlohmann::json deep = 0;  // 200000 levels, built without the parser: quoting must not recurse
  for (int i = 0; i < 200000; ++i) deep = nlohmann::json::array({std::move(deep)});
  EXPECT_EQ(json_excerpt(deep, 10), "[[[[[[[[[[...");
  EXPECT_LE(json_excerpt(nlohmann::json(std::string(1 << 20, 'y'))).size(), 63u);
  nlohmann::json keyed = {{std::string(5000, 'k'), 1}};
  EXPECT_LE(json_excerpt(keyed).size(), 63u);
}

TEST(Json, ShortQuoteSaysTheFullLength) {
  EXPECT_EQ(short_quote("abc"), "abc");
  EXPECT_EQ(short_quote(std::string(100, 'z'), 4), "zzzz... (100 bytes)");
}

}  // namespace
}  // namespace strata
