// strata predict: class predictions (and probabilities) of a saved model for a data set, as CSV. The data may be
// unlabelled: a .npy without --labels, a CSV without a label column (or --no-labels).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/data/csv.h"
#include "strata/data/file_bytes.h"
#include "strata/hier/hierarchical.h"
#include "strata/hier/metrics.h"

namespace strata::cli {

namespace {
struct PredictArgs {
  std::string model, data, out;
  DataFlags flags;
  bool proba = false, no_labels = false;
};

// Whether the data carry labels: --no-labels says no; a .npy has them iff --labels names them; a CSV/TSV has none
// when it has no "label" column, none was named, and its column count is the model's feature count.
bool has_labels(const PredictArgs& a, std::size_t model_features) {
  if (a.no_labels) return false;
  const std::string ext = data::data_extension(a.data);
  if (ext == ".npy") return !a.flags.labels.empty();
  if ((ext == ".csv" || ext == ".tsv" || ext == ".tab") && a.flags.label_column.empty()) {
    const auto cols = data::csv_columns(a.data, ext == ".csv" ? ',' : '\t');
    const bool named = std::find(cols.begin(), cols.end(), std::string("label")) != cols.end();
    return named || cols.size() != model_features;
  }
  return true;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}
}  // namespace

void register_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* sub = app.add_subcommand("predict", "predict classes with a saved model; write CSV");
  sub->add_option("--model", a->model, "model file from strata fit")->required();
  sub->add_option("--data", a->data, "data spec to predict")->required();
  add_data_flags(sub, a->flags);
  sub->add_flag("--no-labels", a->no_labels,
                "the data have no labels (CSV: every column is a feature); automatic for a .npy without --labels "
                "and a CSV with as many columns as the model has features and none named 'label'");
  sub->add_flag("--proba", a->proba, "also write one probability column per class (sorted class order)");
  sub->add_option("--out", a->out, "predictions CSV to write")->required();
  sub->callback([a] {
    OutputSet outs;
    check_outputs(outs, {{"--out", a->out}});
    hier::HierarchicalClassifier clf = hier::HierarchicalClassifier::load(a->model);
    const bool labelled = has_labels(*a, clf.num_features());
    data::Dataset ds = load_dataset(a->data, a->flags, Split::kAny, !labelled);
    if (ds.d != clf.num_features())
      bad_input(a->data, ": ", ds.d, " features, but the model ", a->model, " was fitted on ", clf.num_features());
    const std::size_t K = clf.classes().size();
    std::vector<float> proba(ds.n * K);  // (n, K)
    clf.predict_proba(ds.x.data(), ds.n, ds.d, proba.data());
    std::vector<int> pred = clf.predict(ds.x.data(), ds.n, ds.d);
    std::ostringstream os;
    os << (labelled ? "row,predicted,label" : "row,predicted");
    if (a->proba)
      for (const auto& c : clf.classes()) os << "," << csv_field("p_" + c);
    os << "\n" << std::setprecision(6);
    for (std::size_t i = 0; i < ds.n; ++i) {
      os << i << "," << csv_field(clf.classes()[pred[i]]);
      if (labelled) os << "," << csv_field(ds.classes[ds.y[i]]);
      if (a->proba)
        for (std::size_t k = 0; k < K; ++k) os << "," << proba[i * K + k];
      os << "\n";
    }
    write_file_atomic(outs.staged(a->out), os.str());
    outs.commit();
    if (!labelled) {
      std::cout << "predicted " << ds.n << " unlabelled examples; wrote " << a->out << "\n";
      return;
    }
    std::size_t agree = 0;
    for (std::size_t i = 0; i < ds.n; ++i) agree += clf.classes()[pred[i]] == ds.classes[ds.y[i]];
    std::cout << "predicted " << ds.n << " examples (accuracy against the data's labels " << std::fixed
              << std::setprecision(4) << static_cast<double>(agree) / ds.n << "); wrote " << a->out << "\n";
  });
}

}  // namespace strata::cli
