// Whole-file reads with transparent gunzip (zlib), sized up front so a 47 MB IDX file is one allocation.
#include "strata/data/file_bytes.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "strata/core/error.h"

namespace strata::data {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string read_plain(std::FILE* f, const std::string& path, std::size_t size) {
  std::string out;
  out.reserve(size);
  advise_huge_pages(out.data(), size);
  out.resize(size);
  std::size_t got = size ? std::fread(out.data(), 1, size, f) : 0;
  if (got != size) {
    if (std::ferror(f)) bad_input(path, ": read failed (", std::strerror(errno), ")");
    out.resize(got);  // shrank while reading
  }
  // The file may also have grown since stat; take the rest.
  char buf[1 << 16];
  std::size_t more;
  while ((more = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, more);
  return out;
}

std::string read_gzip(const std::string& path, std::size_t compressed_size, std::uint32_t isize_hint) {
  const std::size_t limit = gzip_inflate_limit(compressed_size);
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) bad_input(path, ": cannot open (", std::strerror(errno), ")");
  gzbuffer(g, 1 << 18);
  // ISIZE (the gzip trailer) is the uncompressed size mod 2^32: a good first guess for one allocation. A truncated
  // file's last four bytes are arbitrary, so trust it only within a plausible ratio; beyond, grow by doubling.
  const std::size_t plausible = compressed_size * 4 + (1 << 16);
  std::size_t cap = isize_hint > 0 && isize_hint <= plausible ? static_cast<std::size_t>(isize_hint) + 1 : plausible;
  cap = std::min(cap, limit + 1);
  std::string out;
  out.reserve(cap);
  advise_huge_pages(out.data(), cap);
  out.resize(cap);
  std::size_t len = 0;
  for (;;) {
    if (len > limit) {
      gzclose(g);
      bad_input(path, ": inflates to more than ", limit, " bytes from ", compressed_size, " compressed (over ",
                kMaxInflateRatio,
                " times; a gzip bomb or a degenerate file). If the data are "
                "genuine, gunzip the file and pass the uncompressed one");
    }
    if (len == out.size()) out.resize(std::min(out.size() * 2, limit + 1));
    std::size_t want = std::min<std::size_t>(out.size() - len, 1u << 30);
    int r = gzread(g, out.data() + len, static_cast<unsigned>(want));
    if (r < 0) {
      int errnum = 0;
      std::string msg = gzerror(g, &errnum);
      gzclose(g);
      bad_input(path, ": corrupt gzip data after ", len, " decompressed bytes (", msg, ")");
    }
    if (r == 0) break;
    len += static_cast<std::size_t>(r);
  }
  int errnum = 0;
  const char* msg = gzerror(g, &errnum);
  if (errnum != Z_OK && errnum != Z_STREAM_END) {
    std::string m = msg;
    gzclose(g);
    bad_input(path, ": truncated or corrupt gzip data after ", len, " decompressed bytes (", m, ")");
  }
  gzclose(g);
  out.resize(len);
  return out;
}

}  // namespace

std::size_t gzip_inflate_limit(std::size_t compressed_bytes) {
  const std::size_t by_ratio =
      compressed_bytes > SIZE_MAX / kMaxInflateRatio ? SIZE_MAX : compressed_bytes * kMaxInflateRatio;
  return std::max(kMinInflateLimit, by_ratio);
}

std::string read_bytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) bad_input(path, ": cannot open (", std::strerror(errno), ")");
  if (S_ISDIR(st.st_mode)) bad_input(path, ": is a directory, expected a file");
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) bad_input(path, ": cannot open (", std::strerror(errno), ")");
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  unsigned char magic[2] = {0, 0};
  std::size_t m = std::fread(magic, 1, 2, f.get());
  if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    std::uint32_t isize = 0;
    if (size >= 18 && std::fseek(f.get(), -4, SEEK_END) == 0) {
      unsigned char t[4];
      if (std::fread(t, 1, 4, f.get()) == 4)
        isize = t[0] | (t[1] << 8) | (t[2] << 16) | (static_cast<std::uint32_t>(t[3]) << 24);
    }
    f.reset();
    return read_gzip(path, size, isize);
  }
  std::rewind(f.get());
  return read_plain(f.get(), path, size);
}

void advise_huge_pages(void* p, std::size_t bytes) {
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
  if (bytes < 4 * kHuge) return;
  const std::uintptr_t b = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t e = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);  // a hint: failure only costs speed
}

std::vector<float> make_floats(std::size_t count) {
  std::vector<float> v;
  v.reserve(count);
  advise_huge_pages(v.data(), count * sizeof(float));
  v.resize(count);
  return v;
}

std::string data_extension(const std::string& path) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string p = path;
  std::string lp = lower(p);
  if (lp.size() > 3 && lp.compare(lp.size() - 3, 3, ".gz") == 0) lp.resize(lp.size() - 3);
  std::size_t slash = lp.find_last_of('/');
  std::size_t dot = lp.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return lp.substr(dot);
}

}  // namespace strata::data
