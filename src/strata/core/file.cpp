// Whole-file reading and atomic writing.
#include "strata/core/file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "strata/core/error.h"

namespace strata {

void write_file_atomic(const std::string& path, const std::vector<FilePiece>& pieces) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) bad_input(path, ": cannot write (", std::strerror(errno), ")");
  auto fail = [&](const char* what) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    bad_input(path, ": ", what, " (", std::strerror(e), ")");
  };
  for (const FilePiece& piece : pieces) {
    const char* c = static_cast<const char*>(piece.data);
    std::size_t n = piece.bytes;
    while (n > 0) {
      ssize_t w = ::write(fd, c, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("write failed");
      }
      c += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  if (::fsync(fd) != 0) fail("flush failed");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    bad_input(path, ": close failed (", std::strerror(e), ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    bad_input(path, ": rename failed (", std::strerror(e), ")");
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_file_atomic(path, {FilePiece{content.data(), content.size()}});
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_input(path, ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace fs = std::filesystem;

void check_output_file(const std::string& flag, const std::string& path) {
  if (path.empty()) bad_input(flag, ": empty file name");
  std::error_code ec;
  if (fs::is_directory(path, ec)) bad_input(flag, " ", path, ": is a directory; expected a file name");
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::exists(parent, ec)) bad_input(flag, " ", path, ": the directory ", parent.string(), " does not exist");
  if (!fs::is_directory(parent, ec)) bad_input(flag, " ", path, ": ", parent.string(), " is not a directory");
  // Probing is the only honest test: permissions, a read-only mount and ACLs all answer here.
  const std::string probe = path + ".tmp." + std::to_string(::getpid()) + ".probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) bad_input(flag, " ", path, ": cannot write in ", parent.string(), " (", std::strerror(errno), ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

namespace {
// "dir/", "./dir" and "dir" are one output; the temporary name is formed from this spelling.
std::string normal_path(const std::string& path) {
  std::string s = fs::path(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Removes PATH.tmp.<pid>[.out|.probe] files and directories left by writers that no longer run (killed mid-write).
void remove_stale_temporaries(const std::string& path) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  const std::string prefix = fs::path(path).filename().string() + ".tmp.";
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string pid = name.substr(prefix.size());
    for (const char* suffix : {".out", ".probe"})
      if (pid.size() > std::strlen(suffix) && pid.compare(pid.size() - std::strlen(suffix), pid.npos, suffix) == 0)
        pid.resize(pid.size() - std::strlen(suffix));
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const long p = std::stol(pid);
    if (p == ::getpid() || (::kill(static_cast<pid_t>(p), 0) != 0 && errno == ESRCH)) fs::remove_all(e.path(), ec);
  }
}
}  // namespace

OutputSet::~OutputSet() {
  if (committed_) return;
  std::error_code ec;
  for (const Entry& e : entries_) fs::remove_all(e.temp, ec);
}

void OutputSet::add(const std::string& flag, const std::string& path, bool directory) {
  if (path.empty()) return;
  if (directory) {
    std::error_code ec;
    if (fs::exists(path, ec) && !fs::is_directory(path, ec))
      bad_input(flag, " ", path, ": exists and is not a directory");
  } else {
    check_output_file(flag, path);
  }
  const std::string p = normal_path(path);
  const fs::path key = fs::absolute(p).lexically_normal();
  for (const Entry& e : entries_)
    if (fs::absolute(e.path).lexically_normal() == key)
      bad_input(e.flag, " and ", flag, " name the same output ", path, "; give each its own");
  entries_.push_back({flag, p, p + ".tmp." + std::to_string(::getpid()) + ".out", directory});
}

std::string OutputSet::staged(const std::string& path) const {
  const std::string p = normal_path(path);
  for (const Entry& e : entries_)
    if (e.path == p) return e.temp;
  internal_error("OutputSet: ", path, " was not added");
}

void OutputSet::commit() {
  std::error_code ec;
  for (const Entry& e : entries_) {
    if (!fs::exists(e.temp, ec)) continue;  // not produced this time (optional output): left as it was
    if (e.directory && fs::is_directory(e.path, ec)) {
      // Swap the complete new directory in for the old one in one step, then drop the old one.
      if (::renameat2(AT_FDCWD, e.temp.c_str(), AT_FDCWD, e.path.c_str(), RENAME_EXCHANGE) != 0)
        bad_input(e.path, ": cannot replace it (", std::strerror(errno), ")");
      fs::remove_all(e.temp, ec);  // now the old one
    } else if (std::rename(e.temp.c_str(), e.path.c_str()) != 0) {
      bad_input(e.path, ": cannot rename ", e.temp, " into place (", std::strerror(errno), ")");
    }
  }
  committed_ = true;
  for (const Entry& e : entries_) remove_stale_temporaries(e.path);
}

TempDir::TempDir(const std::string& prefix) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) internal_error("cannot create a temporary directory under ", fs::temp_directory_path());
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace strata
