// Transparent gunzip of every data reader (data/file_bytes.cpp read_bytes): the input is written as a .csv.gz and
// read back; a gzip stream then also goes through the CSV reader, as strata fit data.csv.gz would.
#include "fuzz_util.h"
#include "strata/data/dataset.h"
#include "strata/data/file_bytes.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("input.csv.gz", fuzz::as_text(data, size));
  const bool read = fuzz::expect_clean("gzip read_bytes", [&] {
    const std::string bytes = data::read_bytes(path);
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b)
      fuzz::require(bytes == std::string(fuzz::as_text(data, size)), "gzip read_bytes", "plain bytes changed");
  });
  if (read) fuzz::expect_clean("gzip csv load", [&] { data::load(path); });
  return 0;
}
