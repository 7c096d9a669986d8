// Bounded JSON parsing and bounded quotation of JSON values for messages.
#include "strata/core/json.h"

#include <vector>

#include "strata/core/error.h"

namespace strata {

using nlohmann::json;

int json_nesting_depth(std::string_view text, int stop_above, std::size_t* at) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > stop_above) {
        if (at) *at = i;
        return deepest;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {
constexpr auto kReplace = json::error_handler_t::replace;

std::string cut(std::string s, std::size_t max_chars) {
  if (s.size() <= max_chars) return s;
  s.resize(max_chars);
  return s + "...";
}
}  // namespace

json parse_json(std::string_view text, const std::string& where, int max_depth) {
  std::size_t at = 0;
  if (json_nesting_depth(text, max_depth, &at) > max_depth)
    bad_input(where, ": JSON nested deeper than the limit of ", max_depth, " levels (at byte ", at, ")");
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    bad_input(where, ": not valid JSON at byte ", e.byte, ": ", cut(e.what(), 200));
  } catch (const json::exception& e) {  // e.g. a number too large: out_of_range
    bad_input(where, ": not valid JSON: ", cut(e.what(), 200));
  }
}

std::string short_quote(std::string_view s, std::size_t max_chars) {
  if (s.size() <= max_chars) return std::string(s);
  return cat(s.substr(0, max_chars), "... (", s.size(), " bytes)");
}

std::string json_excerpt(const json& v, std::size_t max_chars) {
  struct Frame {
    const json* v;
    json::const_iterator it;
    bool first;
  };
  std::string out;
  std::vector<Frame> stack;
  auto emit = [&](const json& x) {
    if (x.is_string()) {
      const std::string& s = x.get_ref<const std::string&>();
      out += json(s.substr(0, max_chars + 1)).dump(-1, ' ', false, kReplace);
    } else if (x.is_array() || x.is_object()) {
      out += x.is_array() ? '[' : '{';
      stack.push_back({&x, x.cbegin(), true});
    } else {
      out += x.dump(-1, ' ', false, kReplace);
    }
  };
  emit(v);
  while (!stack.empty() && out.size() <= max_chars) {
    Frame& f = stack.back();
    if (f.it == f.v->cend()) {
      out += f.v->is_array() ? ']' : '}';
      stack.pop_back();
      continue;
    }
    if (!f.first) out += ',';
    f.first = false;
    if (f.v->is_object()) out += json(f.it.key().substr(0, max_chars + 1)).dump(-1, ' ', false, kReplace) + ':';
    const json& child = *f.it;
    ++f.it;
    emit(child);  // may push: f is not used after this
  }
  if (out.size() > max_chars || !stack.empty()) {
    out.resize(std::min(out.size(), max_chars));
    out += "...";
  }
  return out;
}

}  // namespace strata
