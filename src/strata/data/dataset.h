// A labelled data set of dense float32 features: the input of every hier estimator.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strata::data {

struct Dataset {
  std::size_t n = 0;                  // examples
  std::size_t d = 0;                  // features
  std::vector<float> x;               // (n, d) row-major
  std::vector<std::int32_t> y;        // (n) class ids in [0, classes.size())
  std::vector<std::string> classes;   // class names; id order = sorted label order (numeric if all labels are integers)
  std::string source;                 // the spec it was read from, for messages

  const float* row(std::size_t i) const { return x.data() + i * d; }
  int num_classes() const { return static_cast<int>(classes.size()); }
  std::vector<std::size_t> class_counts() const;
  // Rows [idx...] as a new data set with the same classes (class ids unchanged).
  Dataset subset(const std::vector<std::size_t>& idx) const;
};

enum class Missing { kRefuse, kMean, kZero };

struct LoadOptions {
  std::string label_column;   // csv: overrides "label"/last column
  Missing missing = Missing::kRefuse;
  std::string labels_path;    // npy: labels from .npy or .txt (one per line)
};

// Reads a data set from a spec: "fashion-mnist:train", "fashion-mnist:test", "path.csv", "path.npy".
// Throws strata::Error (bad input, exit 2) naming the file, line/offset, what was expected and what was found.
// Requires at least 2 classes.
Dataset load(const std::string& spec, const LoadOptions& opts = {});

// At most per_class examples of each class, drawn without replacement with the seed; keeps the original row order.
Dataset subsample_per_class(const Dataset& ds, std::size_t per_class, std::uint64_t seed);

}  // namespace strata::data
