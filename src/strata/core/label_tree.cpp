// LabelTree construction, validation, JSON, DOT and SVG.
#include "strata/core/label_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "strata/core/error.h"
#include "strata/core/file.h"

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
  std::function<int(int, int)> build = [&](int tid, int parent) -> int {
    int id = static_cast<int>(t.nodes.size());
    t.nodes.push_back({parent, {}, tmp[tid].class_id, tmp[tid].class_id >= 0 ? class_names[tmp[tid].class_id] : ""});
    for (int ch : tmp[tid].children) {
      int cid = build(ch, id);
      t.nodes[id].children.push_back(cid);
    }
    return id;
  };
  build(static_cast<int>(tmp.size()) - 1, -1);
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
    if (seen_class[c] == 0) bad_input(where, ": class '", class_names[c], "' is in no leaf");
    if (seen_class[c] > 1) bad_input(where, ": class '", class_names[c], "' is in ", seen_class[c], " leaves");
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
  int d = 0;
  for (int v = 0; v < static_cast<int>(nodes.size()); ++v)
    if (nodes[v].children.empty()) d = std::max(d, static_cast<int>(path_to_root(v).size()) - 1);
  return d;
}

std::vector<int> LabelTree::top_level_groups() const {
  std::vector<int> g(class_names.size(), -1);
  const auto& top = nodes[0].children;
  for (int i = 0; i < static_cast<int>(top.size()); ++i)
    for (int c : classes_under(top[i])) g[c] = i;
  return g;
}

LabelTree LabelTree::compacted() const {
  LabelTree t;
  t.class_names = class_names;
  std::function<void(int, int)> copy = [&](int v, int parent) {
    // Skip chains of single-child internal nodes (but never the root).
    while (parent >= 0 && nodes[v].children.size() == 1) v = nodes[v].children[0];
    int id = static_cast<int>(t.nodes.size());
    t.nodes.push_back({parent, {}, nodes[v].class_id, nodes[v].name});
    if (parent >= 0) t.nodes[parent].children.push_back(id);
    for (int ch : nodes[v].children) copy(ch, id);
  };
  copy(0, -1);
  return t;
}

std::string LabelTree::to_json() const {
  std::function<json(int)> node_json = [&](int v) -> json {
    const Node& nd = nodes[v];
    if (nd.children.empty()) return json{{"class", class_names.at(nd.class_id)}};
    json j;
    if (!nd.name.empty()) j["name"] = nd.name;
    json ch = json::array();
    for (int c : nd.children) ch.push_back(node_json(c));
    j["children"] = ch;
    return j;
  };
  json j{{"classes", class_names}, {"tree", node_json(0)}};
  return j.dump(2) + "\n";
}

LabelTree LabelTree::from_json(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    bad_input(where, ": not valid JSON at byte ", e.byte, ": ", e.what());
  } catch (const json::exception& e) {  // a number beyond double (1e309): out_of_range, not a parse_error
    bad_input(where, ": not valid JSON: ", e.what());
  }
  if (!j.is_object() || !j.contains("classes") || !j["classes"].is_array())
    bad_input(where, ": expected an object with \"classes\" (array of class names) and \"tree\"");
  if (!j.contains("tree") || !j["tree"].is_object()) bad_input(where, ": missing \"tree\" object");
  LabelTree t;
  std::map<std::string, int> cls;
  for (const auto& c : j["classes"]) {
    if (!c.is_string()) bad_input(where, ": \"classes\" must hold strings, found ", c.dump());
    std::string s = c.get<std::string>();
    if (cls.count(s)) bad_input(where, ": class '", s, "' listed twice in \"classes\"");
    cls[s] = static_cast<int>(t.class_names.size());
    t.class_names.push_back(s);
  }
  std::function<int(const json&, int, const std::string&)> build = [&](const json& n, int parent,
                                                                       const std::string& path) -> int {
    if (!n.is_object()) bad_input(where, ": ", path, ": expected an object, found ", n.dump());
    int id = static_cast<int>(t.nodes.size());
    const auto name_it = n.find("name");
    if (name_it != n.end() && !name_it->is_string())
      bad_input(where, ": ", path, ".name: expected a string, found ", name_it->type_name());
    t.nodes.push_back({parent, {}, -1, name_it != n.end() ? name_it->get<std::string>() : std::string()});
    if (n.contains("class")) {
      const json& c = n["class"];
      std::string name = c.is_string() ? c.get<std::string>() : c.dump();
      auto it = cls.find(name);
      if (it == cls.end()) bad_input(where, ": ", path, ": class '", name, "' is not in \"classes\"");
      t.nodes[id].class_id = it->second;
      t.nodes[id].name = name;
      if (n.contains("children")) bad_input(where, ": ", path, ": a leaf (with \"class\") cannot have children");
      return id;
    }
    if (!n.contains("children") || !n["children"].is_array() || n["children"].empty())
      bad_input(where, ": ", path, ": expected \"class\" or a non-empty \"children\" array");
    int i = 0;
    for (const auto& ch : n["children"]) {
      int cid = build(ch, id, path + ".children[" + std::to_string(i++) + "]");
      t.nodes[id].children.push_back(cid);
    }
    return id;
  };
  build(j["tree"], -1, "tree");
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
  std::function<void(int, int)> place = [&](int v, int d) {
    y[v] = margin + d * dy;
    if (nodes[v].children.empty()) {
      x[v] = margin + dx * next_leaf++;
      return;
    }
    double lo = 1e300, hi = -1e300;
    for (int ch : nodes[v].children) {
      place(ch, d + 1);
      lo = std::min(lo, x[ch]);
      hi = std::max(hi, x[ch]);
    }
    x[v] = 0.5 * (lo + hi);
  };
  place(0, 0);
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
