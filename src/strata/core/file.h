// Whole-file reading and atomic writing: every output strata writes goes to a temporary name, is flushed and
// fsynced, then renamed, so a crash never leaves a half-written file under the real name.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace strata {

struct FilePiece {
  const void* data;
  std::size_t bytes;
};

// Writes the pieces, in order, to path atomically (path.tmp.<pid>, fsync, rename). Throws bad_input naming the
// path if it cannot be written; the temporary file is removed on failure.
void write_file_atomic(const std::string& path, const std::vector<FilePiece>& pieces);
void write_file_atomic(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);  // throws bad_input naming the path if unreadable

}  // namespace strata
