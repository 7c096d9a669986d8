// NumPy .npy arrays (format versions 1, 2 and 3, C order): features as float32 (n, d), labels as integers or text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "strata/data/dataset.h"

namespace strata::data {

struct NpyHeader {
  char kind = 0;              // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  std::size_t item_size = 0;  // bytes per element
  bool swap = false;          // stored in the other byte order than this machine's
  std::vector<std::size_t> shape;
  std::size_t data_offset = 0;  // where the elements start
  std::string descr;            // as written, for messages
};

// Parses and checks the header of a whole .npy file held in `bytes`: magic, version, dict, C order, and that the
// file holds exactly prod(shape) * item_size bytes of data. Throws bad_input naming path and byte offset.
// `bytes` may hold only a prefix that includes the header when file_size gives the whole file's size.
NpyHeader parse_npy_header(const std::string& bytes, const std::string& path, std::size_t file_size = SIZE_MAX);

// A float or integer array as (n, d) float32: 1-D is (n, 1), N-D flattens the trailing dimensions (C order).
// Integer values are not rescaled.
std::vector<float> read_npy_matrix(const std::string& path, std::size_t& n, std::size_t& d);

// Integer labels from a 1-D (or (n, 1)) array of any integer dtype, or of floats that are all whole numbers.
std::vector<std::int64_t> read_npy_labels(const std::string& path);

// Features from a .npy with labels from opts.labels_path: a .npy of integers or a text file with one label per
// line (strings or integers; class order as for CSV).
Dataset load_npy(const std::string& path, const LoadOptions& opts = {});

// One label per line; blank lines are refused except at the end; CRLF accepted.
std::vector<std::string> read_label_lines(const std::string& path);

}  // namespace strata::data
