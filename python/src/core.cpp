// strata._core: the pybind11 bindings under `import strata`. Thin on purpose: numbers in, numbers out; validation,
// label encoding and the scikit-learn conventions live in python/strata/. Long calls run the C++ on a worker thread
// without the GIL while the calling thread watches for Ctrl-C (see run_released) and turns it into a cancel.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "strata/app/inference.h"
#include "strata/app/token_data.h"
#include "strata/app/trainer.h"
#include "strata/core/error.h"
#include "strata/core/json.h"
#include "strata/core/label_tree.h"
#include "strata/core/progress.h"
#include "strata/core/rng.h"
#include "strata/data/dataset.h"
#include "strata/data/text.h"
#include "strata/hier/baselines.h"
#include "strata/hier/experiment.h"
#include "strata/hier/gmm.h"
#include "strata/hier/hierarchical.h"
#include "strata/hier/induce.h"
#include "strata/hier/metrics.h"

namespace py = pybind11;
using namespace strata;

namespace {

using F32 = py::array_t<float, py::array::c_style>;
using I32 = py::array_t<std::int32_t, py::array::c_style>;

// Progress events as dicts handed to a Python callable (or nowhere when it is None). Events arrive on the worker
// thread, so each one takes the GIL; an exception in the callback cancels the operation and is re-raised after it.
class PySink : public ProgressSink {
 public:
  explicit PySink(py::object callback) : callback_(std::move(callback)), active_(!callback_.is_none()) {}
  ~PySink() override {
    py::gil_scoped_acquire gil;
    callback_ = py::object();
  }

  void message(const std::string& text) override {
    emit([&] { return py::dict(py::arg("event") = "message", py::arg("text") = text); });
  }
  void step(const StepProgress& p) override {
    emit([&] {
      return py::dict(py::arg("event") = "step", py::arg("step") = p.step, py::arg("total") = p.total,
                      py::arg("loss") = p.loss, py::arg("lr") = p.lr, py::arg("tokens_per_s") = p.tokens_per_s,
                      py::arg("eta_seconds") = p.eta_seconds);
    });
  }
  void result(const ResultProgress& r) override {
    emit([&] {
      py::dict values;
      for (const auto& [k, v] : r.values) values[py::str(k)] = v;
      return py::dict(py::arg("event") = "result", py::arg("experiment") = r.experiment, py::arg("index") = r.index,
                      py::arg("count") = r.count, py::arg("label") = r.label, py::arg("values") = values,
                      py::arg("summary") = r.summary);
    });
  }
  void wrote(const std::string& path, const std::string& what) override {
    emit([&] { return py::dict(py::arg("event") = "wrote", py::arg("path") = path, py::arg("what") = what); });
  }

  std::optional<py::error_already_set> callback_error;  // set and read with the GIL held

 private:
  template <typename Make>
  void emit(Make&& make) {
    if (!active_) return;
    py::gil_scoped_acquire gil;
    if (callback_error) return;
    try {
      callback_(make());
    } catch (py::error_already_set& e) {
      callback_error = std::move(e);
      request_cancel();
    }
  }
  py::object callback_;
  bool active_;
};

// Runs work() on a worker thread with the GIL released. The calling thread waits in 50 ms slices; between them it
// takes the GIL for PyErr_CheckSignals (signal handlers run only on the main thread, and only when it asks), so a
// Ctrl-C requests cancellation through the sink and the operation stops at its next check (between trees, node
// models, seeds or steps). Other Python threads run freely meanwhile. A pending KeyboardInterrupt wins over the
// work's own outcome; strata::Cancelled from the work itself is translated to KeyboardInterrupt too.
template <typename Work>
void run_released(PySink& sink, Work&& work) {
  std::exception_ptr err;
  std::optional<py::error_already_set> interrupt;
  {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    py::gil_scoped_release nogil;
    std::thread worker([&] {
      try {
        work();
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lk(mu);
      done = true;
      cv.notify_all();
    });
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu);
        if (cv.wait_for(lk, std::chrono::milliseconds(50), [&] { return done; })) break;
      }
      if (interrupt) continue;
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) {
        interrupt.emplace();  // fetches the KeyboardInterrupt (or whatever the handler raised)
        sink.request_cancel();
      }
    }
    worker.join();
  }
  if (interrupt) throw std::move(*interrupt);
  if (sink.callback_error) throw std::move(*sink.callback_error);
  if (err) std::rethrow_exception(err);
}

