// Safetensors reader (mmap + validation as strict as the reference Rust implementation) and atomic writer.
// Format: u64 LE header length N, N bytes of JSON header, then the data area. The reference requires the tensors
// to tile the data area exactly: sorted by offset, each starts where the previous ended, the last ends at EOF.
#include "strata/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/json.h"

namespace strata::io {

namespace {

// The reference rejects headers above 100 MB; a larger one is surely corrupt.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::size_t kMaxRank = 64;  // dimensions of one tensor

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string o = "[";
  for (std::size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      mant &= 0x3FFu;
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | (mant << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Element count of a shape, or false on overflow.
bool numel_of(const std::vector<std::int64_t>& shape, std::uint64_t* out) {
  std::uint64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return false;
    if (d != 0 && n > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d)) return false;
    n *= static_cast<std::uint64_t>(d);
  }
  *out = n;
  return true;
}

}  // namespace

std::size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> kSizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8}};
  auto it = kSizes.find(dtype);
  return it == kSizes.end() ? 0 : it->second;
}

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  std::size_t bytes = 0;
  ~Mapping() {
    if (addr != nullptr) ::munmap(addr, bytes);
  }
};

namespace {

// The header as a JSON object; duplicate keys are legal JSON to most parsers (last wins) but ambiguous here: rejected
// as the reference implementation does.
nlohmann::json parse_header(const std::string& path, const std::string& header) {
  std::string duplicate;
  std::set<std::string> seen;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    if (ev == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  // A header nests 3 deep ({name: {shape: [...]}}); anything deeper is refused before the parser sees it.
  std::size_t at = 0;
  if (json_nesting_depth(header, kMaxJsonDepth, &at) > kMaxJsonDepth)
    bad_input(path, ": header nests JSON deeper than the limit of ", kMaxJsonDepth, " levels (at byte ", at + 8,
              " of the file)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header, cb);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (what.size() > 200) what = what.substr(0, 200) + "...";
    bad_input(path, ": header (", header.size(), " bytes) is not valid JSON: ", what);
  }
  if (!j.is_object()) bad_input(path, ": header is JSON but not an object (found ", j.type_name(), ")");
  if (!duplicate.empty())
    bad_input(path, ": tensor '", short_quote(duplicate), "' appears more than once in the header");
  return j;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const nlohmann::json& v) {
  if (!v.is_object()) bad_input(path, ": __metadata__ must be an object of strings, found ", v.type_name());
  std::map<std::string, std::string> out;
  for (auto m = v.begin(); m != v.end(); ++m) {
    if (!m.value().is_string())
      bad_input(path, ": __metadata__ entry '", short_quote(m.key()), "' must be a string, found ",
                m.value().type_name());
    out[m.key()] = m.value().get<std::string>();
  }
  return out;
}

// One header entry {dtype, shape, data_offsets}, checked against itself and the data area's size.
SafeTensor parse_tensor_entry(const std::string& path, const std::string& name, const nlohmann::json& v,
                              std::uint64_t data_bytes) {
  auto where = [&] { return cat(path, ": tensor '", short_quote(name), "'"); };
  if (!v.is_object()) bad_input(where(), ": expected an object {dtype, shape, data_offsets}, found ", v.type_name());
  SafeTensor t;
  t.name = name;
  if (!v.contains("dtype") || !v["dtype"].is_string()) bad_input(where(), ": missing string field 'dtype'");
  t.dtype = short_quote(v["dtype"].get<std::string>(), 40);
  const std::size_t esize = safetensors_dtype_size(t.dtype);
  if (esize == 0)
    bad_input(where(), ": unknown dtype '", t.dtype,
              "' (expected one of BOOL U8 I8 F8_E5M2 F8_E4M3 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64)");
  if (!v.contains("shape") || !v["shape"].is_array()) bad_input(where(), ": missing array field 'shape'");
  if (v["shape"].size() > kMaxRank)
    bad_input(where(), ": shape has ", v["shape"].size(), " dimensions, more than the limit of ", kMaxRank);
  for (const auto& d : v["shape"]) {
    if (!d.is_number_unsigned())
      bad_input(where(), ": shape entries must be non-negative integers, found ", json_excerpt(d));
    t.shape.push_back(d.get<std::int64_t>());
  }
  if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2 ||
      !v["data_offsets"][0].is_number_unsigned() || !v["data_offsets"][1].is_number_unsigned())
    bad_input(where(), ": 'data_offsets' must be [begin, end] of non-negative integers");
  const std::uint64_t b = v["data_offsets"][0].get<std::uint64_t>();
  const std::uint64_t e = v["data_offsets"][1].get<std::uint64_t>();
  if (e < b) bad_input(where(), ": data_offsets [", b, ", ", e, "] end before begin");
  if (e > data_bytes)
    bad_input(where(), ": data_offsets [", b, ", ", e, "] lie outside the data area (", data_bytes, " bytes)");
  std::uint64_t numel = 0;
  if (!numel_of(t.shape, &numel) || numel > std::numeric_limits<std::uint64_t>::max() / esize)
    bad_input(where(), ": shape ", shape_str(t.shape), " overflows");
  if (numel * esize != e - b)
    bad_input(where(), ": shape ", shape_str(t.shape), " x ", t.dtype, " (", esize, " bytes) needs ", numel * esize,
              " bytes but data_offsets [", b, ", ", e, "] span ", e - b);
  t.begin = static_cast<std::size_t>(b);
  t.end = static_cast<std::size_t>(e);
  return t;
}

// Sorts the tensors by offset; they must tile the data area from 0 with no overlap, gap or trailing bytes.
void check_contiguous(const std::string& path, std::vector<SafeTensor>& tensors, std::uint64_t data_bytes) {
  std::sort(tensors.begin(), tensors.end(), [](const SafeTensor& a, const SafeTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::size_t expected = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const SafeTensor& t = tensors[i];
    if (t.begin < expected)
      bad_input(path, ": tensor '", t.name, "' [", t.begin, ", ", t.end, ") overlaps tensor '", tensors[i - 1].name,
                "' [", tensors[i - 1].begin, ", ", tensors[i - 1].end, ")");
    if (t.begin > expected)
      bad_input(path, ": gap of ", t.begin - expected, " bytes before tensor '", t.name, "' at offset ", t.begin,
                " (the format requires tensors to be contiguous from offset 0)");
    expected = t.end;
  }
  if (expected != data_bytes)
    bad_input(path, ": the tensors cover ", expected, " bytes but the data area holds ", data_bytes,
              " (trailing bytes after the last tensor",
              tensors.empty() ? std::string() : cat(" '", tensors.back().name, "'"), ")");
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) bad_input(path, ": cannot open safetensors file (", std::strerror(errno), ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    bad_input(path, ": not a regular file");
  }
  const std::uint64_t file_bytes = static_cast<std::uint64_t>(st.st_size);
  if (file_bytes < 8) {
    ::close(fd);
    bad_input(path, ": ", file_bytes, " bytes, too short for the 8-byte header length of a safetensors file");
  }
  auto map = std::make_shared<Mapping>();
  map->addr = ::mmap(nullptr, file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map->addr == MAP_FAILED) {
    map->addr = nullptr;
    bad_input(path, ": cannot map (", std::strerror(errno), ")");
  }
  map->bytes = file_bytes;
  const auto* base = static_cast<const std::uint8_t*>(map->addr);

  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | base[i];
  if (header_len > file_bytes - 8)
    bad_input(path, ": header length ", header_len, " exceeds the file (", file_bytes - 8,
              " bytes after the length field)");
  if (header_len > kMaxHeaderBytes)
    bad_input(path, ": header length ", header_len, " exceeds the format's limit of ", kMaxHeaderBytes, " bytes");
  const std::uint64_t data_bytes = file_bytes - 8 - header_len;
  const std::string header(reinterpret_cast<const char*>(base + 8), header_len);

  const nlohmann::json j = parse_header(path, header);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__")
      f.metadata_ = parse_metadata(path, it.value());
    else
      f.tensors_.push_back(parse_tensor_entry(path, it.key(), it.value(), data_bytes));
  }
  check_contiguous(path, f.tensors_, data_bytes);
  for (std::size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
  f.data_begin_ = base + 8 + header_len;
  f.map_ = std::move(map);
  return f;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

const SafeTensor& SafetensorsFile::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) bad_input(path_, ": no tensor named '", name, "' (the file holds ", tensors_.size(), ")");
  return tensors_[it->second];
}

