// strata induce: cluster the class-conditional distributions of a data set into a label tree.
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"

namespace strata::cli {

namespace {
struct InduceArgs {
  std::string train, out, svg, dot;
  DataFlags data;
  InduceFlags induce;
  std::uint64_t seed = 0;
  int threads = 0;
  std::size_t per_class = 0;
};

void print_groups(const LabelTree& t) {
  const auto& top = t.nodes[0].children;
  for (std::size_t g = 0; g < top.size(); ++g) {
    std::cout << "  group " << g << ":";
    for (int c : t.classes_under(top[g])) std::cout << " " << t.class_names[c] << ";";
    std::cout << "\n";
  }
}
}  // namespace

void register_induce(CLI::App& app) {
  auto a = std::make_shared<InduceArgs>();
  CLI::App* sub = app.add_subcommand("induce", "induce a label tree from the class-conditional distributions");
  sub->add_option("--train", a->train, "training data spec (fashion-mnist:train, path.csv, path.npy)")->required();
  add_data_flags(sub, a->data);
  add_induce_flags(sub, a->induce);
  sub->add_option("--per-class", a->per_class, "subsample this many examples per class first (0: all)")
      ->check(int_range(0, kMaxCount));
  sub->add_option("--seed", a->seed, "random seed")->check(int_range(0, kMaxSeed))->default_val(0);
  sub->add_option("--threads", a->threads, "worker threads (0: all cores)")->check(thread_range());
  sub->add_option("--out", a->out, "label tree JSON to write")->required();
  sub->add_option("--svg", a->svg, "also draw the tree as SVG");
  sub->add_option("--dot", a->dot, "also write the tree as Graphviz DOT");
  sub->callback([a] {
    hier::InduceConfig cfg = induce_config(a->induce, a->seed, a->threads);
    OutputSet outs;
    check_outputs(outs, {{"--out", a->out}, {"--svg", a->svg}, {"--dot", a->dot}});
    data::Dataset ds = load_dataset(a->train, a->data);
    if (a->per_class) ds = data::subsample_per_class(ds, a->per_class, a->seed);
    hier::InduceResult r = hier::induce(ds, cfg);
    r.tree.save(outs.staged(a->out));
    if (!a->svg.empty()) write_file_atomic(outs.staged(a->svg), r.tree.to_svg());
    if (!a->dot.empty()) write_file_atomic(outs.staged(a->dot), r.tree.to_dot());
    outs.commit();
    std::cout << "induced " << r.k << " top-level groups, depth " << r.tree.depth() << " (" << r.detail << ", "
              << r.seconds << " s)\n";
    print_groups(r.tree);
    std::cout << "wrote " << a->out << (a->svg.empty() ? "" : ", " + a->svg) << "\n";
  });
}

}  // namespace strata::cli
