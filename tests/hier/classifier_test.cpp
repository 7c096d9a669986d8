// Tests of the base-learner factory and the tagged classifier format (kind string + payload).
#include "strata/hier/classifier.h"

#include <gtest/gtest.h>

#include "strata/core/error.h"

namespace strata::hier {
namespace {

TEST(Classifier, MakeByKind) {
  LearnerConfig cfg;
  cfg.kind = "forest";
  EXPECT_EQ(make_classifier(cfg)->kind(), "forest");
  cfg.kind = "logistic";
  EXPECT_EQ(make_classifier(cfg)->kind(), "logistic");
  cfg.kind = "svm";
  try {
    make_classifier(cfg);
    FAIL() << "no error for an unknown kind";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("svm"), std::string::npos);
    EXPECT_NE(msg.find("forest"), std::string::npos);
    EXPECT_NE(msg.find("logistic"), std::string::npos);
  }
}

TEST(Classifier, FactoryPassesTheConfig) {
  // A 1-tree depth-1 forest made through the factory has exactly one split.
  LearnerConfig cfg;
  cfg.forest.n_trees = 1;
  cfg.forest.max_depth = 1;
  cfg.forest.threads = 1;
  auto c = make_classifier(cfg);
  std::vector<float> x = {0, 1, 2, 3, 10, 11, 12, 13};
  std::vector<std::int32_t> y = {0, 0, 0, 0, 1, 1, 1, 1};
  c->fit(x.data(), 8, 1, y.data(), 2);
  Writer w;
  save_classifier(*c, w);
  Reader r(w.bytes(), "c.bin");
  auto back = load_classifier(r);
  std::vector<float> p(16);
  back->predict_proba(x.data(), 8, 1, p.data());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(p[i * 2 + y[i]], 1.0f);
}

TEST(Classifier, UnknownKindInFileNamesTheOffset) {
  Writer w;
  w.str("boosting");
  Reader r(w.bytes(), "model.bin");
  try {
    load_classifier(r);
    FAIL() << "no error for an unknown kind";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("model.bin"), std::string::npos);
    EXPECT_NE(msg.find("byte 0"), std::string::npos);
    EXPECT_NE(msg.find("boosting"), std::string::npos);
  }
  const std::string empty;
  Reader r2(empty, "empty.bin");
  EXPECT_THROW(load_classifier(r2), Error);
}

}  // namespace
}  // namespace strata::hier
