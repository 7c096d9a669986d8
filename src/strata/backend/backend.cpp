// Backend parts common to all backends: bounds-checked buffer copies, traffic counters, and the factory over the
// backends registered in this build.
#include "strata/backend/backend.h"

#include "strata/backend/registry.h"
#include "strata/core/error.h"

namespace strata::backend {

Event Backend::copy_async(Buffer& dst, std::size_t dst_offset, const Buffer& src, std::size_t src_offset,
                          std::size_t bytes) {
  STRATA_CHECK(dst_offset <= dst.bytes() && bytes <= dst.bytes() - dst_offset, "copy of ", bytes, " bytes at offset ",
               dst_offset, " overruns the ", dst.bytes(), "-byte destination buffer");
  STRATA_CHECK(src_offset <= src.bytes() && bytes <= src.bytes() - src_offset, "copy of ", bytes, " bytes at offset ",
               src_offset, " overruns the ", src.bytes(), "-byte source buffer");
  if (bytes == 0) return Event();
  return copy_async(dst.as<char>() + dst_offset, dst.space(), src.as<const char>() + src_offset, src.space(), bytes);
}

Event Backend::copy_async(Buffer& dst, const Buffer& src) {
  STRATA_CHECK(dst.bytes() == src.bytes(), "copy between buffers of different sizes: ", src.bytes(), " -> ",
               dst.bytes(), " bytes");
  return copy_async(dst, 0, src, 0, src.bytes());
}

void Backend::count_copy(Space dst, Space src, std::size_t bytes) {
  copies_.fetch_add(1);
  if (dst == Space::kDevice && src == Space::kDevice)
    within_device_.fetch_add(bytes);
  else if (dst == Space::kDevice)
    to_device_.fetch_add(bytes);
  else if (src == Space::kDevice)
    from_device_.fetch_add(bytes);
  else
    host_side_.fetch_add(bytes);
}

Traffic Backend::traffic() const {
  Traffic t;
  t.to_device = to_device_.load();
  t.from_device = from_device_.load();
  t.within_device = within_device_.load();
  t.host_side = host_side_.load();
  t.copies = copies_.load();
  return t;
}

void Backend::reset_traffic() {
  to_device_.store(0);
  from_device_.store(0);
  within_device_.store(0);
  host_side_.store(0);
  copies_.store(0);
}

namespace {
std::string always_available() { return {}; }

const BackendEntry kBackends[] = {
    {"cpu", make_cpu_backend, always_available},
#if defined(STRATA_HAVE_CUDA)
    {"cuda", make_cuda_backend, cuda_unavailable},
#endif
};
}  // namespace

std::span<const BackendEntry> registered_backends() { return kBackends; }

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options) {
  for (const BackendEntry& e : registered_backends()) {
    if (name != e.name) continue;
    if (const std::string why = e.unavailable(); !why.empty()) bad_input("backend '", name, "': ", why);
    return e.make(options);
  }
  if (name == "cuda") bad_input("backend 'cuda': this build has no CUDA backend (configure with -DSTRATA_CUDA=ON)");
  std::string known;
  for (const BackendEntry& e : registered_backends()) known += (known.empty() ? "" : ", ") + std::string(e.name);
  bad_input("unknown backend '", name, "' (this build has: ", known, ")");
}

}  // namespace strata::backend
