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
