// Load times of the data readers on Fashion-MNIST train (60000 x 784): the gzip IDX files, the same data as a
// 60000 x 785 CSV of integer pixels, and as .npy + labels.txt; against NumPy doing the same reads in the same run
// (gzip + frombuffer, np.loadtxt, np.load). Usage: data_load_bench [--runs N] [--no-peer] [--keep DIR]
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "strata/data/dataset.h"

namespace {

using strata::data::Dataset;

struct Stats {
  double min = 0, median = 0;
};

Stats stats(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}

std::vector<double> time_runs(int runs, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return t;
}

void write_csv(const Dataset& ds, const std::string& path) {
  std::string s = "label";
  for (std::size_t j = 0; j < ds.d; ++j) s += ",p" + std::to_string(j);
  s += '\n';
  s.reserve(ds.n * ds.d * 3);
  char buf[16];
  for (std::size_t i = 0; i < ds.n; ++i) {
    s += std::to_string(ds.y[i]);
    for (std::size_t j = 0; j < ds.d; ++j) {
      s += ',';
      auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int>(ds.row(i)[j] * 255.0f + 0.5f));
      s.append(buf, r.ptr);
    }
    s += '\n';
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(s.data(), 1, s.size(), f);
  std::fclose(f);
}

// Runs the NumPy peer; returns name -> per-run seconds.
std::map<std::string, std::vector<double>> run_peer(const std::string& dir, int runs) {
  const std::string script = R"PY(
import gzip, sys, time
import numpy as np
d, runs = sys.argv[1], int(sys.argv[2])
def t(name, fn, n):
    for _ in range(n):
        t0 = time.perf_counter(); fn(); print(name, time.perf_counter() - t0, flush=True)
def idx():
    fm = '/usr/share/datasets/fashion-mnist/'
    b = gzip.open(fm + 'train-images-idx3-ubyte.gz').read()
    x = np.frombuffer(b, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / np.float32(255)
    y = np.frombuffer(gzip.open(fm + 'train-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)
def csv():
    a = np.loadtxt(d + '/train.csv', delimiter=',', skiprows=1, dtype=np.float32)
def npy():
    x = np.load(d + '/train.npy'); y = open(d + '/train_labels.txt').read().splitlines()
t('idx', idx, runs); t('csv', csv, max(1, runs // 2)); t('npy', npy, runs)
)PY";
  const std::string spath = dir + "/peer.py";
  std::FILE* f = std::fopen(spath.c_str(), "w");
  std::fputs(script.c_str(), f);
  std::fclose(f);
  std::map<std::string, std::vector<double>> out;
  std::string cmd = "/usr/bin/python3 " + spath + " " + dir + " " + std::to_string(runs) + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[512];
  while (std::fgets(line, sizeof line, p)) {
    char name[64];
    double sec;
    if (std::sscanf(line, "%63s %lf", name, &sec) == 2)
      out[name].push_back(sec);
    else
      std::fprintf(stderr, "peer: %s", line);
  }
  ::pclose(p);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  bool peer = true;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--no-peer"))
      peer = false;
    else if (!std::strcmp(argv[i], "--keep") && i + 1 < argc)
      keep = argv[++i];
  }
  try {
    const std::string dir =
        keep.empty()
            ? (std::filesystem::temp_directory_path() / ("strata_data_bench_" + std::to_string(::getpid()))).string()
            : keep;
    std::filesystem::create_directories(dir);
    Dataset train;
    auto t_idx = time_runs(runs, [&] { train = strata::data::load("fashion-mnist:train"); });
    write_csv(train, dir + "/train.csv");
    strata::data::save_npy(dir + "/train.npy", train.x.data(), train.n, train.d);
    strata::data::save_labels_txt(dir + "/train_labels.txt", train.label_names());
    auto t_csv = time_runs(runs, [&] { (void)strata::data::load(dir + "/train.csv"); });
    strata::data::LoadOptions o;
    o.labels_path = dir + "/train_labels.txt";
    auto t_npy = time_runs(runs, [&] { (void)strata::data::load(dir + "/train.npy", o); });

    std::map<std::string, std::vector<double>> p;
    if (peer) p = run_peer(dir, runs);
    std::printf("Fashion-MNIST train, 60000 x 784, %d runs; seconds (min / median)\n", runs);
    std::printf("%-34s %17s %17s %8s\n", "reader", "strata", "numpy peer", "speedup");
    auto row = [&](const char* name, const char* key, const std::vector<double>& ours) {
      Stats s = stats(ours);
      if (p.count(key)) {
        Stats q = stats(p[key]);
        std::printf("%-34s %7.3f / %7.3f %7.3f / %7.3f %7.2fx\n", name, s.min, s.median, q.min, q.median,
                    q.median / s.median);
      } else {
        std::printf("%-34s %7.3f / %7.3f %17s %8s\n", name, s.min, s.median, "-", "-");
      }
    };
    row("fashion-mnist:train (gzip IDX)", "idx", t_idx);
    row("train.csv (integer pixels, 130 MB)", "csv", t_csv);
    row("train.npy + train_labels.txt", "npy", t_npy);
    if (keep.empty()) std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "data_load_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
