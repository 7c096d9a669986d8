// Metrics: straightforward counting; the partition indices follow scikit-learn's definitions and special cases
// so figures compare one to one with the Python peers.
#include "strata/hier/metrics.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "strata/core/error.h"

namespace strata::hier {

namespace {

void check_pair(const std::vector<int>& a, const std::vector<int>& b, const char* what) {
  if (a.size() != b.size()) bad_input(what, ": label vectors differ in length (", a.size(), " vs ", b.size(), ")");
  if (a.empty()) bad_input(what, ": no labels");
}

// Dense relabelling 0..m-1 in order of first appearance; returns m.
int densify(const std::vector<int>& v, std::vector<int>& out) {
  std::map<int, int> id;
  out.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto it = id.emplace(v[i], static_cast<int>(id.size())).first;
    out[i] = it->second;
  }
  return static_cast<int>(id.size());
}

struct Contingency {
  int ra = 0, rb = 0;
  std::vector<double> cells;  // (ra, rb)
  std::vector<double> row, col;
};

Contingency contingency(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> da, db;
  Contingency c;
  c.ra = densify(a, da);
  c.rb = densify(b, db);
  c.cells.assign(static_cast<std::size_t>(c.ra) * c.rb, 0.0);
  c.row.assign(c.ra, 0.0);
  c.col.assign(c.rb, 0.0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    c.cells[static_cast<std::size_t>(da[i]) * c.rb + db[i]] += 1;
    c.row[da[i]] += 1;
    c.col[db[i]] += 1;
  }
  return c;
}

double comb2(double n) { return n * (n - 1) / 2; }

}  // namespace

double accuracy(const std::vector<int>& y_true, const std::vector<int>& y_pred) {
  check_pair(y_true, y_pred, "accuracy");
  std::size_t hit = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) hit += y_true[i] == y_pred[i];
  return static_cast<double>(hit) / static_cast<double>(y_true.size());
}

double balanced_accuracy(const std::vector<int>& y_true, const std::vector<int>& y_pred) {
  check_pair(y_true, y_pred, "balanced_accuracy");
  std::map<int, std::pair<std::size_t, std::size_t>> per;  // class -> (hits, total)
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    auto& p = per[y_true[i]];
    p.first += y_true[i] == y_pred[i];
    p.second += 1;
  }
  double s = 0;
  for (const auto& [c, p] : per) s += static_cast<double>(p.first) / static_cast<double>(p.second);
  return s / static_cast<double>(per.size());
}

Eigen::MatrixXi confusion_matrix(const std::vector<int>& y_true, const std::vector<int>& y_pred, int num_classes) {
  check_pair(y_true, y_pred, "confusion_matrix");
  if (num_classes <= 0) bad_input("confusion_matrix: num_classes must be positive, got ", num_classes);
  Eigen::MatrixXi m = Eigen::MatrixXi::Zero(num_classes, num_classes);
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    int t = y_true[i], p = y_pred[i];
    if (t < 0 || t >= num_classes || p < 0 || p >= num_classes)
      bad_input("confusion_matrix: label pair (", t, ", ", p, ") at index ", i, " outside [0, ", num_classes, ")");
    m(t, p) += 1;
  }
  return m;
}

double learning_efficiency(double err_flat, double err_hier) {
  if (err_hier == 0)
    return err_flat == 0 ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  return err_flat / err_hier;
}

double adjusted_rand_index(const std::vector<int>& a, const std::vector<int>& b) {
  check_pair(a, b, "adjusted_rand_index");
  Contingency c = contingency(a, b);
  const double n = static_cast<double>(a.size());
  // scikit-learn's special cases: one cluster each, or every item its own cluster in both.
  if ((c.ra == 1 && c.rb == 1) || (c.ra == c.rb && c.ra == static_cast<int>(a.size()))) return 1.0;
  double index = 0, sa = 0, sb = 0;
  for (double v : c.cells) index += comb2(v);
  for (double v : c.row) sa += comb2(v);
  for (double v : c.col) sb += comb2(v);
  const double expected = sa * sb / comb2(n);
  const double max_index = 0.5 * (sa + sb);
  if (max_index == expected) return 1.0;
  return (index - expected) / (max_index - expected);
}

double normalized_mutual_info(const std::vector<int>& a, const std::vector<int>& b) {
  check_pair(a, b, "normalized_mutual_info");
  Contingency c = contingency(a, b);
  if (c.ra == 1 && c.rb == 1) return 1.0;
  const double n = static_cast<double>(a.size());
  auto entropy = [&](const std::vector<double>& m) {
    double h = 0;
    for (double v : m)
      if (v > 0) h -= (v / n) * std::log(v / n);
    return h;
  };
  double mi = 0;
  for (int i = 0; i < c.ra; ++i)
    for (int j = 0; j < c.rb; ++j) {
      double v = c.cells[static_cast<std::size_t>(i) * c.rb + j];
      if (v > 0) mi += (v / n) * std::log(v * n / (c.row[i] * c.col[j]));
    }
  const double norm = 0.5 * (entropy(c.row) + entropy(c.col));
  if (norm <= 0) return 1.0;  // unreachable unless both are single clusters (handled above)
  return std::clamp(mi / norm, 0.0, 1.0);
}

HierPrf hierarchical_prf(const std::vector<int>& y_true, const std::vector<int>& y_pred, const LabelTree& tree) {
  check_pair(y_true, y_pred, "hierarchical_prf");
  const int k = tree.num_classes();
  const std::vector<int> leaf = tree.leaf_of_class();
  // Ancestor sets (without the root) of each class, sorted for set intersection.
  std::vector<std::vector<int>> anc(k);
  for (int c = 0; c < k; ++c) {
    if (leaf[c] < 0) bad_input("hierarchical_prf: class ", c, " has no leaf in the tree");
    for (int v : tree.path_to_root(leaf[c]))
      if (v != tree.root()) anc[c].push_back(v);
    std::sort(anc[c].begin(), anc[c].end());
  }
  double inter = 0, npred = 0, ntrue = 0;
  std::vector<int> tmp;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    int t = y_true[i], p = y_pred[i];
    if (t < 0 || t >= k || p < 0 || p >= k)
      bad_input("hierarchical_prf: label pair (", t, ", ", p, ") at index ", i, " outside [0, ", k, ")");
    tmp.clear();
    std::set_intersection(anc[t].begin(), anc[t].end(), anc[p].begin(), anc[p].end(), std::back_inserter(tmp));
    inter += static_cast<double>(tmp.size());
    ntrue += static_cast<double>(anc[t].size());
    npred += static_cast<double>(anc[p].size());
  }
  HierPrf r;
  r.precision = npred > 0 ? inter / npred : 0;
  r.recall = ntrue > 0 ? inter / ntrue : 0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;
  return r;
}

MeanSe mean_se(const std::vector<double>& values) {
  if (values.empty()) bad_input("mean_se: no values");
  const double n = static_cast<double>(values.size());
  double m = 0;
  for (double v : values) m += v;
  m /= n;
  if (values.size() == 1) return {m, 0.0};
  double ss = 0;
  for (double v : values) ss += (v - m) * (v - m);
  return {m, std::sqrt(ss / (n - 1)) / std::sqrt(n)};
}

}  // namespace strata::hier
