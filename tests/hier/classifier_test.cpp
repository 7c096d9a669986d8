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

// Both learners' payloads start with the header read_payload_header checks; its errors name the file, the
// learner and the field, with what was expected and what was found.
TEST(Classifier, PayloadHeaderErrorsNameFileFieldAndValues) {
  auto error_of = [](const Writer& w, const std::string& kind) {
    Reader r(w.bytes(), "h.bin");
    try {
      read_payload_header(r, kind, 1);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Writer good;
  write_payload_header(good, 1, 3, 7);
  Reader r(good.bytes(), "h.bin");
  const PayloadHeader h = read_payload_header(r, "forest", 1);
  EXPECT_EQ(h.n_classes, 3);
  EXPECT_EQ(h.d, 7u);
  EXPECT_TRUE(r.done());

  Writer version;
  write_payload_header(version, 2, 3, 7);
  std::string msg = error_of(version, "forest");
  EXPECT_NE(msg.find("h.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("forest: expected format version 1, found 2"), std::string::npos) << msg;
  Writer classes;
  write_payload_header(classes, 1, 0, 7);
  msg = error_of(classes, "logistic");
  EXPECT_NE(msg.find("logistic: n_classes must be >= 1, found 0"), std::string::npos) << msg;
  Writer features;
  write_payload_header(features, 1, 2, 0);
  msg = error_of(features, "forest");
  EXPECT_NE(msg.find("forest: feature count out of range: 0"), std::string::npos) << msg;
  Writer cut;
  cut.pod<std::uint32_t>(1);
  cut.pod<std::int32_t>(2);
  msg = error_of(cut, "logistic");
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("logistic feature count"), std::string::npos) << msg;
}

}  // namespace
}  // namespace strata::hier
