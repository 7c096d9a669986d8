// The one way strata parses JSON from files: nesting depth bounded before the parser sees the text (a deeply
// nested value cannot exhaust the stack or memory), errors naming the file, and values quoted in messages only up
// to a short length (never a recursive dump of a hostile value).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace strata {

// Enough for every JSON document strata reads except label trees (configs, states, headers and jsonl rows nest
// at most 3 deep); label trees take a bound derived from kMaxTreeDepth (core/label_tree.h).
constexpr int kMaxJsonDepth = 64;

// The deepest nesting of arrays and objects in text (strings skipped), scanning no further once `stop_above` is
// exceeded; *at receives the byte offset where that happened. Never allocates, never recurses.
int json_nesting_depth(std::string_view text, int stop_above, std::size_t* at = nullptr);

// Parses text as one JSON value. bad_input naming `where` when it is not valid JSON (with the byte offset) or
// nests arrays/objects deeper than max_depth (naming the limit and where it was crossed).
nlohmann::json parse_json(std::string_view text, const std::string& where, int max_depth = kMaxJsonDepth);

// A compact, bounded quotation of a value for error messages: at most about max_chars characters, "..." where cut.
// Iterative: the cost is O(max_chars) whatever the value's size or depth.
std::string json_excerpt(const nlohmann::json& v, std::size_t max_chars = 60);

// A string quoted for a message: at most max_chars characters of s, "..." and the full length when cut.
std::string short_quote(std::string_view s, std::size_t max_chars = 60);

}  // namespace strata