void check_rows(const F32& x, const char* what) {
  if (x.ndim() != 2) throw py::value_error(std::string(what) + ": expected a 2-D array");
}

void check_labels(const I32& y, std::size_t n, const char* what) {
  if (y.ndim() != 1 || static_cast<std::size_t>(y.shape(0)) != n)
    throw py::value_error(cat(what, ": expected ", n, " labels, found ", y.size()));
}

// A Dataset copy of (x, y) for the operations that take one (induction, compare): documented as copying.
data::Dataset make_dataset(const F32& x, const I32& y, const std::vector<std::string>& classes, const char* source) {
  check_rows(x, source);
  data::Dataset ds;
  ds.n = static_cast<std::size_t>(x.shape(0));
  ds.d = static_cast<std::size_t>(x.shape(1));
  check_labels(y, ds.n, source);
  ds.x.assign(x.data(), x.data() + ds.n * ds.d);
  ds.y.assign(y.data(), y.data() + ds.n);
  ds.classes = classes;
  ds.source = source;
  for (std::int32_t v : ds.y)
    if (v < 0 || static_cast<std::size_t>(v) >= classes.size())
      throw py::value_error(cat(source, ": label id ", v, " outside [0, ", classes.size(), ")"));
  return ds;
}

hier::LearnerConfig learner_config(const py::dict& p) {
  hier::LearnerConfig c;
  c.kind = p["kind"].cast<std::string>();
  if (c.kind != "forest" && c.kind != "logistic")
    bad_input("estimator: expected 'forest' or 'logistic', found '", c.kind, "'");
  c.forest.n_trees = p["n_trees"].cast<int>();
  c.forest.max_depth = p["max_depth"].cast<int>();
  c.forest.min_samples_leaf = p["min_samples_leaf"].cast<int>();
  c.forest.honest = p["honest"].cast<bool>();
  c.forest.seed = p["seed"].cast<std::uint64_t>();
  c.forest.threads = p["threads"].cast<int>();
  c.logistic.l2 = p["l2"].cast<double>();
  c.logistic.threads = c.forest.threads;
  if (p.contains("max_features")) c.forest.max_features = p["max_features"].cast<int>();
  if (p.contains("max_iter")) c.logistic.max_iter = p["max_iter"].cast<int>();
  return c;
}

hier::InduceConfig induce_config(const py::dict& p) {
  hier::InduceConfig c;
  c.method = p["method"].cast<std::string>();
  c.embed = p["embed"].cast<std::string>();
  c.cluster = p["cluster"].cast<std::string>();
  c.linkage = p["linkage"].cast<std::string>();
  c.k_min = p["k_min"].cast<int>();
  c.k_max = p["k_max"].cast<int>();
  c.dims = p["dims"].cast<int>();
  c.pca_dims = p["pca"].cast<int>();
  c.negatives = p["negatives"].cast<int>();
  c.reg_covar = p["reg_covar"].cast<double>();
  auto cov = p["covariance"].cast<std::vector<std::string>>();
  if (!cov.empty()) {
    c.covariances.clear();
    for (const auto& s : cov) c.covariances.push_back(hier::parse_covariance(s));
  }
  c.seed = p["seed"].cast<std::uint64_t>();
  c.threads = p["threads"].cast<int>();
  hier::validate(c);
  return c;
}

// The hierarchical classifier as Python holds it: fitted in C++, saved and loaded as strata's .strata file.
class Model {
 public:
  void fit(const F32& x, const I32& y, const std::string& tree_json, const py::dict& learner,
           const std::string& routing, std::uint64_t seed, int threads, py::object callback) {
    check_rows(x, "X");
    const std::size_t n = static_cast<std::size_t>(x.shape(0)), d = static_cast<std::size_t>(x.shape(1));
    check_labels(y, n, "y");
    const LabelTree tree = LabelTree::from_json(tree_json, "tree");
    hier::HierarchicalConfig hc;
    hc.learner = learner_config(learner);
    hc.routing = parse_routing(routing);
    hc.seed = seed;
    hc.threads = threads;
    auto clf = std::make_unique<hier::HierarchicalClassifier>(hc);
    PySink sink(std::move(callback));
    const float* xp = x.data();  // read in place: the array stays referenced by the caller for the whole call
    const std::int32_t* yp = y.data();
    run_released(sink, [&] { clf->fit(xp, n, d, yp, tree, &sink, "X"); });
    clf_ = std::move(clf);
  }

