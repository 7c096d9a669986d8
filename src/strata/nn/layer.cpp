// Slab layout helpers shared by the layers.
#include "strata/nn/layer.h"

namespace strata::nn {

std::size_t ParamSpec::numel() const {
  std::size_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

void add_param(std::vector<ParamSpec>& specs, std::size_t& next_offset, std::string name,
               std::vector<std::int64_t> shape) {
  ParamSpec s{std::move(name), std::move(shape), next_offset};
  next_offset += s.numel();
  specs.push_back(std::move(s));
}

}  // namespace strata::nn