const std::uint8_t* SafetensorsFile::data(const std::string& name) const { return data_begin_ + get(name).begin; }

std::vector<float> SafetensorsFile::read_f32(const std::string& name,
                                             const std::vector<std::int64_t>& expected_shape) const {
  const SafeTensor& t = get(name);
  if (t.shape != expected_shape)
    bad_input(path_, ": tensor '", name, "': expected shape ", shape_str(expected_shape), ", found ",
              shape_str(t.shape));
  const std::uint8_t* src = data_begin_ + t.begin;
  const std::size_t bytes = t.end - t.begin;
  std::vector<float> out;
  if (t.dtype == "F32") {
    out.resize(bytes / 4);
    if (bytes) std::memcpy(out.data(), src, bytes);  // the mapping may be unaligned for float: copy bytewise
  } else if (t.dtype == "BF16" || t.dtype == "F16") {
    out.resize(bytes / 2);
    const bool bf16 = t.dtype == "BF16";
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint16_t h = static_cast<std::uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
      if (bf16) {
        const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
        std::memcpy(&out[i], &bits, 4);
      } else {
        out[i] = half_to_float(h);
      }
    }
  } else {
    bad_input(path_, ": tensor '", name, "': expected dtype F32 (or F16/BF16), found ", t.dtype);
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  for (const auto& t : tensors) {
    const std::size_t esize = safetensors_dtype_size(t.dtype);
    if (esize == 0) bad_input(path, ": tensor '", t.name, "': unknown dtype '", t.dtype, "'");
    if (t.name == "__metadata__") bad_input(path, ": '__metadata__' is reserved and cannot name a tensor");
    if (!names.insert(t.name).second) bad_input(path, ": tensor '", t.name, "' given twice");
    std::uint64_t numel = 0;
    if (!numel_of(t.shape, &numel) || numel * esize != t.bytes)
      bad_input(path, ": tensor '", t.name, "': shape ", shape_str(t.shape), " x ", t.dtype, " needs ", numel * esize,
                " bytes, given ", t.bytes);
    if (t.bytes != 0 && t.data == nullptr) bad_input(path, ": tensor '", t.name, "': null data");
  }
  // The reference writer orders by element size (largest first), then name, which keeps every tensor aligned.
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const std::size_t sa = safetensors_dtype_size(tensors[a].dtype), sb = safetensors_dtype_size(tensors[b].dtype);
    return sa != sb ? sa > sb : tensors[a].name < tensors[b].name;
  });
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = std::move(m);
  }
  std::size_t offset = 0;
  for (std::size_t i : order) {
    const auto& t = tensors[i];
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // 8 + header is then a multiple of 8
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i)
    prefix[i] = static_cast<char>((static_cast<std::uint64_t>(header.size()) >> (8 * i)) & 0xFF);

  std::vector<FilePiece> pieces{{prefix.data(), prefix.size()}, {header.data(), header.size()}};
  for (std::size_t i : order) pieces.push_back({tensors[i].data, tensors[i].bytes});
  write_file_atomic(path, pieces);
}

}  // namespace strata::io
