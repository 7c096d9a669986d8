// The induction pipeline. Representations come as points (class means), a dissimilarity (MMD) or a similarity
// (task similarity); the embedding step turns any of them into points; clustering turns points into a partition
// (GMM/k-means, a depth-2 tree) or a dendrogram (agglomerative, a multi-level binary tree).
#include "strata/hier/induce.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "strata/core/error.h"
#include "strata/hier/agglomerative.h"
#include "strata/hier/conditional.h"
#include "strata/hier/embed.h"
#include "strata/hier/kmeans.h"

namespace strata::hier {

namespace {

Eigen::MatrixXd pairwise_distances(const Eigen::MatrixXd& X) {
  const Eigen::Index n = X.rows();
  Eigen::MatrixXd D(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) D(i, j) = (X.row(i) - X.row(j)).norm();
  return D;
}

// Similarity from a dissimilarity for ASE: a Gaussian kernel with the median off-diagonal distance as scale.
Eigen::MatrixXd kernel_similarity(const Eigen::MatrixXd& D) {
  std::vector<double> off;
  for (Eigen::Index i = 0; i < D.rows(); ++i)
    for (Eigen::Index j = i + 1; j < D.cols(); ++j) off.push_back(D(i, j));
  std::nth_element(off.begin(), off.begin() + off.size() / 2, off.end());
  double med = off.empty() ? 1.0 : std::max(off[off.size() / 2], 1e-12);
  return (-(D.array().square()) / (2 * med * med)).exp().matrix();
}

}  // namespace

void validate(const InduceConfig& cfg) {
  static const std::set<std::string> kMethods{"means", "mmd", "tasksim"}, kEmbeds{"none", "cmds", "ase"},
      kClusters{"gmm", "agglomerative", "kmeans"};
  if (!kMethods.count(cfg.method)) bad_input("--method: expected means|mmd|tasksim, found '", cfg.method, "'");
  if (!kEmbeds.count(cfg.embed)) bad_input("--embed: expected none|cmds|ase, found '", cfg.embed, "'");
  if (!kClusters.count(cfg.cluster))
    bad_input("--cluster: expected gmm|agglomerative|kmeans, found '", cfg.cluster, "'");
  parse_linkage(cfg.linkage);
  if (cfg.k_min < 1) bad_input("--k-min: expected >= 1, found ", cfg.k_min);
  if (cfg.k_max != 0 && cfg.k_max < cfg.k_min)
    bad_input("--k-max: expected >= --k-min (", cfg.k_min, "), found ", cfg.k_max);
  if (cfg.dims < 0) bad_input("--dims: expected >= 0, found ", cfg.dims);
  if (cfg.negatives < 1) bad_input("--negatives: expected >= 1, found ", cfg.negatives);
  if (!(cfg.reg_covar >= 0)) bad_input("--reg-covar: expected >= 0, found ", cfg.reg_covar);
  if (cfg.covariances.empty()) bad_input("--covariance: at least one covariance type is needed");
  if (cfg.method != "means" && cfg.embed == "none" && cfg.cluster != "agglomerative")
    bad_input("--method ", cfg.method, " gives a (dis)similarity matrix, not points: --cluster ", cfg.cluster,
              " needs --embed cmds|ase (or use --cluster agglomerative)");
}

double silhouette(const Eigen::MatrixXd& X, const std::vector<int>& labels) {
  const int n = static_cast<int>(X.rows());
  int k = 0;
  for (int l : labels) k = std::max(k, l + 1);
  if (k < 2 || n <= k) return -1.0;
  Eigen::MatrixXd D = pairwise_distances(X);
  std::vector<int> size(k, 0);
  for (int l : labels) size[l]++;
  double total = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> sum(k, 0.0);
    for (int j = 0; j < n; ++j)
      if (j != i) sum[labels[j]] += D(i, j);
    int own = labels[i];
    if (size[own] == 1) continue;  // silhouette 0 by convention
    double a = sum[own] / (size[own] - 1), b = INFINITY;
    for (int c = 0; c < k; ++c)
      if (c != own && size[c] > 0) b = std::min(b, sum[c] / size[c]);
    total += (b - a) / std::max(a, b);
  }
  return total / n;
}

