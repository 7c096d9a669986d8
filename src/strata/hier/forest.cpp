// Random forest: features are binned once into <= 256 quantile bins (exact when a feature has <= 256 distinct
// values), trees are grown depth-first on the binned columns with per-node class histograms, and prediction bins
// each block of rows by the trees' own thresholds, then walks 8-byte breadth-first nodes tree by tree.
#include "strata/hier/forest.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/core/thread_pool.h"
#include "strata/dist/process_group.h"

namespace strata::hier {
namespace {

constexpr int kMaxBins = 256;
constexpr std::size_t kBinSample = 30000;  // rows used to choose the bin edges of each feature
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kPredictRows = 512;  // rows per prediction block (see predict_block_packed)

// The training matrix as bins: column f is bins[f*n .. f*n+n). A value v falls in bin b = #{edges < v}, so
// "bin <= b" is exactly "v <= edges[b]": a split on bins is the float split v <= edges[b].
struct Binned {
  std::size_t n = 0, d = 0;
  std::vector<std::uint8_t> bins;         // (d, n) feature-major, so a node's histogram reads one column
  std::vector<std::vector<float>> edges;  // (d)(n_bins - 1)
};

// A threshold strictly between a < b that sends a left and b right, even when they are adjacent floats.
float midpoint(float a, float b) {
  float m = static_cast<float>((static_cast<double>(a) + static_cast<double>(b)) * 0.5);
  if (!(m < b)) m = a;
  return m;
}

// Quantile edges from a sorted sample of a feature with more than kMaxBins distinct values: cut at quantiles,
// each cut midway between the quantile value and the next distinct value.
std::vector<float> quantile_edges(std::vector<float>& vals) {
  std::sort(vals.begin(), vals.end());
  std::vector<float> edges;
  const std::size_t m = vals.size();
  for (int q = 1; q < kMaxBins; ++q) {
    const float v = vals[static_cast<std::size_t>(q) * m / kMaxBins];
    auto it = std::upper_bound(vals.begin(), vals.end(), v);
    if (it == vals.end()) break;
    const float e = midpoint(v, *it);
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

// Open-addressing set of at most kMaxBins distinct float values (by bit pattern, -0 folded into +0), mapping
// each to its bin once the values are sorted. Detecting "<= 256 distinct values" this way costs one probe per
// value instead of a sort, and the same table then bins the column exactly.
class DistinctValues {
 public:
  DistinctValues() { clear(); }
  void clear() {
    std::fill(keys_, keys_ + kSlots, kEmpty);
    count_ = 0;
  }
  // False once a (kMaxBins + 1)-th distinct value shows up.
  bool insert(float v) {
    const std::uint32_t k = key(v);
    for (std::uint32_t s = slot(k);; s = (s + 1) & (kSlots - 1)) {
      if (keys_[s] == k) return true;
      if (keys_[s] == kEmpty) {
        if (count_ == kMaxBins) return false;
        keys_[s] = k;
        ++count_;
        return true;
      }
    }
  }
  // Sorts the distinct values, gives each slot its bin and returns the edges between consecutive values.
  std::vector<float> finish() {
    std::vector<float> uniq;
    for (int s = 0; s < kSlots; ++s)
      if (keys_[s] != kEmpty) uniq.push_back(std::bit_cast<float>(keys_[s]));
    std::sort(uniq.begin(), uniq.end());
    for (std::size_t j = 0; j < uniq.size(); ++j) {
      const std::uint32_t k = key(uniq[j]);
      std::uint32_t s = slot(k);
      while (keys_[s] != k) s = (s + 1) & (kSlots - 1);
      bin_[s] = static_cast<std::uint8_t>(j);
    }
    std::vector<float> edges;
    for (std::size_t j = 0; j + 1 < uniq.size(); ++j) edges.push_back(midpoint(uniq[j], uniq[j + 1]));
    return edges;
  }
  std::uint8_t bin(float v) const {
    const std::uint32_t k = key(v);
    std::uint32_t s = slot(k);
    while (keys_[s] != k) s = (s + 1) & (kSlots - 1);
    return bin_[s];
  }

 private:
  static constexpr int kSlots = 1024;
  static constexpr std::uint32_t kEmpty = 0x7FC00001u;  // a NaN pattern; NaN inputs are rejected before insert
  static std::uint32_t key(float v) { return v == 0.0f ? 0u : std::bit_cast<std::uint32_t>(v); }
  static std::uint32_t slot(std::uint32_t k) { return (k * 0x9E3779B1u) >> 22; }
  std::uint32_t keys_[kSlots];
  std::uint8_t bin_[kSlots];
  int count_ = 0;
};

// Binning reads x row-major in tiles of kTileRows rows: each thread owns a contiguous range of features, so it
// streams through its part of every row once per pass (two passes: distinct values / edges, then bins) instead
// of striding down columns, which on a 60000 x 784 matrix costs a TLB and cache miss per element.
// One function on purpose: split into one function per pass it fitted Fashion-MNIST ~7% slower (GCC 12, -O2).
Binned bin_features(const float* x, std::size_t n, std::size_t d, ThreadPool& pool) {
  Binned b;
  b.n = n;
  b.d = d;
  b.edges.resize(d);
  b.bins.resize(n * d);
  const std::size_t m = std::min(n, kBinSample);
  constexpr std::size_t kTileRows = 256;
  // At most kGroup features at a time bound the distinct-value tables (5 KB each) and the tile, whatever d is.
  constexpr std::size_t kGroup = 256;
  auto bin_range = [&](std::size_t f0, std::size_t f1) {
    const std::size_t w = f1 - f0;
    std::vector<float> tile(w * kTileRows);  // (w, kTileRows) the tile transposed
    auto load_tile = [&](std::size_t i0, std::size_t i1) {
      for (std::size_t i = i0; i < i1; ++i) {
        const float* row = x + i * d + f0;
        for (std::size_t f = 0; f < w; ++f) tile[f * kTileRows + (i - i0)] = row[f];
      }
    };
    std::vector<DistinctValues> distinct(w);
    std::vector<std::uint8_t> exact(w, 1);
    for (std::size_t i0 = 0; i0 < n; i0 += kTileRows) {
      const std::size_t i1 = std::min(n, i0 + kTileRows);
      load_tile(i0, i1);
      for (std::size_t f = 0; f < w; ++f) {
        const float* t = tile.data() + f * kTileRows;
        float last = std::numeric_limits<float>::quiet_NaN();  // runs of equal values (zeros) skip the probe
        for (std::size_t i = 0; i < i1 - i0; ++i) {
          const float v = t[i];
          if (v == last) continue;
          if (std::isnan(v)) bad_input("forest fit: x[", i0 + i, ", ", f0 + f, "] is NaN; expected finite features");
          if (exact[f] && !distinct[f].insert(v)) exact[f] = 0;
          last = v;
        }
      }
    }
    // Features with more than kMaxBins distinct values: quantile edges from evenly strided rows.
    std::vector<std::size_t> wide;
    for (std::size_t f = 0; f < w; ++f) {
      if (exact[f])
        b.edges[f0 + f] = distinct[f].finish();
      else
        wide.push_back(f);
    }
    if (!wide.empty()) {
      std::vector<std::vector<float>> vals(wide.size(), std::vector<float>(m));
      for (std::size_t k = 0; k < m; ++k) {
        const float* row = x + (k * n / m) * d + f0;
        for (std::size_t q = 0; q < wide.size(); ++q) vals[q][k] = row[wide[q]];
      }
      for (std::size_t q = 0; q < wide.size(); ++q) b.edges[f0 + wide[q]] = quantile_edges(vals[q]);
    }
    for (std::size_t i0 = 0; i0 < n; i0 += kTileRows) {
      const std::size_t i1 = std::min(n, i0 + kTileRows);
      load_tile(i0, i1);
      for (std::size_t f = 0; f < w; ++f) {
        const float* t = tile.data() + f * kTileRows;
        std::uint8_t* out = b.bins.data() + (f0 + f) * n + i0;
        if (exact[f]) {
          float last = std::numeric_limits<float>::quiet_NaN();
          std::uint8_t last_bin = 0;
          for (std::size_t i = 0; i < i1 - i0; ++i) {
            if (t[i] != last) {
              last = t[i];
              last_bin = distinct[f].bin(last);
            }
            out[i] = last_bin;
          }
        } else {
          const auto& e = b.edges[f0 + f];
          for (std::size_t i = 0; i < i1 - i0; ++i)
            out[i] = static_cast<std::uint8_t>(std::lower_bound(e.begin(), e.end(), t[i]) - e.begin());
        }
      }
    }
  };
  pool.parallel_chunks(d, [&](std::size_t f0, std::size_t f1) {
    for (std::size_t g = f0; g < f1; g += kGroup) bin_range(g, std::min(f1, g + kGroup));
  });
  return b;
}

struct Sample {
  std::uint32_t row;
  std::uint32_t cls;
  std::uint32_t w;  // bootstrap multiplicity
};

struct Split {
  int feature = -1;
  int bin = 0;          // left: bin <= this
  double score = -1.0;  // sum_k L_k^2 / |L| + sum_k R_k^2 / |R|; larger is purer
};

// Grows one tree; all randomness comes from rng, so the tree depends only on (data, config, tree seed).
class TreeGrower {
 public:
  TreeGrower(const Binned& data, const std::int32_t* y, int n_classes, const ForestConfig& cfg, int max_features)
      : data_(data), y_(y), c_(n_classes), cfg_(cfg), max_features_(max_features) {
    hist_.assign(static_cast<std::size_t>(kMaxBins) * (c_ + 1), 0);
    left_.assign(c_, 0);
    right_.assign(c_, 0);
    feats_.resize(data.d);
  }

  void grow(std::uint64_t seed, RandomForest::Tree& tree, std::vector<double>& importance) {
    Rng rng(seed);
    std::vector<Sample> estimation;
    samples_ = draw_samples(rng, estimation);
    scratch_.resize(samples_.size());
    std::iota(feats_.begin(), feats_.end(), 0);

    tree.nodes.clear();
    tree.values.clear();
    split_bins_.clear();
    parents_.clear();
    new_node(-1);
    tree.nodes.resize(1);
    // Features found constant in a node are constant in all its descendants: children skip them (scikit-learn
    // does the same). consts_ holds one bitset of d bits per split node, shared by its two children.
    struct Item {
      std::size_t begin, end;
      int depth, node;
      std::size_t consts;  // offset of the node's known-constant bitset in consts_
    };
    words_ = (data_.d + 63) / 64;
    consts_.assign(words_, 0);
    std::vector<Item> stack{{0, samples_.size(), 0, 0, 0}};
    std::vector<std::int64_t> counts(c_);
    while (!stack.empty()) {
      Item it = stack.back();
      stack.pop_back();
      std::fill(counts.begin(), counts.end(), 0);
      std::int64_t wsum = 0;
      for (std::size_t s = it.begin; s < it.end; ++s) {
        counts[samples_[s].cls] += samples_[s].w;
        wsum += samples_[s].w;
      }
      const std::size_t rows = it.end - it.begin;
      int nonzero = 0;
      for (auto v : counts) nonzero += v > 0;
      Split best;
      const bool can_split = nonzero > 1 && rows >= 2 && rows >= 2 * static_cast<std::size_t>(cfg_.min_samples_leaf) &&
                             (cfg_.max_depth == 0 || it.depth < cfg_.max_depth);
      if (can_split) best = find_split(it.begin, it.end, it.consts, rng);
      if (best.feature < 0) {
        make_leaf(tree, it.node, counts, wsum);
        continue;
      }
      const std::size_t mid = partition(it.begin, it.end, best.feature, best.bin);
      std::int64_t sumsq = 0;
      for (auto v : counts) sumsq += v * v;
      importance[best.feature] += best.score - static_cast<double>(sumsq) / static_cast<double>(wsum);
      RandomForest::Node& nd = tree.nodes[it.node];
      nd.feature = best.feature;
      nd.threshold = data_.edges[best.feature][best.bin];
      split_bins_[it.node] = static_cast<std::uint8_t>(best.bin);
      const int l = new_node(it.node), r = new_node(it.node);
      tree.nodes.resize(split_bins_.size());
      tree.nodes[it.node].left = l;
      tree.nodes[it.node].right = r;
      const std::size_t child_consts = consts_.size();
      consts_.insert(consts_.end(), found_.begin(), found_.end());
      stack.push_back({mid, it.end, it.depth + 1, r, child_consts});
      stack.push_back({it.begin, mid, it.depth + 1, l, child_consts});
    }
    if (!estimation.empty()) honest_leaves(tree, estimation);
  }

 private:
  // The rows this tree grows on, as (row, class, bootstrap multiplicity), drawn from rng; honest trees put the
  // rest of their distinct in-bag rows in `estimation` (left empty otherwise).
  std::vector<Sample> draw_samples(Rng& rng, std::vector<Sample>& estimation) const {
    const std::size_t n = data_.n;
    // Bootstrap as multiplicities: rows drawn k times carry weight k instead of being copied.
    std::vector<std::uint32_t> mult(n, cfg_.bootstrap ? 0u : 1u);
    if (cfg_.bootstrap)
      for (std::size_t i = 0; i < n; ++i) ++mult[rng.below(n)];
    std::vector<Sample> in_bag;
    in_bag.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      if (mult[i]) in_bag.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(y_[i]), mult[i]});
    if (cfg_.honest && in_bag.size() >= 2) {
      // Shuffle the distinct in-bag rows, grow on the first honest_fraction, estimate leaves on the rest.
      for (std::size_t i = in_bag.size() - 1; i > 0; --i) std::swap(in_bag[i], in_bag[rng.below(i + 1)]);
      std::size_t n_struct = static_cast<std::size_t>(std::llround(cfg_.honest_fraction * in_bag.size()));
      n_struct = std::clamp<std::size_t>(n_struct, 1, in_bag.size() - 1);
      estimation.assign(in_bag.begin() + n_struct, in_bag.end());
      in_bag.resize(n_struct);
      // Ascending rows keep the column reads of each node in memory order.
      auto by_row = [](const Sample& a, const Sample& b) { return a.row < b.row; };
      std::sort(in_bag.begin(), in_bag.end(), by_row);
    }
    return in_bag;
  }

  int new_node(int parent) {
    split_bins_.push_back(0);
    parents_.push_back(parent);
    return static_cast<int>(split_bins_.size()) - 1;
  }

  void make_leaf(RandomForest::Tree& tree, int node, const std::vector<std::int64_t>& counts, std::int64_t wsum) {
    tree.nodes.resize(split_bins_.size());
    RandomForest::Node& nd = tree.nodes[node];
    nd.feature = -1;
    nd.left = static_cast<std::int32_t>(tree.values.size());
    nd.right = -1;
    for (int k = 0; k < c_; ++k)
      tree.values.push_back(static_cast<float>(static_cast<double>(counts[k]) / static_cast<double>(wsum)));
  }

  // Visits features in a fresh random order until max_features non-constant ones were tried (constant features
  // do not count, as in scikit-learn), keeping the split with the best gini proxy.
  // found_ becomes the node's known-constant set plus the constant features discovered here.
  Split find_split(std::size_t begin, std::size_t end, std::size_t consts, Rng& rng) {
    found_.assign(consts_.begin() + consts, consts_.begin() + consts + words_);
    Split best;
    const std::size_t d = data_.d;
    const std::size_t rows = end - begin;
    const std::int64_t msl = cfg_.min_samples_leaf;
    const int stride = c_ + 1;
    int visited = 0;
    for (std::size_t j = 0; j < d && visited < max_features_; ++j) {
      std::swap(feats_[j], feats_[j + rng.below(d - j)]);
      const int f = feats_[j];
      if ((found_[f >> 6] >> (f & 63)) & 1) continue;
      const std::uint8_t* col = data_.bins.data() + static_cast<std::size_t>(f) * data_.n;
      // Class histogram (plus a row count in column c_) and a bitmap of occupied bins.
      std::uint64_t occ[4] = {0, 0, 0, 0};
      std::int32_t* h = hist_.data();
      if (msl > 1)
        build_hist<true>(col, begin, end, h, occ);
      else
        build_hist<false>(col, begin, end, h, occ);
      const int n_occ = std::popcount(occ[0]) + std::popcount(occ[1]) + std::popcount(occ[2]) + std::popcount(occ[3]);
      if (n_occ > 1) {
        ++visited;
        scan(h, occ, rows, msl, f, best);
      } else {
        found_[f >> 6] |= 1ull << (f & 63);
      }
      for (int q = 0; q < 4; ++q)
        for (std::uint64_t bits = occ[q]; bits; bits &= bits - 1) {
          const int b = q * 64 + std::countr_zero(bits);
          for (int k = 0; k <= c_; ++k) h[b * stride + k] = 0;
        }
    }
    return best;
  }

  // Row counts (column c_) are only needed for min_samples_leaf > 1; skipping them removes a store-to-load
  // dependency on the dominant bin's counter.
  template <bool kCountRows>
  void build_hist(const std::uint8_t* col, std::size_t begin, std::size_t end, std::int32_t* h,
                  std::uint64_t occ[4]) const {
    const int stride = c_ + 1;
    constexpr std::size_t kAhead = 16;  // rows are ascending but sparse: prefetch the column bytes ahead
    const Sample* sm = samples_.data();
    for (std::size_t s = begin; s < end; ++s) {
      if (s + kAhead < end) __builtin_prefetch(col + sm[s + kAhead].row);
      const unsigned b = col[sm[s].row];
      std::int32_t* hb = h + b * stride;
      hb[sm[s].cls] += static_cast<std::int32_t>(sm[s].w);
      if constexpr (kCountRows) hb[c_] += 1;
      occ[b >> 6] |= 1ull << (b & 63);
    }
  }

  void scan(const std::int32_t* h, const std::uint64_t occ[4], std::size_t rows, std::int64_t msl, int f, Split& best) {
    const int stride = c_ + 1;
    std::fill(left_.begin(), left_.end(), 0);
    std::fill(right_.begin(), right_.end(), 0);
    std::int64_t wr = 0;
    for (int q = 0; q < 4; ++q)
      for (std::uint64_t bits = occ[q]; bits; bits &= bits - 1) {
        const std::int32_t* hb = h + (q * 64 + std::countr_zero(bits)) * stride;
        for (int k = 0; k < c_; ++k) right_[k] += hb[k];
      }
    std::int64_t sq_l = 0, sq_r = 0;
    for (int k = 0; k < c_; ++k) {
      sq_r += right_[k] * right_[k];
      wr += right_[k];
    }
    std::int64_t wl = 0, rows_l = 0;
    int prev = -1;
    for (int q = 0; q < 4; ++q)
      for (std::uint64_t bits = occ[q]; bits; bits &= bits - 1) {
        const int b = q * 64 + std::countr_zero(bits);
        // Candidate: left = occupied bins up to prev, right = from b on.
        if (prev >= 0 && rows_l >= msl && static_cast<std::int64_t>(rows) - rows_l >= msl) {
          const double score =
              static_cast<double>(sq_l) / static_cast<double>(wl) + static_cast<double>(sq_r) / static_cast<double>(wr);
          if (score > best.score) {
            best.score = score;
            best.feature = f;
            best.bin = (prev + b - 1) / 2;  // the middle edge between the two occupied bins
          }
        }
        const std::int32_t* hb = h + b * stride;
        for (int k = 0; k < c_; ++k) {
          const std::int64_t c = hb[k];
          if (c == 0) continue;
          sq_l += 2 * left_[k] * c + c * c;
          sq_r += -2 * right_[k] * c + c * c;
          left_[k] += c;
          right_[k] -= c;
          wl += c;
          wr -= c;
        }
        rows_l += msl > 1 ? hb[c_] : 1;  // with msl == 1 only "non-empty" matters
        prev = b;
      }
  }

  // Stable in-place partition (left rows first) so each node's rows stay in ascending order.
  std::size_t partition(std::size_t begin, std::size_t end, int f, int bin) {
    const std::uint8_t* col = data_.bins.data() + static_cast<std::size_t>(f) * data_.n;
    std::size_t l = begin, r = 0;
    for (std::size_t s = begin; s < end; ++s) {
      if (col[samples_[s].row] <= bin)
        samples_[l++] = samples_[s];
      else
        scratch_[r++] = samples_[s];
    }
    std::copy(scratch_.begin(), scratch_.begin() + r, samples_.begin() + l);
    return l;
  }

  // Honest leaves: route the estimation rows down the grown structure, counting classes at every node on the
  // path. A leaf takes the distribution of its nearest ancestor (itself first) that received estimation rows; the
  // root always does, so no leaf keeps its structure-sample estimate.
  void honest_leaves(RandomForest::Tree& tree, const std::vector<Sample>& est) {
    const std::size_t n_nodes = tree.nodes.size();
    std::vector<std::int64_t> cnt(n_nodes * c_, 0), tot(n_nodes, 0);
    for (const Sample& sm : est) {
      int node = 0;
      for (;;) {
        cnt[static_cast<std::size_t>(node) * c_ + sm.cls] += sm.w;
        tot[node] += sm.w;
        const RandomForest::Node& nd = tree.nodes[node];
        if (nd.feature < 0) break;
        const std::uint8_t b = data_.bins[static_cast<std::size_t>(nd.feature) * data_.n + sm.row];
        node = b <= split_bins_[node] ? nd.left : nd.right;
      }
    }
    for (std::size_t i = 0; i < n_nodes; ++i) {
      const RandomForest::Node& nd = tree.nodes[i];
      if (nd.feature >= 0) continue;
      int a = static_cast<int>(i);
      while (tot[a] == 0 && parents_[a] >= 0) a = parents_[a];
      if (tot[a] == 0) continue;
      for (int k = 0; k < c_; ++k)
        tree.values[nd.left + k] = static_cast<float>(static_cast<double>(cnt[static_cast<std::size_t>(a) * c_ + k]) /
                                                      static_cast<double>(tot[a]));
    }
  }

  const Binned& data_;
  const std::int32_t* y_;
  int c_;
  const ForestConfig& cfg_;
  int max_features_;
  std::vector<Sample> samples_, scratch_;
  std::vector<std::int32_t> hist_;  // (kMaxBins, c_ + 1)
  std::vector<std::int64_t> left_, right_;
  std::vector<int> feats_;
  std::vector<std::uint8_t> split_bins_;  // per node: the bin the split sends left up to
  std::vector<int> parents_;
  std::size_t words_ = 0;
  std::vector<std::uint64_t> consts_, found_;
};

void check_config(const ForestConfig& c, std::size_t d) {
  if (c.n_trees < 1) bad_input("forest config: n_trees must be >= 1, got ", c.n_trees);
  if (c.max_depth < 0) bad_input("forest config: max_depth must be >= 0 (0: unlimited), got ", c.max_depth);
  if (c.min_samples_leaf < 1) bad_input("forest config: min_samples_leaf must be >= 1, got ", c.min_samples_leaf);
  if (c.max_features < 0 || static_cast<std::size_t>(c.max_features) > d)
    bad_input("forest config: max_features must be in [0, ", d, "] (0: sqrt of the features), got ", c.max_features);
  if (c.honest && !(c.honest_fraction > 0.0 && c.honest_fraction < 1.0))
    bad_input("forest config: honest_fraction must be in (0, 1), got ", c.honest_fraction);
}

// Bins rows [0, rows) of x (row-major, d wide) into xb (rows, d): bin = #{thresholds of f < v}, NaN -> 255 so it
// goes right everywhere, as in the float walk. A feature at a time over kBinLanes rows: each row's branchless
// binary search has the same trip count, so the searches interleave without mispredicted branches.
void bin_rows(const float* x, std::size_t rows, std::size_t d, const float* thr, const std::uint32_t* thr_begin,
              std::uint8_t* xb) {
  constexpr std::size_t kBinLanes = 32;
  for (std::size_t r0 = 0; r0 < rows; r0 += kBinLanes) {
    const std::size_t lanes = std::min(kBinLanes, rows - r0);
    for (std::size_t f = 0; f < d; ++f) {
      const float* t = thr + thr_begin[f];
      const std::uint32_t m = thr_begin[f + 1] - thr_begin[f];
      std::uint8_t* out = xb + r0 * d + f;
      if (m == 0) {  // no tree splits on f: its bin is never read
        for (std::size_t j = 0; j < lanes; ++j) out[j * d] = 0;
        continue;
      }
      float v[kBinLanes];
      std::uint32_t pos[kBinLanes];
      for (std::size_t j = 0; j < lanes; ++j) {
        v[j] = x[(r0 + j) * d + f];
        pos[j] = 0;
      }
      for (std::uint32_t len = m; len > 1;) {
        const std::uint32_t half = len / 2;
        for (std::size_t j = 0; j < lanes; ++j) pos[j] += t[pos[j] + half] < v[j] ? half : 0;
        len -= half;
      }
      for (std::size_t j = 0; j < lanes; ++j) {
        const std::uint32_t b = pos[j] + (t[pos[j]] < v[j]);
        out[j * d] = v[j] == v[j] ? static_cast<std::uint8_t>(b) : std::uint8_t{255};
      }
    }
  }
}

// True on every rank when `mine` is true on any: the ranks leave a fit together, so none waits in a collective
// for a rank that already threw.
bool any_rank(dist::ProcessGroup& g, bool mine) {
  double v = mine ? 1.0 : 0.0;
  g.all_reduce_sum(&v, 1);
  return v > 0.0;
}

// Hands every rank all trees and their importances, rank q having grown the trees t with t % size == q. Round k
// gathers tree k * size + q from each rank q: one tree per message stays far below MPI's 2^31-byte count limit
// whatever the forest's size, and the trees land in tree order, as a one-process fit places them.
void share_trees(dist::ProcessGroup& g, std::size_t d, std::vector<RandomForest::Tree>& trees,
                 std::vector<std::vector<double>>& imp) {
  const std::size_t ranks = static_cast<std::size_t>(g.size()), me = static_cast<std::size_t>(g.rank());
  for (std::size_t base = 0; base < trees.size(); base += ranks) {
    Writer w;
    if (base + me < trees.size()) {
      w.vec(trees[base + me].nodes);
      w.vec(trees[base + me].values);
      w.vec(imp[base + me]);
    }
    const std::vector<std::string> all = g.all_gather(w.bytes());
    for (std::size_t q = 0; q < ranks && base + q < trees.size(); ++q) {
      if (q == me) continue;
      const std::size_t t = base + q;
      Reader r(all[q], cat("forest fit: tree ", t, " from rank ", q));
      trees[t].nodes = r.vec<RandomForest::Node>("tree nodes");
      trees[t].values = r.vec<float>("leaf values");
      imp[t] = r.vec<double>("importances");
      r.expect(r.done() && imp[t].size() == d && !trees[t].nodes.empty(), "malformed tree");
    }
  }
}

}  // namespace

void RandomForest::fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) {
  fit(x, n, d, y, n_classes, nullptr);
}

