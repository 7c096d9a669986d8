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

// The outputs of one command, published together, so a command that fails late never replaces an earlier good
// output: add() checks each output path before the work starts (exit 2 naming the flag and the path: a missing
// or unwritable directory, a directory where a file is expected, two flags naming one path); the command writes
// each output to staged(path) as it is produced; commit() renames every staged output into place once all exist.
// An uncommitted set (an error, a cancel) removes what it staged and leaves every earlier output as it was.
// Directory outputs (checkpoints) are swapped in whole (renameat2 RENAME_EXCHANGE), then the old one removed.
class OutputSet {
 public:
  OutputSet() = default;
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  // flag: how the user named this output ("--svg"), for messages. An empty path is ignored. directory: the output
  // is a directory (its own writer checks what it may replace).
  void add(const std::string& flag, const std::string& path, bool directory = false);
  // The temporary name to write path's output to (path.tmp.<pid>.out, next to it); path must have been added.
  std::string staged(const std::string& path) const;
  // Publishes every staged output (one never staged, an optional output not produced, is left as it was), then
  // removes the temporaries of these paths that killed writers left behind (PATH.tmp.<pid of no process>...).
  void commit();

 private:
  struct Entry {
    std::string flag, path, temp;
    bool directory = false;
  };
  std::vector<Entry> entries_;
  bool committed_ = false;
};

// Checks that path can be written as a file: its directory exists and is writable, and path is not a directory.
// Throws bad_input naming flag and path.
void check_output_file(const std::string& flag, const std::string& path);

// A private temporary directory (under the system's temp directory, named prefix-XXXXXX), removed with its content
// on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "strata");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace strata