  py::array_t<float> predict_proba(const F32& x) const {
    const auto& c = fitted();
    check_rows(x, "X");
    const std::size_t n = static_cast<std::size_t>(x.shape(0)), d = static_cast<std::size_t>(x.shape(1));
    py::array_t<float> out({n, static_cast<std::size_t>(c.num_classes())});
    float* o = out.mutable_data();
    const float* xp = x.data();
    {
      py::gil_scoped_release nogil;
      c.predict_proba(xp, n, d, o);
    }
    return out;
  }

  py::array_t<std::int32_t> predict(const F32& x) const {
    const auto& c = fitted();
    check_rows(x, "X");
    const std::size_t n = static_cast<std::size_t>(x.shape(0)), d = static_cast<std::size_t>(x.shape(1));
    std::vector<int> p;
    const float* xp = x.data();
    {
      py::gil_scoped_release nogil;
      p = c.predict(xp, n, d);
    }
    py::array_t<std::int32_t> out(n);
    std::copy(p.begin(), p.end(), out.mutable_data());
    return out;
  }

  void set_routing(const std::string& routing) {
    if (clf_) clf_->set_routing(parse_routing(routing));
  }
  void save(const std::string& path) const { fitted().save(path); }
  static Model load(const std::string& path) {
    Model m;
    m.clf_ = std::make_unique<hier::HierarchicalClassifier>(hier::HierarchicalClassifier::load(path));
    return m;
  }
  std::string tree_json() const { return fitted().tree().to_json(); }
  std::vector<std::string> classes() const { return fitted().classes(); }
  std::size_t n_features() const { return fitted().num_features(); }
  int num_node_models() const { return fitted().num_node_models(); }
  double fit_seconds() const { return fitted().fit_seconds(); }
  bool is_fitted() const { return clf_ && clf_->fitted(); }

 private:
  static hier::HierarchicalConfig::Routing parse_routing(const std::string& r) {
    if (r == "soft") return hier::HierarchicalConfig::Routing::kSoft;
    if (r == "hard") return hier::HierarchicalConfig::Routing::kHard;
    bad_input("routing: expected 'soft' or 'hard', found '", r, "'");
  }
  const hier::HierarchicalClassifier& fitted() const {
    if (!clf_ || !clf_->fitted()) bad_input("the model is not fitted");
    return *clf_;
  }
  std::unique_ptr<hier::HierarchicalClassifier> clf_;
};

py::dict induce(const F32& x, const I32& y, const std::vector<std::string>& classes, const py::dict& params,
                py::object callback) {
  const data::Dataset ds = make_dataset(x, y, classes, "X");
  const hier::InduceConfig cfg = induce_config(params);
  PySink sink(std::move(callback));
  hier::InduceResult r;
  run_released(sink, [&] { r = hier::induce(ds, cfg); });
  py::dict out;
  out["tree"] = r.tree.to_json();
  out["groups"] = r.groups;
  out["k"] = r.k;
  out["detail"] = r.detail;
  out["seconds"] = r.seconds;
  return out;
}

py::dict compare(const F32& xtr, const I32& ytr, const F32& xte, const I32& yte,
                 const std::vector<std::string>& classes, const py::dict& learner, const py::dict& induce_params,
                 std::size_t per_class, int seeds, std::uint64_t seed, std::optional<std::string> true_tree,
                 int threads, py::object callback) {
  const data::Dataset train = make_dataset(xtr, ytr, classes, "X_train");
  const data::Dataset test = make_dataset(xte, yte, classes, "X_test");
  hier::CompareConfig cfg;
  cfg.learner = learner_config(learner);
  cfg.induce = induce_config(induce_params);
  cfg.per_class = per_class;
  cfg.seeds = seeds;
  cfg.seed = seed;
  cfg.threads = threads;
  if (true_tree) cfg.true_tree = LabelTree::from_json(*true_tree, "true_tree");
  PySink sink(std::move(callback));
  hier::CompareResult r;
  run_released(sink, [&] { r = hier::run_compare(train, test, cfg, sink); });
  py::dict out;
  out["table"] = r.to_table();
  out["json"] = r.to_json();
  std::vector<std::string> trees;
  for (const auto& t : r.induced_trees) trees.push_back(t.to_json());
  out["induced_trees"] = trees;
  return out;
}

