// safetensors reader (io/safetensors.cpp): open and validate, then read every tensor as float32 and its raw bytes.
#include "fuzz_util.h"
#include "strata/io/safetensors.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("model.safetensors", fuzz::as_text(data, size));
  fuzz::expect_clean("safetensors open", [&] {
    const io::SafetensorsFile f = io::SafetensorsFile::open(path);
    for (const io::SafeTensor& t : f.tensors()) {
      fuzz::require(t.begin <= t.end, "safetensors open", cat(t.name, ": begin > end"));
      fuzz::require(f.contains(t.name) && &f.get(t.name) != nullptr, "safetensors open", "tensor not found by name");
      const std::uint8_t* p = f.data(t.name);
      volatile std::uint8_t sink = 0;
      for (std::size_t i = 0; i < t.end - t.begin; ++i) sink = sink + p[i];  // ASan checks the range is mapped
      fuzz::expect_clean("safetensors read_f32", [&] {
        const std::vector<float> v = f.read_f32(t.name, t.shape);
        fuzz::require(v.size() * io::safetensors_dtype_size(t.dtype) == t.end - t.begin, "safetensors read_f32",
                      cat(t.name, ": ", v.size(), " floats for ", t.end - t.begin, " bytes"));
      });
    }
  });
  return 0;
}