void RandomForest::fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes,
                       ProgressSink* progress) {
  if (n == 0 || d == 0) bad_input("forest fit: expected a non-empty data set, got ", n, " rows x ", d, " features");
  // Row ids are uint32 and histogram weights int32.
  if (n > 0x7FFFFFFFull) bad_input("forest fit: at most 2^31-1 rows supported, got ", n);
  if (n_classes < 1) bad_input("forest fit: n_classes must be >= 1, got ", n_classes);
  for (std::size_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= n_classes)
      bad_input("forest fit: y[", i, "] = ", y[i], ", expected a class id in [0, ", n_classes, ")");
  check_config(cfg_, d);
  const int max_features =
      cfg_.max_features > 0 ? cfg_.max_features : std::max(1, static_cast<int>(std::sqrt(static_cast<double>(d))));

  // A cancelled fit leaves the forest unfitted, never holding an earlier fit as if it were this one.
  auto cancel = [&] {
    dist::ProcessGroup* group = group_;  // where fits run is not fitted state: it survives the reset
    *this = RandomForest(cfg_);
    group_ = group;
    throw Cancelled();
  };
  // Under a group of several, rank `me` grows the trees t with t % ranks == me; its own cancel request only
  // skips work until the joint decision after the trees.
  const bool shared = group_ && group_->size() > 1;
  const std::size_t ranks = shared ? static_cast<std::size_t>(group_->size()) : 1;
  const std::size_t me = shared ? static_cast<std::size_t>(group_->rank()) : 0;
  bool stop = progress && progress->cancel_requested();
  if (stop && !shared) cancel();
  std::vector<Tree> trees(cfg_.n_trees);
  std::vector<std::vector<double>> imp(cfg_.n_trees, std::vector<double>(d, 0.0));
  std::atomic<bool> skipped{false};
  if (!stop) {
    ThreadPool pool(cfg_.threads);
    const Binned binned = bin_features(x, n, d, pool);
    const std::size_t mine = me < trees.size() ? (trees.size() - me + ranks - 1) / ranks : 0;
    // Once cancelled, trees not yet started are skipped (the running ones finish) and the fit throws; a request
    // that comes after the last tree started is left to the caller's next check.
    pool.parallel_for(mine, [&](std::size_t k) {
      if (progress && progress->cancel_requested()) {
        skipped.store(true, std::memory_order_relaxed);
        return;
      }
      const std::size_t t = me + k * ranks;
      TreeGrower grower(binned, y, n_classes, cfg_, max_features);
      grower.grow(derive_seed(cfg_.seed, t), trees[t], imp[t]);
    });
  }
  stop = stop || skipped.load();
  if (shared) stop = any_rank(*group_, stop);
  if (stop) cancel();
  if (shared) share_trees(*group_, d, trees, imp);
  // Importances: each tree's normalised to sum 1, then averaged (scikit-learn's definition).
  std::vector<double> importances(d, 0.0);
  for (auto& ti : imp) {
    const double s = std::accumulate(ti.begin(), ti.end(), 0.0);
    if (s > 0)
      for (std::size_t f = 0; f < d; ++f) importances[f] += ti[f] / s;
  }
  for (auto& v : importances) v /= static_cast<double>(trees.size());
  trees_ = std::move(trees);
  importances_ = std::move(importances);
  n_classes_ = n_classes;
  d_ = d;
  build_packed();
}

