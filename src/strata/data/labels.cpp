// Class ids from label text or integers; the order rule lives here so every reader agrees on it.
#include "strata/data/labels.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "strata/core/error.h"

namespace strata::data {
namespace {

// The integer a label denotes, if it is one: "12", "-3", "+4", "5.0", " 6 ".
std::optional<std::int64_t> as_integer(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size()) return v;
  // Integral floats ("3.0") appear when a tool wrote an integer column as float.
  double dv = 0;
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), dv, std::chars_format::fixed);
  if (ec2 == std::errc() && q == s.data() + s.size() && std::isfinite(dv) && dv == std::floor(dv) &&
      std::fabs(dv) < 9.0e15)
    return static_cast<std::int64_t>(dv);
  return std::nullopt;
}

}  // namespace

EncodedLabels encode_int_labels(const std::vector<std::int64_t>& raw) {
  std::vector<std::int64_t> values(raw);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  EncodedLabels out;
  out.classes.reserve(values.size());
  for (auto v : values) out.classes.push_back(std::to_string(v));
  out.y.resize(raw.size());
  if (!values.empty() && values.front() >= 0 && values.back() < 1 << 16) {
    // Small non-negative labels (the common case): a direct table beats a binary search per row.
    std::vector<std::int32_t> id(static_cast<std::size_t>(values.back()) + 1, -1);
    for (std::size_t c = 0; c < values.size(); ++c)
      id[static_cast<std::size_t>(values[c])] = static_cast<std::int32_t>(c);
    for (std::size_t i = 0; i < raw.size(); ++i) out.y[i] = id[static_cast<std::size_t>(raw[i])];
  } else {
    for (std::size_t i = 0; i < raw.size(); ++i)
      out.y[i] = static_cast<std::int32_t>(std::lower_bound(values.begin(), values.end(), raw[i]) - values.begin());
  }
  return out;
}

EncodedLabels encode_text_labels(const std::vector<std::string>& raw) {
  // Distinct texts first: 60000 rows usually hold a handful of labels.
  std::unordered_map<std::string_view, std::int32_t> distinct;
  std::vector<std::string_view> texts;
  std::vector<std::int32_t> text_id(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto [it, added] = distinct.try_emplace(raw[i], static_cast<std::int32_t>(texts.size()));
    if (added) texts.push_back(raw[i]);
    text_id[i] = it->second;
  }
  std::vector<std::optional<std::int64_t>> ints(texts.size());
  bool all_int = true;
  for (std::size_t t = 0; t < texts.size() && all_int; ++t) {
    ints[t] = as_integer(texts[t]);
    all_int = ints[t].has_value();
  }
  EncodedLabels out;
  std::vector<std::int32_t> class_of_text(texts.size());
  if (all_int) {
    std::vector<std::int64_t> tv(texts.size());
    for (std::size_t t = 0; t < texts.size(); ++t) tv[t] = *ints[t];
    EncodedLabels by_value = encode_int_labels(tv);
    out.classes = std::move(by_value.classes);
    class_of_text = std::move(by_value.y);
  } else {
    std::vector<std::size_t> order(texts.size());
    for (std::size_t t = 0; t < order.size(); ++t) order[t] = t;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return texts[a] < texts[b]; });
    for (std::size_t c = 0; c < order.size(); ++c) {
      class_of_text[order[c]] = static_cast<std::int32_t>(c);
      out.classes.emplace_back(texts[order[c]]);
    }
  }
  out.y.resize(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out.y[i] = class_of_text[static_cast<std::size_t>(text_id[i])];
  return out;
}

void finish_labels(Dataset& ds, EncodedLabels labels, const LoadOptions& opts, const std::string& where) {
  if (!opts.classes.empty()) {
    std::unordered_map<std::string, std::int32_t> given;
    for (std::size_t c = 0; c < opts.classes.size(); ++c) {
      if (!given.emplace(opts.classes[c], static_cast<std::int32_t>(c)).second)
        bad_input("given class list: class '", opts.classes[c], "' appears twice");
    }
    std::vector<std::int32_t> remap(labels.classes.size());
    for (std::size_t c = 0; c < labels.classes.size(); ++c) {
      auto it = given.find(labels.classes[c]);
      if (it == given.end()) {
        std::string list;
        for (std::size_t k = 0; k < opts.classes.size() && k < 20; ++k) list += (k ? ", " : "") + opts.classes[k];
        if (opts.classes.size() > 20) list += ", ...";
        bad_input(where, ": label '", labels.classes[c], "' is not one of the ", opts.classes.size(),
                  " given classes (", list, ")");
      }
      remap[c] = it->second;
    }
    for (auto& v : labels.y) v = remap[static_cast<std::size_t>(v)];
    labels.classes = opts.classes;
    if (labels.classes.size() < 2)
      bad_input(where, ": the given class list has ", labels.classes.size(), " class; at least 2 are needed");
  } else {
    std::vector<char> present(labels.classes.size(), 0);
    for (auto v : labels.y) present[static_cast<std::size_t>(v)] = 1;
    std::size_t k = 0, first = 0;
    for (std::size_t c = 0; c < present.size(); ++c)
      if (present[c] && k++ == 0) first = c;
    if (k < 2) {
      if (k == 0) bad_input(where, ": no labelled examples; at least 2 classes are needed");
      bad_input(where, ": every one of the ", labels.y.size(), " examples has label '", labels.classes[first],
                "'; at least 2 classes are needed");
    }
  }
  ds.y = std::move(labels.y);
  ds.classes = std::move(labels.classes);
}

std::vector<std::int32_t> labels_for_model(const std::vector<std::int32_t>& y,
                                           const std::vector<std::string>& data_classes,
                                           const std::vector<std::string>& model_classes, const std::string& source) {
  std::map<std::string, std::int32_t> id;
  for (std::size_t k = 0; k < model_classes.size(); ++k) id[model_classes[k]] = static_cast<std::int32_t>(k);
  std::vector<std::int32_t> map(data_classes.size(), -1);
  for (std::size_t c = 0; c < data_classes.size(); ++c) {
    auto it = id.find(data_classes[c]);
    if (it != id.end()) map[c] = it->second;
  }
  std::vector<std::int32_t> out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::int32_t c = y[i];
    const bool known_id = c >= 0 && static_cast<std::size_t>(c) < map.size();
    out[i] = known_id ? map[c] : -1;
    if (out[i] >= 0) continue;
    std::string known;
    for (std::size_t j = 0; j < std::min<std::size_t>(model_classes.size(), 8); ++j)
      known += (j ? ", " : "") + model_classes[j];
    if (model_classes.size() > 8) known += ", ...";
    bad_input(source, ": row ", i + 1, " has label '", known_id ? data_classes[c] : std::to_string(c),
              "', which the model never saw (it knows ", model_classes.size(), " labels: ", known, ")");
  }
  return out;
}

}  // namespace strata::data
