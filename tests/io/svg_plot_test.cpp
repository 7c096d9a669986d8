// SVG line plots: every series and label appears, text is escaped, non-finite points are skipped.
#include "strata/io/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>

TEST(SvgPlot, SeriesLabelsAndEscaping) {
  strata::io::Panel p{"A & B", "x", "y", {}, false, 1.0, true};
  p.series.push_back({"s<1>", {1, 2, 3}, {1, 4, 9}, {0.1, 0.2, 0.3}});
  p.series.push_back({"two", {1, 2}, {2, NAN}, {}});
  std::string svg = strata::io::line_plot_svg({p, p}, "title");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("A &amp; B"), std::string::npos);
  EXPECT_NE(svg.find("s&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);  // the reference line
  // two panels -> two frames
  std::size_t frames = 0;
  for (std::size_t pos = 0; (pos = svg.find("fill=\"none\" stroke=\"#333\"", pos)) != std::string::npos; ++pos)
    ++frames;
  EXPECT_EQ(frames, 2u);
}

TEST(SvgPlot, LogAxis) {
  strata::io::Panel p{"t", "n", "v", {}, true, 0, false};
  p.series.push_back({"a", {5, 50, 500}, {1, 2, 3}, {}});
  std::string svg = strata::io::line_plot_svg({p});
  EXPECT_NE(svg.find(">100<"), std::string::npos);
}