void RandomForest::check_fitted(std::size_t d, const char* what) const {
  if (trees_.empty()) bad_input("forest ", what, ": the model is not fitted");
  if (d != d_) bad_input("forest ", what, ": expected ", d_, " features (as in fit), got ", d);
}

void RandomForest::build_packed() {
  Packed p;
  const std::size_t d = d_;
  if (d >= (1u << 16)) {
    packed_ = std::move(p);
    return;
  }
  // Distinct thresholds per feature over all trees.
  std::vector<std::uint32_t> count(d + 1, 0);
  for (const Tree& t : trees_)
    for (const Node& nd : t.nodes)
      if (nd.feature >= 0) {
        if (std::isnan(nd.threshold)) {  // only a hand-made model file can hold one; keep the float walk
          packed_ = std::move(p);
          return;
        }
        ++count[nd.feature + 1];
      }
  std::partial_sum(count.begin(), count.end(), count.begin());
  std::vector<float> all(count[d]);
  std::vector<std::uint32_t> fill(count.begin(), count.end() - 1);
  for (const Tree& t : trees_)
    for (const Node& nd : t.nodes)
      if (nd.feature >= 0) all[fill[nd.feature]++] = nd.threshold;
  p.thr_begin.assign(d + 1, 0);
  for (std::size_t f = 0; f < d; ++f) {
    auto b = all.begin() + count[f], e = all.begin() + count[f + 1];
    std::sort(b, e);
    e = std::unique(b, e);  // == folds -0 into +0, which compare alike anyway
    if (e - b > 255) {      // bins must stay below 255, the NaN / leaf bin
      packed_ = Packed{};
      return;
    }
    p.thresholds.insert(p.thresholds.end(), b, e);
    p.thr_begin[f + 1] = static_cast<std::uint32_t>(p.thresholds.size());
  }
  // Breadth-first renumbering: the two children of a node get consecutive slots, so one child index suffices,
  // and the top levels that every row visits share cache lines.
  p.trees.resize(trees_.size());
  std::vector<std::pair<std::int32_t, int>> queue;  // (old index, depth)
  for (std::size_t ti = 0; ti < trees_.size(); ++ti) {
    const Tree& t = trees_[ti];
    PackedTree& pt = p.trees[ti];
    pt.nodes.resize(t.nodes.size());
    pt.leaf_vals.assign(t.nodes.size(), 0);
    queue.assign(1, {0, 0});
    for (std::size_t q = 0; q < queue.size(); ++q) {
      const auto [old, depth] = queue[q];
      const Node& nd = t.nodes[old];
      PackedNode& pn = pt.nodes[q];
      if (nd.feature < 0) {
        pn = {static_cast<std::uint32_t>(q), 0, 255};
        pt.leaf_vals[q] = static_cast<std::uint32_t>(nd.left);
        pt.depth = std::max(pt.depth, depth);
        continue;
      }
      const float* tb = p.thresholds.data() + p.thr_begin[nd.feature];
      const float* te = p.thresholds.data() + p.thr_begin[nd.feature + 1];
      pn = {static_cast<std::uint32_t>(queue.size()), static_cast<std::uint16_t>(nd.feature),
            static_cast<std::uint8_t>(std::lower_bound(tb, te, nd.threshold) - tb)};
      // A node reachable twice (load accepts any children after their parent, so a hand-made file can share
      // one) would overflow the slots: keep the float walk then.
      if (queue.size() + 2 > t.nodes.size()) {
        packed_ = Packed{};
        return;
      }
      queue.push_back({nd.left, depth + 1});
      queue.push_back({nd.right, depth + 1});
    }
    if (queue.size() != t.nodes.size()) {  // unreachable nodes: likewise only in a hand-made file
      packed_ = Packed{};
      return;
    }
  }
  p.usable = true;
  packed_ = std::move(p);
}

