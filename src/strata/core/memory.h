// Memory spaces and their arenas (DESIGN.md §3): every buffer belongs to host (EPS state), device (what the executing
// layer needs) or stash (layer-boundary activations), and every allocation goes through the arena of its space, which
// counts current and peak bytes and enforces an optional hard budget (the CPU backend's "device" budget).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace strata {

enum class Space : std::uint8_t { kHost = 0, kDevice = 1, kStash = 2 };
inline constexpr int kNumSpaces = 3;
const char* space_name(Space s);  // "host", "device", "stash"

// Alignment of every arena allocation: a cache line, and enough for any SIMD load.
inline constexpr std::size_t kArenaAlignment = 64;

// "512MiB", "1.5GB", "2G", "1024", "64 KiB" -> bytes. Binary units KiB/MiB/GiB/TiB and the bare letters K/M/G/T are
// powers of 1024; KB/MB/GB/TB are powers of 1000 (SI); B or no unit is bytes. Units are case-insensitive.
// Throws bad_input naming `what` (e.g. "--device-memory") and the text found on garbage, negatives, fractional
// byte counts or overflow.
std::size_t parse_bytes(std::string_view text, std::string_view what = "byte size");

// 1536 -> "1.5 KiB", 536870912 -> "512.0 MiB", 100 -> "100 B".
std::string format_bytes(std::size_t bytes);

// Host memory the OS could give this process now without swapping: MemAvailable of /proc/meminfo, else the free
// physical pages (sysconf). 0 when neither can be read.
std::size_t available_host_memory();

// Where an arena's memory comes from. The default takes 64-byte-aligned pages from the C heap; a CUDA backend
// supplies cudaMalloc (device) or pinned host memory (host, stash).
class RawAllocator {
 public:
  virtual ~RawAllocator() = default;
  virtual void* allocate(std::size_t bytes) = 0;  // nullptr on failure
  virtual void deallocate(void* p, std::size_t bytes) = 0;
};
RawAllocator& heap_allocator();

// One space's allocator with byte accounting. Thread-safe: EPS worker threads allocate concurrently.
// Accounting counts the bytes requested (not the alignment padding), so budgets and peaks are exact.
class Arena {
 public:
  Arena(Space space, std::string name, std::size_t budget = 0, RawAllocator* raw = nullptr);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  Space space() const { return space_; }
  const std::string& name() const { return name_; }
  std::size_t budget() const { return budget_.load(); }  // 0: unlimited
  void set_budget(std::size_t bytes) { budget_.store(bytes); }
  std::size_t current() const { return current_.load(); }
  std::size_t peak() const { return peak_.load(); }
  std::size_t live_allocations() const { return live_.load(); }
  std::size_t total_allocations() const { return total_.load(); }
  // Bytes still allocatable under the budget (SIZE_MAX when unlimited).
  std::size_t available() const;

  // 64-byte-aligned memory for `bytes` bytes (nullptr for 0 bytes). `what` names the allocation in errors.
  // Throws resource_error when the budget would be exceeded: "device memory budget 512.0 MiB exceeded: requested
  // 12.0 MiB for 'layer 3 slab', 500.1 MiB in use, 11.9 MiB available", or when the system has no memory left.
  void* allocate(std::size_t bytes, std::string_view what);
  // Returns memory from allocate(); `bytes` must be the size it was allocated with.
  void free(void* p, std::size_t bytes) noexcept;
  // Peak restarts from the current usage (e.g. to measure one phase).
  void reset_peak();

 private:
  Space space_;
  std::string name_;
  RawAllocator* raw_;
  std::mutex mu_;  // serialises the budget check with the increment
  std::atomic<std::size_t> budget_{0}, current_{0}, peak_{0}, live_{0}, total_{0};
};

// Owning handle to arena memory: move-only, frees back to its arena on destruction.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Arena& arena, std::size_t bytes, std::string_view what)
      : arena_(&arena), data_(arena.allocate(bytes, what)), bytes_(bytes) {}
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept : arena_(o.arena_), data_(o.data_), bytes_(o.bytes_) {
    o.arena_ = nullptr;
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      arena_ = o.arena_;
      data_ = o.data_;
      bytes_ = o.bytes_;
      o.arena_ = nullptr;
      o.data_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void reset() noexcept {
    if (arena_ && data_) arena_->free(data_, bytes_);
    arena_ = nullptr;
    data_ = nullptr;
    bytes_ = 0;
  }

  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  float* f32() const { return as<float>(); }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  // A default-constructed buffer has no space; ask only of allocated buffers.
  Space space() const { return arena_ ? arena_->space() : Space::kHost; }
  Arena* arena() const { return arena_; }

 private:
  Arena* arena_ = nullptr;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

struct MemoryBudgets {
  std::size_t host = 0, device = 0, stash = 0;  // 0: unlimited
};

// The three arenas of one backend.
class MemorySystem {
 public:
  explicit MemorySystem(const MemoryBudgets& budgets = {}, RawAllocator* host_raw = nullptr,
                        RawAllocator* device_raw = nullptr, RawAllocator* stash_raw = nullptr);
  Arena& arena(Space s) { return *arenas_[static_cast<int>(s)]; }
  const Arena& arena(Space s) const { return *arenas_[static_cast<int>(s)]; }
  Arena& host() { return arena(Space::kHost); }
  Arena& device() { return arena(Space::kDevice); }
  Arena& stash() { return arena(Space::kStash); }
  Buffer alloc(Space s, std::size_t bytes, std::string_view what) { return Buffer(arena(s), bytes, what); }
  void reset_peaks();
  // One line per space: "device: 12.0 MiB in use, peak 40.0 MiB, budget 512.0 MiB".
  std::string summary() const;

 private:
  std::unique_ptr<Arena> arenas_[kNumSpaces];
};

}  // namespace strata