// A trained text model (a `strata train --save` directory) opened for inference.
class TextModel {
 public:
  TextModel(const std::string& dir, int threads, int micro_batch) {
    lm_ = std::make_unique<app::LoadedModel>(app::load_model_dir(dir, threads, micro_batch));
  }
  std::vector<std::string> classes() const {
    std::vector<std::string> c(lm_->config.num_labels);
    for (int i = 0; i < lm_->config.num_labels; ++i) c[i] = lm_->config.label(i);
    return c;
  }
  int seq_len() const { return lm_->seq_len; }
  int hidden() const { return lm_->config.hidden_size; }

  // Pooled [CLS] vectors (n, hidden) of texts tokenized with the model's tokenizer.
  py::array_t<float> pooled(const std::vector<std::string>& texts, int seq_len) {
    const data::TokenDataset td = tokens(texts, seq_len);
    std::vector<float> v;
    PySink sink{py::none()};
    run_released(sink, [&] { v = app::pooled_vectors(*lm_->executor, td); });
    const std::size_t h = td.n ? v.size() / td.n : static_cast<std::size_t>(hidden());
    py::array_t<float> out({static_cast<std::size_t>(td.n), h});
    std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(float));
    return out;
  }
  // Predicted class ids and accuracy against y (model class ids) with the CLI's evaluate().
  py::tuple evaluate(const std::vector<std::string>& texts, const std::vector<std::int32_t>& y, int seq_len) {
    data::TokenDataset td = tokens(texts, seq_len);
    td.y = y;
    app::EvalResult r;
    PySink sink{py::none()};
    run_released(sink, [&] { r = app::evaluate(*lm_->executor, td, y); });
    return py::make_tuple(r.predicted, r.accuracy, r.loss);
  }

 private:
  data::TokenDataset tokens(const std::vector<std::string>& texts, int seq_len) {
    data::TextDataset t;
    t.texts = texts;
    t.y.assign(texts.size(), 0);
    t.classes = classes();
    t.source = "texts";
    t.keys.resize(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) t.keys[i] = i;
    app::TokenData td = app::encode_text(t, lm_->tokenizer_path, seq_len > 0 ? seq_len : lm_->seq_len);
    return std::move(td.tokens);
  }
  std::unique_ptr<app::LoadedModel> lm_;
};

// Options as the CLI's flag names ("device-memory", "micro-batch", ...), read by the same table as a checkpoint.
app::TrainOptions train_options(const py::dict& d) {
  const auto j = parse_json(py::module_::import("json").attr("dumps")(d).cast<std::string>(), "training options");
  return app::train_options_from_json(j, app::TrainOptions{});
}

py::dict train_text(const py::dict& options, const std::vector<std::string>& explicit_flags, py::object callback) {
  const app::TrainOptions o = train_options(options);
  const std::set<std::string> flags(explicit_flags.begin(), explicit_flags.end());
  PySink sink(std::move(callback));
  app::TrainResult r;
  run_released(sink, [&] { r = app::train(o, flags, sink); });
  py::dict out;
  out["report"] = r.report.dump();
  out["losses"] = r.losses;
  return out;
}