void RandomForest::predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const {
  check_fitted(d, "predict_proba");
  if (n <= kPredictRows) {  // one block: no threads to start
    predict_rows(x, n, d, proba, nullptr);
    return;
  }
  pool_.run(cfg_.threads, [&](ThreadPool& pool) { predict_rows(x, n, d, proba, &pool); });
}

void RandomForest::predict_proba(const float* x, std::size_t n, std::size_t d, float* proba, ThreadPool& pool) const {
  check_fitted(d, "predict_proba");
  predict_rows(x, n, d, proba, &pool);
}

// Blocks of kPredictRows rows, each written by one thread from its own rows only: the result is the same for any
// pool (or none).
void RandomForest::predict_rows(const float* x, std::size_t n, std::size_t d, float* proba, ThreadPool* pool) const {
  const std::size_t n_blocks = (n + kPredictRows - 1) / kPredictRows;
  auto block = [&](std::size_t blk) {
    const std::size_t r0 = blk * kPredictRows, r1 = std::min(n, r0 + kPredictRows);
    if (packed_.usable)
      predict_block_packed(x + r0 * d, r1 - r0, d, proba + r0 * n_classes_);
    else
      predict_block_float(x + r0 * d, r1 - r0, d, proba + r0 * n_classes_);
  };
  if (pool)
    pool->parallel_for(n_blocks, block);
  else
    for (std::size_t blk = 0; blk < n_blocks; ++blk) block(blk);
}

