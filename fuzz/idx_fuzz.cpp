// IDX reader (data/idx.cpp): input = images bytes, then optionally "IDXSPLIT" and the labels bytes; without the
// marker the labels are a valid file of one label per image the header claims (capped), so the images side is
// explored past the count check.
#include <algorithm>
#include <cstring>

#include "fuzz_util.h"
#include "strata/data/dataset.h"
#include "strata/data/idx.h"

using namespace strata;

namespace {

std::string labels_for(std::string_view images) {
  std::uint32_t n = 4;
  if (images.size() >= 8) {
    n = 0;
    for (int i = 4; i < 8; ++i) n = n << 8 | static_cast<unsigned char>(images[i]);
  }
  n = std::min<std::uint32_t>(n, 4096);
  std::string out = {0, 0, 8, 1};
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(n >> s & 0xff));
  for (std::uint32_t i = 0; i < n; ++i) out.push_back(static_cast<char>(i % 3));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const std::size_t cut = text.find("IDXSPLIT");
  const std::string_view images = text.substr(0, cut);
  const std::string labels = cut == std::string_view::npos ? labels_for(images) : std::string(text.substr(cut + 8));
  const std::string ipath = fuzz::write_input("images-idx3-ubyte", images);
  const std::string lpath = fuzz::write_input("labels-idx1-ubyte", labels);
  fuzz::expect_clean("idx load", [&] {
    const data::Dataset ds = data::load_idx(ipath, lpath);
    fuzz::require(ds.x.size() == ds.n * ds.d && ds.y.size() == ds.n, "idx load", "sizes disagree");
  });
  return 0;
}
