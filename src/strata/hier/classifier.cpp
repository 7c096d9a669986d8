// The base-learner factory and the tagged on-disk form of a classifier: its kind string, then its own payload.
#include "strata/hier/classifier.h"

#include "strata/core/error.h"
#include "strata/hier/forest.h"
#include "strata/hier/logistic.h"

namespace strata::hier {

std::unique_ptr<Classifier> make_classifier(const LearnerConfig& cfg) {
  if (cfg.kind == "forest") return std::make_unique<RandomForest>(cfg.forest);
  if (cfg.kind == "logistic") return std::make_unique<LogisticRegression>(cfg.logistic);
  bad_input("learner kind: expected one of \"forest\", \"logistic\", got \"", cfg.kind, "\"");
}

void write_payload_header(Writer& w, std::uint32_t version, int n_classes, std::size_t d) {
  w.pod<std::uint32_t>(version);
  w.pod<std::int32_t>(n_classes);
  w.pod<std::uint64_t>(d);
}

PayloadHeader read_payload_header(Reader& r, const std::string& kind, std::uint32_t version) {
  const auto found = r.pod<std::uint32_t>(cat(kind, " format version").c_str());
  r.expect(found == version, cat(kind, ": expected format version ", version, ", found ", found));
  PayloadHeader h;
  h.n_classes = r.pod<std::int32_t>(cat(kind, " n_classes").c_str());
  r.expect(h.n_classes >= 1, cat(kind, ": n_classes must be >= 1, found ", h.n_classes));
  const auto d = r.pod<std::uint64_t>(cat(kind, " feature count").c_str());
  r.expect(d >= 1 && d < (1ull << 31), cat(kind, ": feature count out of range: ", d));
  h.d = static_cast<std::size_t>(d);
  return h;
}

void save_classifier(const Classifier& c, Writer& w) {
  w.str(c.kind());
  c.save(w);
}

std::unique_ptr<Classifier> load_classifier(Reader& r) {
  const std::size_t at = r.offset();
  const std::string kind = r.str("classifier kind");
  std::unique_ptr<Classifier> c;
  if (kind == "forest") {
    c = std::make_unique<RandomForest>();
  } else if (kind == "logistic") {
    c = std::make_unique<LogisticRegression>();
  } else {
    bad_input(r.where(), ": at byte ", at, ": expected classifier kind \"forest\" or \"logistic\", found \"",
              kind.substr(0, 64), "\"");
  }
  c->load(r);
  return c;
}

}  // namespace strata::hier
