// Turning label text or integers into class ids with the house class order (numeric if every label is an
// integer, else lexicographic), optionally remapped to a caller-given class list; shared by every reader.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "strata/data/dataset.h"

namespace strata::data {

struct EncodedLabels {
  std::vector<std::int32_t> y;       // (n) class ids
  std::vector<std::string> classes;  // id -> name
};

// Labels given as text. Integers ("7", "-2", "+3", "3.0") compare by value and are named in canonical decimal,
// so "07" and "7" are one class; other labels sort lexicographically (bytewise).
EncodedLabels encode_text_labels(const std::vector<std::string>& raw);
// Labels given as integers: classes are the distinct values in increasing order.
EncodedLabels encode_int_labels(const std::vector<std::int64_t>& raw);

// Applies opts.classes (if any) by name, then requires at least 2 classes: present in the data when the class
// list came from the data, in opts.classes otherwise. Sets ds.classes and ds.y.
void finish_labels(Dataset& ds, EncodedLabels labels, const LoadOptions& opts, const std::string& where);

// Each row's label (y: ids into data_classes) as an id of model_classes, matched by name. A label the model never
// saw is bad_input naming the source, the row (1-based) and the label, and listing some of the model's classes.
std::vector<std::int32_t> labels_for_model(const std::vector<std::int32_t>& y,
                                           const std::vector<std::string>& data_classes,
                                           const std::vector<std::string>& model_classes, const std::string& source);

}  // namespace strata::data
