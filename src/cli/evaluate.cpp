// strata evaluate: for a hierarchical model file (strata fit), accuracy, balanced accuracy, hierarchical
// precision/recall/F1 and the confusion matrix on a labelled data set; for a trained text model (a checkpoint
// directory from strata train), accuracy and loss on a split of a text or synthetic data set.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "strata/app/trainer.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/data/labels.h"
#include "strata/hier/hierarchical.h"
#include "strata/hier/metrics.h"

namespace strata::cli {

namespace {
struct EvaluateArgs {
  std::string model, test, json, split = "test";
  int seq_len = 0, threads = 0;
  DataFlags flags;
};

void evaluate_text_model(const EvaluateArgs& a, OutputSet& outs) {
  app::LoadedModel lm = app::load_model_dir(a.model, a.threads);
  const int T = a.seq_len > 0 ? a.seq_len : lm.seq_len;
  app::TokenData td = app::load_token_data(a.test, a.split, lm.tokenizer_path, T, lm.seed);
  if (td.tokens.n == 0) bad_input(a.test, ": the ", a.split, " split is empty");
  if (td.tokens.vocab > lm.config.vocab_size)
    bad_input(a.test, ": token ids up to ", td.tokens.vocab - 1, " but the model's vocabulary has ",
              lm.config.vocab_size);
  const std::vector<std::int32_t> labels = app::labels_for_model(td.tokens, lm.config, td.source);
  const app::EvalResult r = app::evaluate(*lm.executor, td.tokens, labels);
  std::cout << std::fixed << std::setprecision(4) << "examples            " << r.examples << "\n"
            << "accuracy            " << r.accuracy << "\n"
            << "loss                " << r.loss << "\n"
            << "truncated texts     " << td.truncated << "\n";
  if (!a.json.empty()) {
    nlohmann::json j{
        {"examples", r.examples}, {"accuracy", r.accuracy}, {"loss", r.loss}, {"truncated_texts", td.truncated},
        {"split", a.split},       {"seq_len", T},           {"data", a.test}, {"model", a.model}};
    write_file_atomic(outs.staged(a.json), j.dump(2) + "\n");
  }
  outs.commit();
}
}  // namespace

void register_evaluate(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* sub = app.add_subcommand("evaluate", "evaluate a saved model on labelled data");
  sub->add_option("--model", a->model, "model file from strata fit, or a directory from strata train --save")
      ->required();
  sub->add_option("--test,--data", a->test, "labelled data spec")->required();
  add_data_flags(sub, a->flags, /*train_labels=*/false, /*test_labels=*/true);
  sub->add_option("--json", a->json, "write the metrics as JSON");
  sub->add_option("--split", a->split, "text models: train | test | all")
      ->default_val("test")
      ->check(CLI::IsMember({"train", "test", "all"}));
  sub->add_option("--seq-len", a->seq_len, "text models: tokens per row (0: the training --seq-len)")
      ->check(int_range(0, 1'000'000));
  sub->add_option("--threads", a->threads, "text models: compute threads (0: all cores)")
      ->check(thread_range())
      ->default_val(0);
  sub->callback([a] {
    OutputSet outs;
    check_outputs(outs, {{"--json", a->json}});
    if (std::filesystem::is_directory(a->model)) return evaluate_text_model(*a, outs);
    hier::HierarchicalClassifier clf = hier::HierarchicalClassifier::load(a->model);
    data::Dataset ds = load_dataset(a->test, a->flags, Split::kTest);
    if (ds.d != clf.num_features())
      bad_input(a->test, ": ", ds.d, " features, but the model ", a->model, " was fitted on ", clf.num_features());
    const std::vector<std::int32_t> y = data::labels_for_model(ds.y, ds.classes, clf.classes(), ds.source);
    std::vector<int> truth(y.begin(), y.end());
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
      write_file_atomic(outs.staged(a->json), j.dump(2) + "\n");
    }
    outs.commit();
  });
}

}  // namespace strata::cli
