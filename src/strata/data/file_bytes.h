// Whole-file reads for the data readers: one allocation, transparent gunzip, errors that name the file.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace strata::data {

// A gzip file may inflate to at most gzip_inflate_limit(its size) bytes: kMaxInflateRatio times its size, and never
// less than kMinInflateLimit. Real data compress 2-20 times; deflate reaches ~1000 times on degenerate input (a few
// hundred KB of newlines inflating to hundreds of MB), which is refused instead of allocated.
constexpr std::size_t kMaxInflateRatio = 100;
constexpr std::size_t kMinInflateLimit = std::size_t{64} << 20;
std::size_t gzip_inflate_limit(std::size_t compressed_bytes);

// The file's bytes; gunzipped when the file starts with the gzip magic (1f 8b), so every reader also takes
// PATH.gz. Throws bad_input naming the path if it is missing, a directory, unreadable, corrupt gzip, or gzip that
// inflates beyond gzip_inflate_limit.
std::string read_bytes(const std::string& path);

// The path without a trailing ".gz" (case-insensitive), lowercased extension of that: "a/B.CSV.gz" -> ".csv".
std::string data_extension(const std::string& path);

// Asks the kernel to back [p, p + bytes) with transparent huge pages before it is first touched. On VMs where a
// 4 KiB first-touch fault is expensive (30 us measured here), zero-filling 188 MB drops from 1.5 s to 0.08 s.
void advise_huge_pages(void* p, std::size_t bytes);

// A zero-filled vector of `count` floats whose pages were advised huge before the fill.
std::vector<float> make_floats(std::size_t count);

}  // namespace strata::data
