// Minimal SVG line plots with error bars, written directly (no plotting stack): simulation curves,
// depth sweeps. Several panels side by side share one legend.
#pragma once
#include <string>
#include <vector>

namespace strata::io {

struct Series {
  std::string label;
  std::vector<double> x, y, err;  // err may be empty; otherwise y ± err is drawn as a bar
  int color = -1;                 // palette index; -1: the series' position
  bool dashed = false;
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;
  double y_ref = 0;         // a dashed horizontal reference line at this y ...
  bool draw_y_ref = false;  // ... when set (e.g. learning efficiency 1)
};

std::string line_plot_svg(const std::vector<Panel>& panels, const std::string& title = "");

}  // namespace strata::io
