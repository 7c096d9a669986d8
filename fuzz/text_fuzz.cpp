// Text data sets (data/text.cpp load_text): an input whose first byte is '{' is a .jsonl, else a .tsv.
#include "fuzz_util.h"
#include "strata/data/text.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool jsonl = size > 0 && data[0] == '{';
  const std::string path = fuzz::write_input(jsonl ? "input.jsonl" : "input.tsv", fuzz::as_text(data, size));
  fuzz::expect_clean("text load", [&] {
    const data::TextDataset ds = data::load_text(path, size % 2 ? "train" : "all");
    fuzz::require(ds.texts.size() == ds.y.size() && ds.y.size() == ds.keys.size(), "text load", "sizes disagree");
    for (const std::int32_t c : ds.y)
      fuzz::require(c >= 0 && c < static_cast<int>(ds.classes.size()), "text load", cat("class id ", c));
  });
  return 0;
}
