// strata fit: train a hierarchical (or flat) classifier on a label tree and save it. Under mpirun the ranks share
// each forest's trees and end with one process's model; rank 0 alone prints and writes it.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/dist/process_group.h"
#include "strata/hier/baselines.h"
#include "strata/hier/hierarchical.h"

namespace strata::cli {

namespace {
struct FitArgs {
  std::string train, tree = "induced", out, routing = "soft";
  DataFlags data;
  LearnerFlags learner;
  InduceFlags induce;
  std::size_t per_class = 0;
  std::uint64_t seed = 0;
};
}  // namespace

void register_fit(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  CLI::App* sub = app.add_subcommand("fit", "fit a hierarchical classifier (or a flat one) and save it");
  sub->add_option("--train", a->train, "training data spec")->required();
  add_data_flags(sub, a->data, /*train_labels=*/true);
  sub->add_option("--tree", a->tree, "flat | induced | random (same group sizes as induced) | path/to/tree.json")
      ->default_val("induced");
  add_learner_flags(sub, a->learner);
  add_induce_flags(sub, a->induce);
  sub->add_option("--routing", a->routing, "prediction: soft (product rule) | hard (argmax path)")
      ->check(CLI::IsMember({"soft", "hard"}))
      ->default_val("soft");
  sub->add_option("--per-class", a->per_class, "subsample this many training examples per class (0: all)")
      ->check(int_range(0, kMaxCount));
  sub->add_option("--seed", a->seed, "random seed")->check(int_range(0, kMaxSeed))->default_val(0);
  sub->add_option("--out", a->out, "model file to write (.strata)")->required();
  sub->callback([a] {
    // Every rank loads, induces and fits alike (the same seed gives the same tree); only the trees are split.
    dist::ProcessGroup* group = dist::launched_by_mpi() ? &dist::world() : nullptr;
    const bool root = !group || group->is_root();
    ProgressSink quiet;  // the other ranks' events: rank 0 already says the same
    ProgressSink& sink = root ? progress_sink() : quiet;
    hier::InduceConfig icfg = induce_config(a->induce, a->seed, a->learner.threads);
    OutputSet outs;
    if (root) check_outputs(outs, {{"--out", a->out}});
    const bool tree_is_file = a->tree != "flat" && a->tree != "induced" && a->tree != "random";
    if (tree_is_file && !std::filesystem::exists(a->tree))
      bad_input("--tree: expected flat|induced|random or an existing tree.json, found '", a->tree, "'");
    data::Dataset ds = load_dataset(a->train, a->data, Split::kTrain);
    if (a->per_class) ds = data::subsample_per_class(ds, a->per_class, a->seed);
    LabelTree tree;
    if (a->tree == "flat") {
      tree = LabelTree::flat(ds.classes);
    } else if (tree_is_file) {
      tree = LabelTree::load(a->tree);
      if (tree.class_names != ds.classes)
        bad_input(a->tree, ": the tree's classes (", tree.num_classes(), ") differ from the data's classes (",
                  ds.num_classes(), ") or their order; expected \"classes\" = the sorted class names of ", a->train);
    } else {
      hier::InduceResult r = hier::induce(ds, icfg);
      sink.message(cat("induced ", r.k, " groups (", r.detail, ")"));
      tree = a->tree == "random" ? hier::random_tree_like(r.tree, derive_seed(a->seed, 7)) : r.tree;
    }
    hier::HierarchicalConfig hc;
    hc.learner = learner_config(a->learner, a->seed);
    hc.routing =
        a->routing == "hard" ? hier::HierarchicalConfig::Routing::kHard : hier::HierarchicalConfig::Routing::kSoft;
    hc.seed = a->seed;
    hc.threads = a->learner.threads;
    hier::HierarchicalClassifier clf(hc);
    clf.set_process_group(group);
    clf.fit(ds, tree, &sink);
    if (!root) return;
    clf.save(outs.staged(a->out));
    outs.commit();
    progress_sink().wrote(a->out, "model");
    std::cout << "fitted " << clf.num_node_models() << " node model(s) on " << ds.n << " examples in "
              << clf.fit_seconds() << " s; wrote " << a->out << "\n";
  });
}

}  // namespace strata::cli
