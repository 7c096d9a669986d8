// A labelled data set of dense float32 features: the input of every hier estimator.
// load() reads one from a spec (fashion-mnist, IDX, CSV/TSV, NumPy .npy); save_npy/save_labels_txt write the
// .npy + labels.txt pair that load() reads back, which is how other modules hand embeddings around.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strata::data {

struct Dataset {
  std::size_t n = 0;                 // examples
  std::size_t d = 0;                 // features
  std::vector<float> x;              // (n, d) row-major
  std::vector<std::int32_t> y;       // (n) class ids in [0, classes.size())
  std::vector<std::string> classes;  // class names; id order = sorted label order (numeric if all labels are integers)
  std::string source;                // the spec it was read from, for messages

  const float* row(std::size_t i) const { return x.data() + i * d; }
  int num_classes() const { return static_cast<int>(classes.size()); }
  std::vector<std::size_t> class_counts() const;  // (classes.size()) examples per class id
  // Rows [idx...] as a new data set with the same classes (class ids unchanged).
  Dataset subset(const std::vector<std::size_t>& idx) const;
  // One class name per row (classes[y[i]]): what save_labels_txt writes.
  std::vector<std::string> label_names() const;
};

enum class Missing { kRefuse, kMean, kZero };

struct LoadOptions {
  std::string label_column;  // csv: overrides "label"/last column
  Missing missing = Missing::kRefuse;
  std::string labels_path;  // npy: labels from .npy or .txt (one per line)
  // If non-empty, class ids follow this order instead of the sorted labels found in the file, and every label
  // must be one of these names. Use it to load a test split with the ids of its training split (a split that
  // lacks a class would otherwise shift the ids), or to read back embeddings saved from a named data set.
  std::vector<std::string> classes;
  // Features only (strata predict on unlabelled data): a CSV's every column is a feature and a .npy needs no labels
  // file; the data set's y and classes stay empty.
  bool unlabelled = false;
};

// Reads a data set from a spec:
//   fashion-mnist:train, fashion-mnist:test   gzip IDX files in $STRATA_FASHION_MNIST_DIR, else
//                                             /usr/share/datasets/fashion-mnist; pixels scaled to [0, 1]
//   idx:IMAGES,LABELS                         any IDX pair (gzip or not); pixels scaled to [0, 1]
//   PATH.csv, PATH.tsv                        header row; label column "label", else the last one
//   PATH.npy                                  features; labels from opts.labels_path (.npy or .txt)
// Every file may also be gzip-compressed (PATH.csv.gz, ...).
// Throws strata::Error (bad input, exit 2) naming the file, line/offset, what was expected and what was found.
// Requires at least 2 classes (present in the data, unless opts.classes fixes the class list).
Dataset load(const std::string& spec, const LoadOptions& opts = {});

// At most per_class examples of each class, drawn without replacement with the seed; keeps the original row order.
Dataset subsample_per_class(const Dataset& ds, std::size_t per_class, std::uint64_t seed);

// Writes x (n, d) as a NumPy .npy (v1.0, '<f4', C order) atomically (temporary name, then rename).
void save_npy(const std::string& path, const float* x, std::size_t n, std::size_t d);
// Writes one label per line (the .txt labels file load() accepts with a .npy) atomically.
// Names must be non-empty and hold no line breaks.
void save_labels_txt(const std::string& path, const std::vector<std::string>& names_per_row);

}  // namespace strata::data
