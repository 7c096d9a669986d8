// LabelTree construction, validation, JSON, DOT and SVG.
#include "strata/core/label_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/json.h"

namespace strata {

using nlohmann::json;

LabelTree LabelTree::flat(const std::vector<std::string>& class_names) {
  LabelTree t;
  t.class_names = class_names;
  t.nodes.push_back({-1, {}, -1, "root"});
  for (int c = 0; c < static_cast<int>(class_names.size()); ++c) {
    t.nodes[0].children.push_back(static_cast<int>(t.nodes.size()));
    t.nodes.push_back({0, {}, c, class_names[c]});
  }
  return t;
}

LabelTree LabelTree::from_groups(const std::vector<int>& group_of_class, const std::vector<std::string>& class_names) {
  if (group_of_class.size() != class_names.size())
    bad_input("groups: ", group_of_class.size(), " group ids for ", class_names.size(), " classes");
  LabelTree t;
  t.class_names = class_names;
  t.nodes.push_back({-1, {}, -1, "root"});
  std::map<int, int> group_node;  // group id -> node, in order of first appearance
  for (int c = 0; c < static_cast<int>(class_names.size()); ++c) {
    int g = group_of_class[c];
    auto it = group_node.find(g);
    if (it == group_node.end()) {
      int id = static_cast<int>(t.nodes.size());
      t.nodes.push_back({0, {}, -1, "g" + std::to_string(group_node.size())});
      t.nodes[0].children.push_back(id);
      it = group_node.emplace(g, id).first;
    }
    int leaf = static_cast<int>(t.nodes.size());
    t.nodes.push_back({it->second, {}, c, class_names[c]});
    t.nodes[it->second].children.push_back(leaf);
  }
  return t;
}

LabelTree LabelTree::from_merges(const std::vector<std::pair<int, int>>& merges,
                                 const std::vector<std::string>& class_names) {
  const int n = static_cast<int>(class_names.size());
  if (n == 1) return flat(class_names);
  if (static_cast<int>(merges.size()) != n - 1) bad_input("merges: expected ", n - 1, " merges, got ", merges.size());
  // Build bottom-up in a temporary, then renumber so the root is node 0.
  struct Tmp {
    std::vector<int> children;
    int class_id;
  };
  std::vector<Tmp> tmp;
  for (int c = 0; c < n; ++c) tmp.push_back({{}, c});
  for (auto [a, b] : merges) {
    if (a < 0 || b < 0 || a >= static_cast<int>(tmp.size()) || b >= static_cast<int>(tmp.size()) || a == b)
      bad_input("merges: invalid pair (", a, ", ", b, ")");
    tmp.push_back({{a, b}, -1});
  }
  LabelTree t;
  t.class_names = class_names;
  // Depth-first preorder from the last merge, iteratively (a chained linkage is as deep as there are classes).
  std::vector<std::pair<int, int>> stack{{static_cast<int>(tmp.size()) - 1, -1}};  // (tmp id, parent node)
  while (!stack.empty()) {
    const auto [tid, parent] = stack.back();
    stack.pop_back();
    const int id = static_cast<int>(t.nodes.size());
    t.nodes.push_back({parent, {}, tmp[tid].class_id, tmp[tid].class_id >= 0 ? class_names[tmp[tid].class_id] : ""});
    if (parent >= 0) t.nodes[parent].children.push_back(id);
    const auto& ch = tmp[tid].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back({*it, id});
  }
  t.nodes[0].name = "root";
  t.validate("merges");
  return t;
}

void LabelTree::validate(const std::string& where) const {
  if (nodes.empty()) bad_input(where, ": empty tree");
  if (class_names.empty()) bad_input(where, ": no classes");
  if (nodes[0].parent != -1) bad_input(where, ": node 0 must be the root");
  std::vector<int> seen_class(class_names.size(), 0);
  std::vector<int> visited(nodes.size(), 0);
  std::vector<int> stack{0};
  while (!stack.empty()) {
    int v = stack.back();
    stack.pop_back();
    if (visited[v]++) bad_input(where, ": node ", v, " reached twice (cycle or shared child)");
    const Node& nd = nodes[v];
    if (nd.children.empty()) {
      if (nd.class_id < 0 || nd.class_id >= num_classes())
        bad_input(where, ": leaf node ", v, " has no valid class (class_id ", nd.class_id, ")");
      seen_class[nd.class_id]++;
    } else if (nd.class_id >= 0) {
      bad_input(where, ": internal node ", v, " carries class ", nd.class_id);
    }
    for (int ch : nd.children) {
      if (ch <= 0 || ch >= static_cast<int>(nodes.size())) bad_input(where, ": node ", v, " has invalid child ", ch);
      if (nodes[ch].parent != v) bad_input(where, ": node ", ch, " parent link disagrees with node ", v);
      stack.push_back(ch);
    }
  }
  for (std::size_t v = 0; v < nodes.size(); ++v)
    if (!visited[v]) bad_input(where, ": node ", v, " is not reachable from the root");
  for (int c = 0; c < num_classes(); ++c) {
    if (seen_class[c] == 0) bad_input(where, ": class '", short_quote(class_names[c]), "' is in no leaf");
    if (seen_class[c] > 1)
      bad_input(where, ": class '", short_quote(class_names[c]), "' is in ", seen_class[c], " leaves");
  }
}

std::vector<int> LabelTree::classes_under(int node) const {
  std::vector<int> out, stack{node};
  while (!stack.empty()) {
    int v = stack.back();
    stack.pop_back();
    if (nodes[v].children.empty()) out.push_back(nodes[v].class_id);
    for (int ch : nodes[v].children) stack.push_back(ch);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> LabelTree::leaf_of_class() const {
  std::vector<int> out(class_names.size(), -1);
  for (int v = 0; v < static_cast<int>(nodes.size()); ++v)
    if (nodes[v].children.empty() && nodes[v].class_id >= 0) out[nodes[v].class_id] = v;
  return out;
}

std::vector<int> LabelTree::path_to_root(int node) const {
  std::vector<int> p;
  for (int v = node; v >= 0; v = nodes[v].parent) p.push_back(v);
  return p;
}

int LabelTree::depth() const {
  // Breadth-first from the root: O(nodes) however deep the tree.
  std::vector<int> d(nodes.size(), 0), queue{0};
  int deepest = 0;
  for (std::size_t q = 0; q < queue.size(); ++q) {
    const int v = queue[q];
    deepest = std::max(deepest, d[v]);
    for (int ch : nodes[v].children) {
      d[ch] = d[v] + 1;
      queue.push_back(ch);
    }
  }
  return deepest;
}

std::vector<int> LabelTree::top_level_groups() const {
  std::vector<int> g(class_names.size(), -1);
  const auto& top = nodes[0].children;
  for (int i = 0; i < static_cast<int>(top.size()); ++i)
    for (int c : classes_under(top[i])) g[c] = i;
  return g;
}

LabelTree LabelTree::compacted() const {
  // Iterative (a tree may be thousands of levels deep): (node, new parent) pairs on an explicit stack, children
  // pushed in reverse so nodes keep their depth-first numbering.
  LabelTree t;
  t.class_names = class_names;
  std::vector<std::pair<int, int>> stack{{0, -1}};
  while (!stack.empty()) {
    auto [v, parent] = stack.back();
    stack.pop_back();
    // Skip chains of single-child internal nodes (but never the root).
    while (parent >= 0 && nodes[v].children.size() == 1) v = nodes[v].children[0];
    const int id = static_cast<int>(t.nodes.size());
    t.nodes.push_back({parent, {}, nodes[v].class_id, nodes[v].name});
    if (parent >= 0) t.nodes[parent].children.push_back(id);
    const auto& ch = nodes[v].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back({*it, id});
  }
  return t;
}

namespace {
std::string quoted(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

std::string LabelTree::to_json() const {
  // Written iteratively and compactly: an indented deep tree grows quadratically with its depth. One node per
  // line at the top levels keeps small trees readable.
  std::string out = "{\"classes\": [";
  for (std::size_t c = 0; c < class_names.size(); ++c) out += (c ? ", " : "") + quoted(class_names[c]);
  out += "],\n\"tree\": ";
  struct Frame {
    int v;
    std::size_t next;  // next child to write
  };
  std::vector<Frame> stack;
  auto open = [&](int v) {
    const Node& nd = nodes[v];
    if (nd.children.empty()) {
      out += "{\"class\": " + quoted(class_names.at(nd.class_id)) + "}";
      return;
    }
    out += "{";
    if (!nd.name.empty()) out += "\"name\": " + quoted(nd.name) + ", ";
    out += "\"children\": [";
    stack.push_back({v, 0});
  };
  open(0);
  while (!stack.empty()) {
    Frame& f = stack.back();
    const auto& ch = nodes[f.v].children;
    if (f.next == ch.size()) {
      out += "]}";
      stack.pop_back();
      continue;
    }
    if (f.next) out += ",";
    if (stack.size() <= 2) out += "\n" + std::string(2 * stack.size(), ' ');
    open(ch[f.next++]);  // may push: f is not used after this
  }
  return out + "}\n";
}

namespace {

// The JSON path of node `n` for messages: "tree.children[2].children[0]", eliding the middle of deep paths.
std::string node_path(const std::vector<std::pair<int, int>>& up, int n) {
  std::vector<int> idx;  // child positions from n up to the root
  for (int v = n; up[v].first >= 0; v = up[v].first) idx.push_back(up[v].second);
  std::string p = "tree";
  const std::size_t depth = idx.size();
  for (std::size_t k = 0; k < depth; ++k) {
    if (depth > 12 && k == 4) {
      p += cat("... (", depth - 8, " more levels) ...");
      k = depth - 5;
      continue;
    }
    p += cat(".children[", idx[depth - 1 - k], "]");
  }
  return p;
}

}  // namespace

LabelTree LabelTree::from_json(const std::string& text, const std::string& where) {
  std::size_t at = 0;
  if (json_nesting_depth(text, kMaxTreeJsonDepth, &at) > kMaxTreeJsonDepth)
    bad_input(where, ": the tree is deeper than the limit of ", kMaxTreeDepth, " levels (its JSON nests deeper than ",
              kMaxTreeJsonDepth, " at byte ", at, ")");
  const json j = parse_json(text, where, kMaxTreeJsonDepth);
  if (!j.is_object() || !j.contains("classes") || !j["classes"].is_array())
    bad_input(where, ": expected an object with \"classes\" (array of class names) and \"tree\"");
  if (!j.contains("tree") || !j["tree"].is_object()) bad_input(where, ": missing \"tree\" object");
  LabelTree t;
  std::map<std::string, int> cls;
  for (const auto& c : j["classes"]) {
    if (!c.is_string()) bad_input(where, ": \"classes\" must hold strings, found ", json_excerpt(c));
    std::string s = c.get<std::string>();
    if (cls.count(s)) bad_input(where, ": class '", short_quote(s), "' listed twice in \"classes\"");
    cls[s] = static_cast<int>(t.class_names.size());
    t.class_names.push_back(s);
  }
  // Depth-first, iteratively: (JSON node, parent id, position among the parent's children) on an explicit stack;
  // up[id] = (parent, position) lets a message name the node's path without building paths for every node.
  std::vector<std::tuple<const json*, int, int>> stack{{&j["tree"], -1, 0}};
  std::vector<std::pair<int, int>> up;
  while (!stack.empty()) {
    const auto [np, parent, pos] = stack.back();
    stack.pop_back();
    const json& n = *np;
    const int id = static_cast<int>(t.nodes.size());
    up.push_back({parent, pos});
    auto here = [&] { return node_path(up, id); };
    if (!n.is_object()) bad_input(where, ": ", here(), ": expected an object, found ", json_excerpt(n));
    std::string name;
    if (auto it = n.find("name"); it != n.end()) {
      if (!it->is_string()) bad_input(where, ": ", here(), ": \"name\" must be a string, found ", json_excerpt(*it));
      name = it->get<std::string>();
    }
    t.nodes.push_back({parent, {}, -1, std::move(name)});
    if (parent >= 0) t.nodes[parent].children.push_back(id);
    if (auto c = n.find("class"); c != n.end()) {
      if (!c->is_string() && !c->is_number_integer())
        bad_input(where, ": ", here(), ": \"class\" must be a string, found ", json_excerpt(*c));
      const std::string cname = c->is_string() ? c->get<std::string>() : c->dump();
      auto it = cls.find(cname);
      if (it == cls.end()) bad_input(where, ": ", here(), ": class '", short_quote(cname), "' is not in \"classes\"");
      t.nodes[id].class_id = it->second;
      t.nodes[id].name = cname;
      if (n.contains("children")) bad_input(where, ": ", here(), ": a leaf (with \"class\") cannot have children");
      continue;
    }
    auto ch = n.find("children");
    if (ch == n.end() || !ch->is_array() || ch->empty())
      bad_input(where, ": ", here(), ": expected \"class\" or a non-empty \"children\" array");
    for (int i = static_cast<int>(ch->size()) - 1; i >= 0; --i) stack.push_back({&(*ch)[i], id, i});
  }
  t.validate(where);
  return t;
}

LabelTree LabelTree::load(const std::string& path) { return from_json(read_file(path), path); }

void LabelTree::save(const std::string& path) const { write_file_atomic(path, to_json()); }

namespace {
std::string escape(const std::string& s, bool xml) {
  std::string o;
  for (char c : s) {
    if (xml && c == '<')
      o += "&lt;";
    else if (xml && c == '>')
      o += "&gt;";
    else if (xml && c == '&')
      o += "&amp;";
    else if (c == '"')
      o += xml ? "&quot;" : "\\\"";
    else
      o += c;
  }
  return o;
}
}  // namespace

std::string LabelTree::to_dot() const {
  std::ostringstream os;
  os << "digraph label_tree {\n  node [fontname=\"Helvetica\"];\n";
  for (int v = 0; v < static_cast<int>(nodes.size()); ++v) {
    const Node& nd = nodes[v];
    if (nd.children.empty())
      os << "  n" << v << " [shape=box, label=\"" << escape(class_names[nd.class_id], false) << "\"];\n";
    else
      os << "  n" << v << " [shape=circle, label=\"" << escape(nd.name.empty() ? "" : nd.name, false) << "\"];\n";
    for (int ch : nd.children) os << "  n" << v << " -> n" << ch << ";\n";
  }
  os << "}\n";
  return os.str();
}

std::string LabelTree::to_svg() const {
  // Leaves are laid out left to right in depth-first order; an internal node sits above the middle of its
  // children; depth goes down. Leaf labels are rotated so long class names stay readable.
  const double dx = 36, dy = 70, margin = 30, label_room = 150;
  std::vector<double> x(nodes.size()), y(nodes.size());
  int next_leaf = 0;
  // Depth-first preorder, iteratively (trees may be thousands of levels deep); an internal node is placed after
  // its children, walking the preorder backwards.
  std::vector<int> order, stack{0};
  std::vector<int> level(nodes.size(), 0);
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    order.push_back(v);
    y[v] = margin + level[v] * dy;
    if (nodes[v].children.empty()) x[v] = margin + dx * next_leaf++;
    const auto& ch = nodes[v].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) {
      level[*it] = level[v] + 1;
      stack.push_back(*it);
    }
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const auto& ch = nodes[*it].children;
    if (ch.empty()) continue;
    double lo = 1e300, hi = -1e300;
    for (int c : ch) lo = std::min(lo, x[c]), hi = std::max(hi, x[c]);
    x[*it] = 0.5 * (lo + hi);
  }
  int dep = depth();
  double width = 2 * margin + dx * std::max(0, next_leaf - 1) + 20;
  double height = 2 * margin + dep * dy + label_room;
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
     << width << " " << height << "\" font-family=\"Helvetica, Arial, sans-serif\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::vector<int> group = top_level_groups();
  for (int v = 0; v < static_cast<int>(nodes.size()); ++v)
    for (int ch : nodes[v].children)
      os << "<path d=\"M" << x[v] << "," << y[v] << " V" << (y[v] + y[ch]) / 2 << " H" << x[ch] << " V" << y[ch]
         << "\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\"/>\n";
  for (int v = 0; v < static_cast<int>(nodes.size()); ++v) {
    const Node& nd = nodes[v];
    if (nd.children.empty()) {
      const char* col = kColors[std::max(0, group[nd.class_id]) % 10];
      os << "<circle cx=\"" << x[v] << "\" cy=\"" << y[v] << "\" r=\"5\" fill=\"" << col << "\"/>\n";
      os << "<text x=\"" << x[v] << "\" y=\"" << y[v] + 12 << "\" font-size=\"12\" transform=\"rotate(60 " << x[v]
         << " " << y[v] + 12 << ")\">" << escape(class_names[nd.class_id], true) << "</text>\n";
    } else {
      os << "<circle cx=\"" << x[v] << "\" cy=\"" << y[v] << "\" r=\"4\" fill=\"#333\"/>\n";
      if (!nd.name.empty())
        os << "<text x=\"" << x[v] + 6 << "\" y=\"" << y[v] - 6 << "\" font-size=\"10\" fill=\"#555\">"
           << escape(nd.name, true) << "</text>\n";
    }
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace strata
