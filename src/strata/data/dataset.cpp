// Dataset helpers and the spec dispatcher behind data::load.
#include "strata/data/dataset.h"

#include <algorithm>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/data/csv.h"
#include "strata/data/file_bytes.h"
#include "strata/data/idx.h"
#include "strata/data/npy.h"

namespace strata::data {
namespace {

constexpr const char* kAcceptedSpecs =
    "fashion-mnist:train, fashion-mnist:test, idx:IMAGES,LABELS, PATH.csv, PATH.tsv or PATH.npy "
    "(each file optionally gzip-compressed, PATH.csv.gz)";

}  // namespace

std::vector<std::size_t> Dataset::class_counts() const {
  std::vector<std::size_t> counts(classes.size(), 0);
  for (auto c : y) ++counts[static_cast<std::size_t>(c)];
  return counts;
}

Dataset Dataset::subset(const std::vector<std::size_t>& idx) const {
  Dataset out;
  out.n = idx.size();
  out.d = d;
  out.classes = classes;
  out.source = source;
  out.x.resize(out.n * d);
  out.y.resize(out.n);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    STRATA_CHECK(idx[k] < n, "subset: row ", idx[k], " of a data set with ", n, " rows");
    std::copy_n(row(idx[k]), d, out.x.data() + k * d);
    out.y[k] = y[idx[k]];
  }
  return out;
}

std::vector<std::string> Dataset::label_names() const {
  std::vector<std::string> names(n);
  for (std::size_t i = 0; i < n; ++i) names[i] = classes[static_cast<std::size_t>(y[i])];
  return names;
}

Dataset load(const std::string& spec, const LoadOptions& opts) {
  if (spec.empty()) bad_input("no data spec given; expected one of ", kAcceptedSpecs);
  Dataset ds;
  if (spec.rfind("fashion-mnist", 0) == 0) {
    if (spec.size() == 13 || spec[13] != ':')
      bad_input("data spec '", spec, "': expected fashion-mnist:train or fashion-mnist:test");
    if (!opts.label_column.empty() || !opts.labels_path.empty() || opts.missing != Missing::kRefuse)
      bad_input("data spec '", spec, "': label column, labels file and --missing do not apply to fashion-mnist");
    ds = load_fashion_mnist(spec.substr(14), opts);
  } else if (spec.rfind("idx:", 0) == 0) {
    const std::string rest = spec.substr(4);
    const std::size_t comma = rest.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == rest.size())
      bad_input("data spec '", spec, "': expected idx:IMAGES,LABELS (two IDX file paths separated by a comma)");
    if (!opts.label_column.empty() || !opts.labels_path.empty() || opts.missing != Missing::kRefuse)
      bad_input("data spec '", spec, "': label column, labels file and --missing do not apply to IDX files");
    ds = load_idx(rest.substr(0, comma), rest.substr(comma + 1), opts);
  } else {
    const std::string ext = data_extension(spec);
    if (ext == ".csv")
      ds = load_csv(spec, opts, ',');
    else if (ext == ".tsv" || ext == ".tab")
      ds = load_csv(spec, opts, '\t');
    else if (ext == ".npy")
      ds = load_npy(spec, opts);
    else
      bad_input("unknown data spec '", spec, "'", ext.empty() ? "" : cat(" (extension ", ext, ")"),
                "; expected one of ", kAcceptedSpecs);
  }
  ds.source = spec;
  return ds;
}

Dataset subsample_per_class(const Dataset& ds, std::size_t per_class, std::uint64_t seed) {
  if (per_class == 0) bad_input("subsample: examples per class must be at least 1");
  std::vector<std::vector<std::size_t>> rows_of(ds.classes.size());
  for (std::size_t i = 0; i < ds.n; ++i) rows_of[static_cast<std::size_t>(ds.y[i])].push_back(i);
  std::vector<char> keep(ds.n, 0);
  for (std::size_t c = 0; c < rows_of.size(); ++c) {
    auto& rows = rows_of[c];
    if (rows.size() <= per_class) {
      for (auto i : rows) keep[i] = 1;
      continue;
    }
    // A partial Fisher-Yates shuffle; each class its own stream so one class's draw does not depend on another's.
    Rng rng(derive_seed(seed, c));
    for (std::size_t k = 0; k < per_class; ++k) {
      const std::size_t j = k + static_cast<std::size_t>(rng.below(rows.size() - k));
      std::swap(rows[k], rows[j]);
      keep[rows[k]] = 1;
    }
  }
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < ds.n; ++i)
    if (keep[i]) idx.push_back(i);
  return ds.subset(idx);
}

}  // namespace strata::data
