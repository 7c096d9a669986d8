// One table per string option of the hierarchy toolkit (linkage, covariance type) that gives both directions,
// name -> enum and enum -> name, and the bad-input message that lists the choices, so the two cannot drift.
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "strata/core/error.h"

namespace strata::hier {

template <typename E, std::size_t N>
struct NamedChoices {
  const char* what;                                // the option, as errors name it: "linkage"
  std::array<std::pair<E, const char*>, N> items;  // in the order the error lists them

  // bad_input "what: expected one of a, b, c; got "x"" for an unknown name.
  E parse(const std::string& name) const {
    for (const auto& [value, n] : items)
      if (name == n) return value;
    std::string list;
    for (std::size_t i = 0; i < N; ++i) list += cat(i ? ", " : "", items[i].second);
    bad_input(what, ": expected one of ", list, "; got \"", name, "\"");
  }
  const char* name(E value) const {
    for (const auto& [v, n] : items)
      if (v == value) return n;
    return "?";
  }
};

}  // namespace strata::hier
