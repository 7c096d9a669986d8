// strata compare: flat (matched resources) vs induced vs random vs true tree, over several seeds, under strata's
// resource matching or the authors' preset (--preset authors); hierarchical rows also report their coarse
// (top-level) accuracy and fine accuracy given the right group. Under mpirun
// the seeds are spread over the ranks; rank 0 alone prints and writes the results, which are one process's.
#include <iostream>
#include <map>
#include <memory>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/dist/process_group.h"
#include "strata/hier/experiment.h"

namespace strata::cli {

namespace {
struct CompareArgs {
  std::string train, test, true_tree, json, svg;
  DataFlags data;
  LearnerFlags learner;
  InduceFlags induce;
  std::size_t per_class = 0;
  int seeds = 10;
  std::uint64_t seed = 0;
  std::string preset = "strata";
  hier::NodeForests nodes;
};

void add_preset_options(CLI::App* sub, CompareArgs& a) {
  sub->add_option("--preset", a.preset,
                  "strata (defaults) | authors (25 coarse / 10 fine trees, depth 10, flat at depth 10); "
                  "explicit --trees / --max-depth / --coarse-trees / --flat-depth win")
      ->check(CLI::IsMember({"strata", "authors"}))
      ->default_val("strata");
  sub->add_option("--coarse-trees", a.nodes.coarse_trees, "forest: trees of the coarse (root) model (0: --trees)")
      ->check(int_range(0, 100000))
      ->default_val(0);
  sub->add_option("--flat-depth", a.nodes.flat_match,
                  "flat forest depth: path (node depth x decision levels) | node (one node's depth)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, hier::FlatMatch>{{"path", hier::FlatMatch::kPath}, {"node", hier::FlatMatch::kNode}}))
      ->default_val("path");
}

// The preset's node forests where the flags were not given.
void apply_preset(CLI::App* sub, CompareArgs& a) {
  const hier::Preset p = hier::preset(a.preset);
  if (p.name == "strata") return;
  if (!sub->count("--trees")) a.learner.trees = p.learner.forest.n_trees;
  if (!sub->count("--max-depth")) a.learner.max_depth = p.learner.forest.max_depth;
  if (!sub->count("--coarse-trees")) a.nodes.coarse_trees = p.nodes.coarse_trees;
  if (!sub->count("--flat-depth")) a.nodes.flat_match = p.nodes.flat_match;
}
}  // namespace

void register_compare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* sub = app.add_subcommand("compare", "compare flat, induced-tree, random-tree (and true-tree) classifiers");
  sub->add_option("--train", a->train, "training data spec")->required();
  sub->add_option("--test", a->test, "test data spec")->required();
  add_data_flags(sub, a->data, /*train_labels=*/true, /*test_labels=*/true);
  add_learner_flags(sub, a->learner);
  add_induce_flags(sub, a->induce);
  sub->add_option("--per-class", a->per_class, "subsample this many training examples per class, per seed (0: all)")
      ->check(int_range(0, kMaxCount));
  sub->add_option("--seeds", a->seeds, "replicates (different subsamples and model seeds)")
      ->check(int_range(1, 100000))
      ->default_val(10);
  sub->add_option("--seed", a->seed, "base random seed")->check(int_range(0, kMaxSeed))->default_val(0);
  sub->add_option("--true-tree", a->true_tree, "a known label tree (JSON) to compare against");
  sub->add_option("--json", a->json, "write the results as JSON");
  sub->add_option("--svg", a->svg, "draw the tree induced with the first seed as SVG");
  add_preset_options(sub, *a);
  sub->callback([a, sub] {
    apply_preset(sub, *a);
    hier::CompareConfig cfg;
    cfg.nodes = a->nodes;
    cfg.learner = learner_config(a->learner, a->seed);
    cfg.induce = induce_config(a->induce, a->seed, a->learner.threads);
    cfg.per_class = a->per_class;
    cfg.seeds = a->seeds;
    cfg.seed = a->seed;
    cfg.threads = a->learner.threads;
    dist::ProcessGroup* group = dist::launched_by_mpi() ? &dist::world() : nullptr;
    const bool root = !group || group->is_root();
    OutputSet outs;
    if (root) check_outputs(outs, {{"--json", a->json}, {"--svg", a->svg}});
    if (!a->true_tree.empty()) cfg.true_tree = LabelTree::load(a->true_tree);
    data::Dataset train = load_dataset(a->train, a->data, Split::kTrain);
    data::Dataset test = load_dataset(a->test, a->data, Split::kTest);
    ProgressSink quiet;  // the other ranks report the same seeds as rank 0: it alone speaks
    hier::CompareResult r = hier::run_compare(train, test, cfg, root ? progress_sink() : quiet, group);
    if (!root) return;
    std::cout << r.to_table();
    if (!a->json.empty()) write_file_atomic(outs.staged(a->json), r.to_json());
    const bool svg = !a->svg.empty() && !r.induced_trees.empty();
    if (svg) write_file_atomic(outs.staged(a->svg), r.induced_trees[0].to_svg());
    outs.commit();
    if (!a->json.empty()) progress_sink().wrote(a->json, "results");
    if (svg) progress_sink().wrote(a->svg, "induced tree");
  });
}

}  // namespace strata::cli
