// Label-tree JSON (core/label_tree.cpp LabelTree::from_json); a tree that loads must validate, survive the JSON
// round trip and draw.
#include "fuzz_util.h"
#include "strata/core/label_tree.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::as_text(data, size));
  fuzz::expect_clean("label tree", [&] {
    const LabelTree t = LabelTree::from_json(text, "tree.json");
    t.validate("fuzzed tree");
    const LabelTree again = LabelTree::from_json(t.to_json(), "round trip");
    fuzz::require(again.to_json() == t.to_json(), "label tree", "JSON round trip differs");
    t.depth();
    t.compacted().validate("compacted");
    t.to_dot();
  });
  return 0;
}
