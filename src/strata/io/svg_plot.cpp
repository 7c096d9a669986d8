// Line plots as SVG: linear or log x axis, "nice" ticks, error bars, a legend per panel.
#include "strata/io/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace strata::io {

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

std::vector<double> nice_ticks(double lo, double hi, int want = 5) {
  if (!(hi > lo)) return {lo};
  double span = hi - lo, step = std::pow(10.0, std::floor(std::log10(span / want)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (span / (step * m) <= want) {
      step *= m;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step)
    t.push_back(std::abs(v) < 1e-12 ? 0 : v);
  return t;
}

std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Panel layout in pixels: plot area width and height, margins left, right, top and bottom.
constexpr double kPw = 380, kPh = 280, kMl = 60, kMr = 20, kMt = 50, kMb = 55;

// One panel's plot area (top-left ox, oy) and data ranges, mapping data to pixel coordinates.
struct Frame {
  double ox, oy;
  double xlo, xhi, ylo, yhi;  // x in log10 units when log_x
  bool log_x;

  double X(double v) const { return ox + (((log_x ? std::log10(v) : v) - xlo) / (xhi - xlo)) * kPw; }
  double Y(double v) const { return oy + kPh - (v - ylo) / (yhi - ylo) * kPh; }
};

// The frame of panel pn at (ox, oy): the range of its finite points (y with error bars and the reference line),
// widened when empty or flat, y padded by 5% each side.
Frame panel_frame(const Panel& pn, double ox, double oy) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : pn.series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      double xv = pn.log_x ? std::log10(s.x[i]) : s.x[i];
      double e = s.err.empty() ? 0 : s.err[i];
      xlo = std::min(xlo, xv), xhi = std::max(xhi, xv);
      ylo = std::min(ylo, s.y[i] - e), yhi = std::max(yhi, s.y[i] + e);
    }
  if (pn.draw_y_ref) ylo = std::min(ylo, pn.y_ref), yhi = std::max(yhi, pn.y_ref);
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  if (xhi == xlo) xlo -= 0.5, xhi += 0.5;
  if (yhi == ylo) ylo -= 0.5, yhi += 0.5;
  double pad = 0.05 * (yhi - ylo);
  ylo -= pad, yhi += pad;
  return {ox, oy, xlo, xhi, ylo, yhi, pn.log_x};
}

// The x tick positions (data units): 1-2-5 per decade on a log axis, nice_ticks otherwise.
std::vector<double> x_ticks(const Frame& fr) {
  std::vector<double> xt;
  if (fr.log_x) {
    for (double e = std::floor(fr.xlo); e <= std::ceil(fr.xhi); e += 1)
      for (double m : {1.0, 2.0, 5.0})
        if (double v = m * std::pow(10.0, e); std::log10(v) >= fr.xlo - 1e-9 && std::log10(v) <= fr.xhi + 1e-9)
          xt.push_back(v);
  } else {
    xt = nice_ticks(fr.xlo, fr.xhi);
  }
  return xt;
}

// A panel's box, title, grid lines with y tick labels, x tick labels, axis labels and the reference line.
void draw_axes(std::ostream& os, const Panel& pn, const Frame& fr) {
  const double ox = fr.ox, oy = fr.oy, pw = kPw, ph = kPh;
  os << "<rect x=\"" << ox << "\" y=\"" << oy << "\" width=\"" << pw << "\" height=\"" << ph
     << "\" fill=\"none\" stroke=\"#333\"/>\n";
  os << "<text x=\"" << ox + pw / 2 << "\" y=\"" << oy - 10 << "\" text-anchor=\"middle\" font-size=\"13\">"
     << esc(pn.title) << "</text>\n";
  for (double t : nice_ticks(fr.ylo, fr.yhi))
    os << "<line x1=\"" << ox << "\" x2=\"" << ox + pw << "\" y1=\"" << fr.Y(t) << "\" y2=\"" << fr.Y(t)
       << "\" stroke=\"#eee\"/><text x=\"" << ox - 6 << "\" y=\"" << fr.Y(t) + 4 << "\" text-anchor=\"end\">" << fmt(t)
       << "</text>\n";
  for (double t : x_ticks(fr))
    os << "<text x=\"" << fr.X(t) << "\" y=\"" << oy + ph + 16 << "\" text-anchor=\"middle\">" << fmt(t) << "</text>\n";
  os << "<text x=\"" << ox + pw / 2 << "\" y=\"" << oy + ph + 36 << "\" text-anchor=\"middle\">" << esc(pn.x_label)
     << "</text>\n";
  os << "<text transform=\"translate(" << ox - 45 << "," << oy + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
     << esc(pn.y_label) << "</text>\n";
  if (pn.draw_y_ref)
    os << "<line x1=\"" << ox << "\" x2=\"" << ox + pw << "\" y1=\"" << fr.Y(pn.y_ref) << "\" y2=\"" << fr.Y(pn.y_ref)
       << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
}

// Series si of a panel: its points with error bars, the line through the finite points, its legend entry.
void draw_series(std::ostream& os, const Series& s, std::size_t si, const Frame& fr) {
  const char* col = kColors[(s.color >= 0 ? static_cast<std::size_t>(s.color) : si) % 8];
  std::ostringstream path;
  bool first = true;
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.y[i])) continue;
    path << (first ? "M" : " L") << fr.X(s.x[i]) << "," << fr.Y(s.y[i]);
    first = false;
    os << "<circle cx=\"" << fr.X(s.x[i]) << "\" cy=\"" << fr.Y(s.y[i]) << "\" r=\"3\" fill=\"" << col << "\"/>\n";
    if (!s.err.empty() && s.err[i] > 0)
      os << "<line x1=\"" << fr.X(s.x[i]) << "\" x2=\"" << fr.X(s.x[i]) << "\" y1=\"" << fr.Y(s.y[i] - s.err[i])
         << "\" y2=\"" << fr.Y(s.y[i] + s.err[i]) << "\" stroke=\"" << col << "\"/>\n";
  }
  os << "<path d=\"" << path.str() << "\" fill=\"none\" stroke=\"" << col << "\" stroke-width=\"1.8\""
     << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/>\n";
  double ly = fr.oy + kPh + 56 + 14.0 * static_cast<double>(si / 2);
  double lx = fr.ox + static_cast<double>(si % 2) * (kPw / 2);
  os << "<rect x=\"" << lx << "\" y=\"" << ly - 9 << "\" width=\"10\" height=\"10\" fill=\"" << col << "\"/><text x=\""
     << lx + 14 << "\" y=\"" << ly << "\" font-size=\"11\">" << esc(s.label) << "</text>\n";
}

}  // namespace

std::string line_plot_svg(const std::vector<Panel>& panels, const std::string& title) {
  std::size_t max_series = 1;
  for (const auto& pn : panels) max_series = std::max(max_series, pn.series.size());
  const double W = panels.size() * (kPw + kMl + kMr), H = kPh + kMt + kMb + 14.0 * ((max_series + 1) / 2) + 10;
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
     << " " << H << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty())
    os << "<text x=\"" << W / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">" << esc(title) << "</text>\n";
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Panel& pn = panels[p];
    const Frame fr = panel_frame(pn, p * (kPw + kMl + kMr) + kMl, kMt);
    draw_axes(os, pn, fr);
    for (std::size_t si = 0; si < pn.series.size(); ++si) draw_series(os, pn.series[si], si, fr);
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace strata::io
