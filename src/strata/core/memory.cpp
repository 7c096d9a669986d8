// Arenas with byte accounting and budgets, the RAII buffer's arena side, and byte-size parsing/formatting.
#include "strata/core/memory.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include <unistd.h>

#include "strata/core/error.h"

namespace strata {

const char* space_name(Space s) {
  switch (s) {
    case Space::kHost:
      return "host";
    case Space::kDevice:
      return "device";
    case Space::kStash:
      return "stash";
  }
  return "?";
}

std::size_t available_host_memory() {
  std::ifstream in("/proc/meminfo");
  for (std::string key; in >> key;) {
    std::size_t kib = 0;
    if (key == "MemAvailable:" && in >> kib) return kib * 1024;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : 0;
}

std::string format_bytes(std::size_t bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return cat(bytes, " B");
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

std::size_t parse_bytes(std::string_view text, std::string_view what) {
  auto fail = [&](const char* why) -> std::size_t {
    bad_input(what, ": expected a byte size like 512MiB, 1.5GB, 2G or 1024, found '", text, "' (", why, ")");
  };
  std::size_t i = 0, n = text.size();
  while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::size_t num_begin = i;
  bool digits = false, fraction = false;
  while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true, fraction = true;
  }
  if (!digits) return fail(num_begin < n && text[num_begin] == '-' ? "negative" : "no number");
  std::string num(text.substr(num_begin, i - num_begin));
  while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit;
  for (; i < n; ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) break;
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i != n) return fail("trailing characters");

  double mult;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kib")
    mult = 0x1p10;
  else if (unit == "m" || unit == "mib")
    mult = 0x1p20;
  else if (unit == "g" || unit == "gib")
    mult = 0x1p30;
  else if (unit == "t" || unit == "tib")
    mult = 0x1p40;
  else if (unit == "kb")
    mult = 1e3;
  else if (unit == "mb")
    mult = 1e6;
  else if (unit == "gb")
    mult = 1e9;
  else if (unit == "tb")
    mult = 1e12;
  else
    return fail("unknown unit; use B, KiB, MiB, GiB, TiB, K, M, G, T, KB, MB, GB or TB");

  double value = std::strtod(num.c_str(), nullptr) * mult;
  if (!std::isfinite(value) || value >= 0x1p63) return fail("too large");
  if (mult == 1 && fraction && value != std::floor(value)) return fail("fractional byte count");
  return static_cast<std::size_t>(std::llround(value));
}

namespace {

class HeapAllocator final : public RawAllocator {
 public:
  void* allocate(std::size_t bytes) override {
    std::size_t rounded = (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    return std::aligned_alloc(kArenaAlignment, rounded);
  }
  void deallocate(void* p, std::size_t) override { std::free(p); }
};

}  // namespace

RawAllocator& heap_allocator() {
  static HeapAllocator heap;
  return heap;
}

Arena::Arena(Space space, std::string name, std::size_t budget, RawAllocator* raw)
    : space_(space), name_(std::move(name)), raw_(raw ? raw : &heap_allocator()) {
  budget_.store(budget);
}

std::size_t Arena::available() const {
  std::size_t b = budget_.load(), c = current_.load();
  if (b == 0) return std::numeric_limits<std::size_t>::max();
  return c >= b ? 0 : b - c;
}

void* Arena::allocate(std::size_t bytes, std::string_view what) {
  if (bytes == 0) return nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    std::size_t b = budget_.load(), c = current_.load();
    if (b != 0 && (bytes > b || c > b - bytes)) {
      resource_error(name_, " memory budget ", format_bytes(b), " exceeded: requested ", format_bytes(bytes), " for '",
                     what, "', ", format_bytes(c), " in use, ", format_bytes(c >= b ? 0 : b - c),
                     " available (needs at least ", format_bytes(c + bytes), ")");
    }
    // Reserve before allocating so two threads cannot both pass the check.
    current_.store(c + bytes);
    if (c + bytes > peak_.load()) peak_.store(c + bytes);
  }
  void* p = raw_->allocate(bytes);
  if (!p) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_.fetch_sub(bytes);
    }
    resource_error(name_, " memory: the system could not provide ", format_bytes(bytes), " for '", what, "' (",
                   format_bytes(current_.load()), " already in use in this space)");
  }
  live_.fetch_add(1);
  total_.fetch_add(1);
  return p;
}

void Arena::free(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  raw_->deallocate(p, bytes);
  std::lock_guard<std::mutex> lk(mu_);
  current_.fetch_sub(bytes);
  live_.fetch_sub(1);
}

void Arena::reset_peak() {
  std::lock_guard<std::mutex> lk(mu_);
  peak_.store(current_.load());
}

MemorySystem::MemorySystem(const MemoryBudgets& budgets, RawAllocator* host_raw, RawAllocator* device_raw,
                           RawAllocator* stash_raw) {
  arenas_[0] = std::make_unique<Arena>(Space::kHost, "host", budgets.host, host_raw);
  arenas_[1] = std::make_unique<Arena>(Space::kDevice, "device", budgets.device, device_raw);
  arenas_[2] = std::make_unique<Arena>(Space::kStash, "stash", budgets.stash, stash_raw);
}

void MemorySystem::reset_peaks() {
  for (auto& a : arenas_) a->reset_peak();
}

std::string MemorySystem::summary() const {
  std::string out;
  for (const auto& a : arenas_) {
    out += cat(a->name(), ": ", format_bytes(a->current()), " in use, peak ", format_bytes(a->peak()), ", budget ",
               a->budget() ? format_bytes(a->budget()) : std::string("unlimited"), "\n");
  }
  return out;
}

}  // namespace strata
