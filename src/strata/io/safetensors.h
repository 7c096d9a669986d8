// Reading and writing the Hugging Face safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the tensors' bytes back to back. Reads map
// the file and validate it as strictly as the reference implementation; writes are atomic (temp, fsync, rename).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace strata::io {

struct SafeTensor {
  std::string name;
  std::string dtype;  // "F32", "BF16", "F16", "I64", "I32", ... as in the header
  std::vector<std::int64_t> shape;
  std::size_t begin = 0, end = 0;  // byte range relative to the start of the data area
};

// Bytes per element of a safetensors dtype name; 0 if the name is unknown.
std::size_t safetensors_dtype_size(const std::string& dtype);

class SafetensorsFile {
 public:
  // Maps and validates the file; throws bad_input naming the file (and tensor) on any violation of the format.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const;
  // Throws bad_input naming the file and the missing tensor.
  const SafeTensor& get(const std::string& name) const;
  // Tensors in data order (ascending offsets).
  const std::vector<SafeTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor's raw bytes (little-endian, possibly unaligned), valid while this object or a copy lives.
  const std::uint8_t* data(const std::string& name) const;

  // The tensor as float32; F32 is copied, F16 and BF16 are widened exactly. Throws bad_input naming the tensor
  // when its shape differs from expected_shape or its dtype is not a float type.
  std::vector<float> read_f32(const std::string& name, const std::vector<std::int64_t>& expected_shape) const;

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<const Mapping> map_;
  const std::uint8_t* data_begin_ = nullptr;  // start of the data area inside the mapping
  std::vector<SafeTensor> tensors_;
  std::map<std::string, std::size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t bytes = 0;  // must equal prod(shape) * dtype size
};

// Writes a safetensors file atomically. Tensors are laid out as the reference writer does (larger element sizes
// first, then by name); the header is padded with spaces so the data area starts 8-byte aligned. Throws bad_input
// for an unknown dtype, a byte count that does not match the shape, a duplicate or reserved name.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace strata::io
