// strata evaluate: accuracy, balanced accuracy, hierarchical precision/recall/F1 and the confusion matrix
// of a saved model on a labelled data set.
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/hier/hierarchical.h"
#include "strata/hier/metrics.h"

namespace strata::cli {

namespace {
struct EvaluateArgs {
  std::string model, test, json;
  DataFlags flags;
};
}  // namespace

void register_evaluate(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* sub = app.add_subcommand("evaluate", "evaluate a saved model on labelled data");
  sub->add_option("--model", a->model, "model file from strata fit")->required();
  sub->add_option("--test,--data", a->test, "labelled data spec")->required();
  add_data_flags(sub, a->flags);
  sub->add_option("--json", a->json, "write the metrics as JSON");
  sub->callback([a] {
    hier::HierarchicalClassifier clf = hier::HierarchicalClassifier::load(a->model);
    data::Dataset ds = load_dataset(a->test, a->flags);
    if (ds.d != clf.num_features())
      bad_input(a->test, ": ", ds.d, " features, but the model ", a->model, " was fitted on ", clf.num_features());
    std::vector<int> truth = labels_for_model(ds, clf.classes());
    std::vector<int> pred = clf.predict(ds.x.data(), ds.n, ds.d);
    double acc = hier::accuracy(truth, pred), bacc = hier::balanced_accuracy(truth, pred);
    hier::HierPrf prf = hier::hierarchical_prf(truth, pred, clf.tree());
    Eigen::MatrixXi cm = hier::confusion_matrix(truth, pred, clf.num_classes());
    std::cout << std::fixed << std::setprecision(4) << "examples            " << ds.n << "\n"
              << "accuracy            " << acc << "\n"
              << "balanced accuracy   " << bacc << "\n"
              << "hierarchical P/R/F1 " << prf.precision << " / " << prf.recall << " / " << prf.f1 << "\n";
    if (!a->json.empty()) {
      nlohmann::json cmj = nlohmann::json::array();
      for (int i = 0; i < cm.rows(); ++i) {
        nlohmann::json row = nlohmann::json::array();
        for (int j = 0; j < cm.cols(); ++j) row.push_back(cm(i, j));
        cmj.push_back(row);
      }
      nlohmann::json j{{"examples", ds.n},
                       {"accuracy", acc},
                       {"balanced_accuracy", bacc},
                       {"hierarchical_precision", prf.precision},
                       {"hierarchical_recall", prf.recall},
                       {"hierarchical_f1", prf.f1},
                       {"classes", clf.classes()},
                       {"confusion_matrix", cmj}};
      write_file_atomic(a->json, j.dump(2) + "\n");
    }
  });
}

}  // namespace strata::cli
