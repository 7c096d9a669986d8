// The CLI's text sink and the JSON-lines sink for progress events.
#include "strata/app/progress.h"

#include <cmath>
#include <cstdio>
#include <ostream>

#include "strata/core/error.h"

namespace strata::app {

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
}  // namespace

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return cat(t / 3600, "h", (t % 3600) / 60, "m");
  if (t >= 60) return cat(t / 60, "m", t % 60, "s");
  return cat(t, "s");
}

nlohmann::json to_json(const StepProgress& p) {
  return {{"event", "step"},
          {"step", p.step},
          {"total", p.total},
          {"loss", p.loss},
          {"lr", p.lr},
          {"tokens_per_s", p.tokens_per_s},
          {"eta_seconds", std::isfinite(p.eta_seconds) ? nlohmann::json(p.eta_seconds) : nlohmann::json()}};
}

nlohmann::json to_json(const ResultProgress& r) {
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [name, v] : r.values) values[name] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  return {{"event", "result"}, {"experiment", r.experiment}, {"index", r.index},    {"count", r.count},
          {"label", r.label},  {"values", values},           {"summary", r.summary}};
}

void TextProgress::message(const std::string& text) { out_ << "strata: " << text << std::endl; }

void TextProgress::step(const StepProgress& p) {
  out_ << "strata: step " << p.step << "/" << p.total << "  loss " << fmt("%.4f", p.loss) << "  lr "
       << fmt("%.2e", p.lr) << "  " << fmt("%.0f", p.tokens_per_s) << " tok/s  ETA " << format_duration(p.eta_seconds)
       << std::endl;
}

void TextProgress::result(const ResultProgress& r) { out_ << "strata: " << r.summary << std::endl; }

void TextProgress::wrote(const std::string& path, const std::string& what) {
  out_ << "strata: wrote " << what << " " << path << std::endl;
}

void JsonLinesProgress::emit(const nlohmann::json& j) { out_ << j.dump() << std::endl; }
void JsonLinesProgress::message(const std::string& text) { emit({{"event", "message"}, {"text", text}}); }
void JsonLinesProgress::step(const StepProgress& p) { emit(to_json(p)); }
void JsonLinesProgress::result(const ResultProgress& r) { emit(to_json(r)); }
void JsonLinesProgress::wrote(const std::string& path, const std::string& what) {
  emit({{"event", "wrote"}, {"path", path}, {"what", what}});
}

}  // namespace strata::app
