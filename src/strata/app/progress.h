// Sinks for core/progress.h events: the CLI's "strata: ..." lines on stderr, JSON lines (one object per event) for
// logs and other programs. The Python bindings add a callback sink.
#pragma once
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "strata/core/progress.h"

namespace strata::app {

// "1h2m", "3m4s", "5s"; "?" when unknown.
std::string format_duration(double seconds);

// The event as one JSON object: {"event": "step", "step": 3, ...}.
nlohmann::json to_json(const StepProgress& p);
nlohmann::json to_json(const ResultProgress& r);

// What the CLI prints: "strata: " + a line per event, flushed at once.
class TextProgress : public ProgressSink {
 public:
  explicit TextProgress(std::ostream& out) : out_(out) {}
  void message(const std::string& text) override;
  void step(const StepProgress& p) override;
  void result(const ResultProgress& r) override;
  void wrote(const std::string& path, const std::string& what) override;

 private:
  std::ostream& out_;
};

// One JSON object per line per event (messages too), flushed at once, so a reader can follow the stream live.
class JsonLinesProgress : public ProgressSink {
 public:
  explicit JsonLinesProgress(std::ostream& out) : out_(out) {}
  void message(const std::string& text) override;
  void step(const StepProgress& p) override;
  void result(const ResultProgress& r) override;
  void wrote(const std::string& path, const std::string& what) override;

 private:
  void emit(const nlohmann::json& j);
  std::ostream& out_;
};

}  // namespace strata::app
