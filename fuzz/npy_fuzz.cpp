// NumPy .npy reader (data/npy.cpp): the header parser on the bytes, then the file as features and as labels.
#include "fuzz_util.h"
#include "strata/data/npy.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(fuzz::as_text(data, size));
  fuzz::expect_clean("npy header", [&] {
    const data::NpyHeader h = data::parse_npy_header(bytes, "input.npy");
    fuzz::require(h.data_offset <= bytes.size(), "npy header", "data offset beyond the file");
  });
  const std::string path = fuzz::write_input("input.npy", bytes);
  fuzz::expect_clean("npy matrix", [&] {
    std::size_t n = 0, d = 0;
    const std::vector<float> x = data::read_npy_matrix(path, n, d);
    fuzz::require(x.size() == n * d, "npy matrix", cat(x.size(), " floats for (", n, ", ", d, ")"));
  });
  fuzz::expect_clean("npy labels", [&] { data::read_npy_labels(path); });
  return 0;
}