// One block of rows on the packed trees. A block's binned rows (512 x 784 = 400 KB) and one tree's nodes (about
// 66 KB) stay in L2 while the block walks every tree in turn; 512 rows measured ~10% faster than 256 (more reuse
// of a tree's deep nodes).
void RandomForest::predict_block_packed(const float* x, std::size_t rows, std::size_t d, float* out) const {
  const int c = n_classes_;
  const float inv = 1.0f / static_cast<float>(trees_.size());
  std::vector<std::uint8_t> xb(rows * d);  // (rows, d) the block's rows as bins
  bin_rows(x, rows, d, packed_.thresholds.data(), packed_.thr_begin.data(), xb.data());
  std::fill(out, out + rows * c, 0.0f);  // (rows, c)
  for (std::size_t ti = 0; ti < trees_.size(); ++ti) {
    const PackedTree& pt = packed_.trees[ti];
    const PackedNode* nodes = pt.nodes.data();
    const float* vals = trees_[ti].values.data();
    // kLanes rows descend in lock step without branches (a leaf maps to itself), so their independent loads
    // overlap; the walk stops once no row moved. A group's leaf distributions are prefetched when its walk ends
    // and added while the next group walks, hiding their cache misses.
    constexpr std::size_t kLanes = 32;
    std::uint32_t leaf[2][kLanes];
    std::size_t prev_g = 0, prev_lanes = 0;
    auto accumulate = [&](const std::uint32_t* at, std::size_t g, std::size_t lanes) {
      for (std::size_t j = 0; j < lanes; ++j) {
        const float* v = vals + at[j];
        float* o = out + (g + j) * c;
        for (int k = 0; k < c; ++k) o[k] += v[k];
      }
    };
    for (std::size_t g = 0, s = 0; g < rows; g += kLanes, s ^= 1) {
      const std::size_t lanes = std::min(kLanes, rows - g);
      std::uint32_t at[kLanes] = {};
      const std::uint8_t* xg = xb.data() + g * d;
      for (int level = 0; level < pt.depth; ++level) {
        std::uint32_t moved = 0;
        for (std::size_t j = 0; j < lanes; ++j) {
          const PackedNode nd = nodes[at[j]];
          const std::uint32_t next = nd.child + (xg[j * d + nd.feature] > nd.bin);
          moved |= next ^ at[j];
          at[j] = next;
        }
        if (!moved) break;
      }
      for (std::size_t j = 0; j < lanes; ++j) {
        leaf[s][j] = pt.leaf_vals[at[j]];
        __builtin_prefetch(vals + leaf[s][j]);
      }
      if (prev_lanes) accumulate(leaf[s ^ 1], prev_g, prev_lanes);
      prev_g = g;
      prev_lanes = lanes;
    }
    accumulate(leaf[((rows - 1) / kLanes) & 1], prev_g, prev_lanes);
  }
  for (std::size_t k = 0; k < rows * c; ++k) out[k] *= inv;
}

