// Whole-file reading and atomic writing.
#include "strata/core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

}  // namespace strata