void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const Cancelled&) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
  } catch (const Error& e) {
    const std::string msg = e.what();
    PyObject* type = PyExc_RuntimeError;
    if (e.code() == ExitCode::kBadInput) {
      const bool missing = msg.find("cannot open for reading") != std::string::npos ||
                           msg.find("No such file") != std::string::npos ||
                           msg.find("does not exist") != std::string::npos;
      type = missing ? PyExc_FileNotFoundError : PyExc_ValueError;
    } else if (e.code() == ExitCode::kResource) {
      type = PyExc_MemoryError;
    }
    PyErr_SetString(type, msg.c_str());
  }
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "strata's C++ core (see the strata package for the scikit-learn API)";
  m.attr("__version__") = STRATA_VERSION;
  py::register_exception_translator(&translate);

  py::class_<Model>(m, "Model")
      .def(py::init<>())
      .def("fit", &Model::fit, py::arg("X").noconvert(), py::arg("y").noconvert(), py::arg("tree_json"),
           py::arg("learner"), py::arg("routing"), py::arg("seed"), py::arg("threads"), py::arg("callback"))
      .def("predict_proba", &Model::predict_proba, py::arg("X").noconvert())
      .def("predict", &Model::predict, py::arg("X").noconvert())
      .def("set_routing", &Model::set_routing)
      .def("save", &Model::save)
      .def_static("load", &Model::load)
      .def_property_readonly("tree_json", &Model::tree_json)
      .def_property_readonly("classes", &Model::classes)
      .def_property_readonly("n_features", &Model::n_features)
      .def_property_readonly("num_node_models", &Model::num_node_models)
      .def_property_readonly("fit_seconds", &Model::fit_seconds)
      .def_property_readonly("is_fitted", &Model::is_fitted);

  m.def("induce", &induce, py::arg("X").noconvert(), py::arg("y").noconvert(), py::arg("classes"), py::arg("params"),
        py::arg("callback"));
  m.def("compare", &compare, py::arg("X_train").noconvert(), py::arg("y_train").noconvert(),
        py::arg("X_test").noconvert(), py::arg("y_test").noconvert(), py::arg("classes"), py::arg("learner"),
        py::arg("induce"), py::arg("per_class"), py::arg("seeds"), py::arg("seed"), py::arg("true_tree"),
        py::arg("threads"), py::arg("callback"));

  // Label trees travel as strata's JSON; these normalise, validate and draw them.
  m.def("tree_normalize", [](const std::string& j) { return LabelTree::from_json(j, "tree").to_json(); });
  // The tree as flat lists (node 0 the root): Python walks them with loops, whatever the depth (its json module and
  // any recursion stop near 1000 levels; strata's trees may be kMaxTreeDepth deep).
  m.def("tree_nodes", [](const std::string& j) {
    const LabelTree t = LabelTree::from_json(j, "tree");
    py::list children, names, class_ids;
    for (const LabelTree::Node& n : t.nodes) {
      children.append(py::cast(n.children));
      names.append(n.name.empty() ? py::object(py::none()) : py::object(py::str(n.name)));
      class_ids.append(n.class_id);
    }
    return py::make_tuple(t.class_names, children, names, class_ids);
  });
  m.def("tree_flat", [](const std::vector<std::string>& c) { return LabelTree::flat(c).to_json(); });
  m.def("tree_from_groups", [](const std::vector<int>& g, const std::vector<std::string>& c) {
    return LabelTree::from_groups(g, c).to_json();
  });
  m.def("tree_to_dot", [](const std::string& j) { return LabelTree::from_json(j, "tree").to_dot(); });
  m.def("tree_to_svg", [](const std::string& j) { return LabelTree::from_json(j, "tree").to_svg(); });
  m.def("tree_random_like", [](const std::string& j, std::uint64_t seed) {
    return hier::random_tree_like(LabelTree::from_json(j, "tree"), seed).to_json();
  });
  m.def("derive_seed", [](std::uint64_t seed, std::uint64_t k) { return derive_seed(seed, k); });
  m.def("hierarchical_prf", [](const std::vector<int>& t, const std::vector<int>& p, const std::string& j) {
    const hier::HierPrf r = hier::hierarchical_prf(t, p, LabelTree::from_json(j, "tree"));
    return py::make_tuple(r.precision, r.recall, r.f1);
  });
  m.def("adjusted_rand_index", &hier::adjusted_rand_index);

  py::class_<TextModel>(m, "TextModel")
      .def(py::init<const std::string&, int, int>(), py::arg("dir"), py::arg("threads"), py::arg("micro_batch"))
      .def_property_readonly("classes", &TextModel::classes)
      .def_property_readonly("seq_len", &TextModel::seq_len)
      .def_property_readonly("hidden", &TextModel::hidden)
      .def("pooled", &TextModel::pooled)
      .def("evaluate", &TextModel::evaluate);
  m.def("train_text", &train_text, py::arg("options"), py::arg("explicit_flags"), py::arg("callback"));

  // Test hook: a fit-like call that only waits for cancellation (checks every 10 ms, up to `seconds`), so the
  // Ctrl-C path is testable without a long real fit. Returns the seconds it ran.
  m.def("_wait_cancellable", [](double seconds) {
    PySink sink{py::none()};
    double ran = 0;
    run_released(sink, [&] {
      const auto t0 = std::chrono::steady_clock::now();
      for (;;) {
        ran = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (ran >= seconds) break;
        sink.check_cancel();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    return ran;
  });
}