// The straightforward walk over the float thresholds, for models build_packed() cannot pack; a block of rows
// reuses each tree's nodes (about 130 KB a tree) from cache.
void RandomForest::predict_block_float(const float* x, std::size_t rows, std::size_t d, float* out) const {
  const int c = n_classes_;
  const float inv = 1.0f / static_cast<float>(trees_.size());
  std::fill(out, out + rows * c, 0.0f);  // (rows, c)
  for (const Tree& t : trees_) {
    const Node* nodes = t.nodes.data();
    const float* vals = t.values.data();
    // kLanes rows descend the tree in lock step: their node and feature loads are independent, so the core
    // overlaps the cache misses that a one-row-at-a-time walk would pay one after another.
    constexpr std::size_t kLanes = 32;
    for (std::size_t g = 0; g < rows; g += kLanes) {
      const std::size_t lanes = std::min(kLanes, rows - g);
      std::int32_t at[kLanes] = {};
      for (bool moved = true; moved;) {
        moved = false;
        for (std::size_t j = 0; j < lanes; ++j) {
          const Node& nd = nodes[at[j]];
          if (nd.feature < 0) continue;
          at[j] = x[(g + j) * d + nd.feature] <= nd.threshold ? nd.left : nd.right;
          moved = true;
        }
      }
      for (std::size_t j = 0; j < lanes; ++j) {
        const float* v = vals + nodes[at[j]].left;
        float* o = out + (g + j) * c;
        for (int k = 0; k < c; ++k) o[k] += v[k];
      }
    }
  }
  for (std::size_t k = 0; k < rows * c; ++k) out[k] *= inv;
}

