// CSV/TSV reader (data/csv.cpp) through data::load: a first line holding a tab makes the input a .tsv, else a .csv;
// one input in eight (by its length) is read unlabelled (every column a feature), as strata predict does.
#include "fuzz_util.h"
#include "strata/data/csv.h"
#include "strata/data/dataset.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const bool tsv = text.substr(0, text.find('\n')).find('\t') != std::string_view::npos;
  const std::string path = fuzz::write_input(tsv ? "input.tsv" : "input.csv", text);
  data::LoadOptions opts;
  opts.unlabelled = size % 8 == 7;
  fuzz::expect_clean("csv load", [&] {
    const data::Dataset ds = data::load(path, opts);
    fuzz::require(ds.x.size() == ds.n * ds.d, "csv load", "x holds n * d floats");
    if (!opts.unlabelled) {
      fuzz::require(ds.y.size() == ds.n, "csv load", "one label per row");
      for (const std::int32_t c : ds.y)
        fuzz::require(c >= 0 && c < ds.num_classes(), "csv load", cat("class id ", c, " out of range"));
    }
  });
  fuzz::expect_clean("csv columns", [&] { data::csv_columns(path, tsv ? '\t' : ','); });
  return 0;
}