InduceResult induce(const data::Dataset& ds, const InduceConfig& cfg) {
  validate(cfg);
  auto t0 = std::chrono::steady_clock::now();
  const int K = ds.num_classes();
  if (K < 2) bad_input(ds.source, ": at least 2 classes are needed to induce a hierarchy, found ", K);
  InduceResult res;

  // 1. Representation: points (means) or a K x K matrix.
  Eigen::MatrixXd points, dissim, sim;
  if (cfg.method == "means") {
    points = class_means(ds, cfg.pca_dims, cfg.seed);
    dissim = pairwise_distances(points);
  } else if (cfg.method == "mmd") {
    dissim = mmd_matrix(ds, cfg.max_per_class, cfg.seed, cfg.threads);
  } else {
    sim = task_similarity(ds, cfg.negatives, cfg.seed, 4, cfg.max_per_class, cfg.threads);
    dissim = (1.0 - sim.array()).max(0.0).matrix();
    dissim.diagonal().setZero();
  }
  res.dissimilarity = dissim;

  // 2. Embedding.
  if (cfg.embed == "cmds") {
    points = cmds(dissim, cfg.dims);
  } else if (cfg.embed == "ase") {
    points = ase(sim.size() ? sim : kernel_similarity(dissim), cfg.dims);
  }
  res.points = points;

  // 3. Clustering.
  // Default k_max: K/2, so groups hold two classes on average; with few class-level points BIC otherwise
  // drifts towards one component per class.
  const int k_max = std::min(cfg.k_max > 0 ? cfg.k_max : std::max(2, K / 2), K);
  const int k_min = std::min(cfg.k_min, k_max);
  if (cfg.cluster == "agglomerative") {
    Linkage link = parse_linkage(cfg.linkage);
    Dendrogram dg = points.size() ? agglomerative_points(points, link) : agglomerative_dissimilarity(dissim, link);
    res.tree = LabelTree::from_merges(dg.merges, ds.classes);
    res.groups = res.tree.top_level_groups();
    res.k = static_cast<int>(res.tree.nodes[0].children.size());
    res.detail = cat("agglomerative linkage=", cfg.linkage, " depth=", res.tree.depth());
  } else if (cfg.cluster == "gmm") {
    GmmConfig base;
    const double scale = (points.rowwise() - points.colwise().mean()).squaredNorm() /
                         std::max<double>(1.0, static_cast<double>(points.size()));
    base.reg_covar = cfg.reg_covar * (scale > 0 ? scale : 1.0);
    base.n_init = cfg.n_init;
    base.seed = cfg.seed;
    GmmSelection sel = select_gmm(points, k_min, k_max, cfg.covariances, base, cfg.threads);
    res.groups = sel.best.predict(points);
    res.bic_table = sel.table;
    double bic = 0;
    for (const auto& r : sel.table)
      if (r.k == sel.k && r.cov == sel.cov) bic = r.bic;
    res.detail = cat("gmm k=", sel.k, " cov=", covariance_name(sel.cov), " bic=", bic, " dims=", points.cols());
  } else {
    double best = -INFINITY;
    for (int k = std::max(2, k_min); k <= k_max; ++k) {
      KMeansResult km = kmeans(points, k, cfg.seed, cfg.n_init);
      double s = k < K ? silhouette(points, km.labels) : -1.0;
      if (s > best || res.groups.empty()) {
        best = s;
        res.groups = km.labels;
        res.detail = cat("kmeans k=", k, " silhouette=", s, " dims=", points.cols());
      }
    }
  }
  if (cfg.cluster != "agglomerative") {
    res.tree = LabelTree::from_groups(res.groups, ds.classes);
    res.groups = res.tree.top_level_groups();
    res.k = static_cast<int>(res.tree.nodes[0].children.size());
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace strata::hier