std::vector<int> RandomForest::apply(const float* x, std::size_t n, std::size_t d, int tree) const {
  check_fitted(d, "apply");
  if (tree < 0 || tree >= n_trees()) bad_input("forest apply: tree ", tree, " out of range [0, ", n_trees(), ")");
  const Node* nodes = trees_[tree].nodes.data();
  std::vector<int> leaves(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = x + i * d;
    int k = 0;
    while (nodes[k].feature >= 0) k = row[nodes[k].feature] <= nodes[k].threshold ? nodes[k].left : nodes[k].right;
    leaves[i] = k;
  }
  return leaves;
}

void RandomForest::save(Writer& w) const {
  write_payload_header(w, kFormatVersion, n_classes_, d_);
  w.pod(cfg_.n_trees);
  w.pod(cfg_.max_depth);
  w.pod(cfg_.min_samples_leaf);
  w.pod(cfg_.max_features);
  w.pod<std::uint8_t>(cfg_.bootstrap);
  w.pod<std::uint8_t>(cfg_.honest);
  w.pod(cfg_.honest_fraction);
  w.pod(cfg_.seed);
  w.vec(importances_);
  w.pod<std::uint64_t>(trees_.size());
  for (const Tree& t : trees_) {
    w.vec(t.nodes);
    w.vec(t.values);
  }
}

