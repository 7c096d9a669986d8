// .strata hierarchical model files (hier/hierarchical.cpp HierarchicalClassifier::load); a model that loads
// predicts one row of zeros.
#include <vector>

#include "fuzz_util.h"
#include "strata/hier/hierarchical.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("model.strata", fuzz::as_text(data, size));
  fuzz::expect_clean("hier model", [&] {
    const hier::HierarchicalClassifier m = hier::HierarchicalClassifier::load(path);
    if (m.num_features() > 4096 || m.num_classes() > 4096) return;
    const std::vector<float> x(m.num_features(), 0.0f);
    std::vector<float> proba(static_cast<std::size_t>(m.num_classes()));
    m.predict_proba(x.data(), 1, m.num_features(), proba.data());
  });
  return 0;
}