void RandomForest::load(Reader& r) {
  const auto [n_classes, d] = read_payload_header(r, "forest", kFormatVersion);
  ForestConfig cfg = cfg_;
  cfg.n_trees = r.pod<int>("forest n_trees");
  cfg.max_depth = r.pod<int>("forest max_depth");
  cfg.min_samples_leaf = r.pod<int>("forest min_samples_leaf");
  cfg.max_features = r.pod<int>("forest max_features");
  cfg.bootstrap = r.pod<std::uint8_t>("forest bootstrap") != 0;
  cfg.honest = r.pod<std::uint8_t>("forest honest") != 0;
  cfg.honest_fraction = r.pod<double>("forest honest_fraction");
  cfg.seed = r.pod<std::uint64_t>("forest seed");
  auto importances = r.vec<double>("forest importances");
  r.expect(importances.size() == d, cat("forest: expected ", d, " importances, found ", importances.size()));
  const auto n_trees = r.pod<std::uint64_t>("forest tree count");
  r.expect(n_trees >= 1 && n_trees < (1ull << 31), cat("forest: tree count out of range: ", n_trees));
  std::vector<Tree> trees;
  for (std::uint64_t t = 0; t < n_trees; ++t) {
    Tree tr;
    tr.nodes = r.vec<Node>("forest tree nodes");
    tr.values = r.vec<float>("forest leaf values");
    const auto nn = static_cast<std::int64_t>(tr.nodes.size());
    r.expect(nn >= 1, cat("forest: tree ", t, " has no nodes"));
    for (std::int64_t i = 0; i < nn; ++i) {
      const Node& nd = tr.nodes[i];
      if (nd.feature >= 0) {
        // Children after their parent: prediction always terminates.
        r.expect(
            static_cast<std::uint64_t>(nd.feature) < d && nd.left > i && nd.left < nn && nd.right > i && nd.right < nn,
            cat("forest: tree ", t, " node ", i, " is malformed"));
      } else {
        r.expect(
            nd.feature == -1 && nd.left >= 0 && static_cast<std::uint64_t>(nd.left) + n_classes <= tr.values.size(),
            cat("forest: tree ", t, " leaf ", i, " points outside the leaf values"));
      }
    }
    trees.push_back(std::move(tr));
  }
  cfg_ = cfg;
  n_classes_ = n_classes;
  d_ = d;
  trees_ = std::move(trees);
  importances_ = std::move(importances);
  build_packed();
}

}  // namespace strata::hier
