// IDX readers: validate magic, dimensions and byte counts before touching the payload, then convert the whole
// decompressed buffer in one tight loop (60000 x 784 in well under a second, most of it zlib).
#include "strata/data/idx.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "strata/core/error.h"
#include "strata/data/file_bytes.h"
#include "strata/data/labels.h"

namespace strata::data {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension
constexpr const char* kFashionDefaultDir = "/usr/share/datasets/fashion-mnist";
const char* const kFashionClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::uint32_t be32(const std::string& b, std::size_t off) {
  auto u = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(b[off + i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

// Checks magic and size; returns the dimensions.
std::vector<std::size_t> idx_header(const std::string& b, const std::string& path, std::uint32_t magic,
                                    const char* what) {
  const std::size_t ndim = magic & 0xff;
  const std::size_t header = 4 + 4 * ndim;
  if (b.empty()) bad_input(path, ": file is empty; expected an IDX ", what, " file (magic ", hex32(magic), ")");
  if (b.size() < 4) bad_input(path, ": truncated IDX header: expected ", header, " bytes, found ", b.size());
  const std::uint32_t m = be32(b, 0);
  if (m != magic) {
    std::string hint;
    if (m == kImagesMagic || m == kLabelsMagic)
      hint = m == kImagesMagic ? " (this is an images file)" : " (this is a labels file)";
    else if ((m >> 16) != 0)
      hint = " (not an IDX file)";
    else if (((m >> 8) & 0xff) != 0x08)
      hint = cat(" (element type ", hex32((m >> 8) & 0xff), "; only unsigned byte 0x08 is supported)");
    bad_input(path, ": offset 0: bad IDX magic ", hex32(m), "; expected ", hex32(magic), " (unsigned-byte ", what, ", ",
              ndim, " dimension", ndim > 1 ? "s" : "", ")", hint);
  }
  if (b.size() < header) bad_input(path, ": truncated IDX header: expected ", header, " bytes, found ", b.size());
  std::vector<std::size_t> dims(ndim);
  std::size_t payload = 1;
  for (std::size_t k = 0; k < ndim; ++k) {
    dims[k] = be32(b, 4 + 4 * k);
    if (dims[k] == 0) bad_input(path, ": offset ", 4 + 4 * k, ": dimension ", k, " is 0; expected at least 1");
    payload *= dims[k];  // three 32-bit factors cannot overflow size_t when the file must hold them anyway
    if (payload > (std::size_t{1} << 40))
      bad_input(path, ": dimensions imply more than 2^40 bytes; not an IDX ", what, " file");
  }
  const std::size_t expected = header + payload;
  if (b.size() < expected) {
    std::string dimstr;
    for (std::size_t k = 0; k < ndim; ++k) dimstr += (k ? " x " : "") + std::to_string(dims[k]);
    bad_input(path, ": truncated: ", dimstr, " ", what, " need ", expected, " bytes (", header, " header + ", payload,
              " data), found ", b.size());
  }
  if (b.size() > expected)
    bad_input(path, ": ", b.size() - expected, " unexpected bytes after the data at offset ", expected,
              "; expected exactly ", expected, " bytes");
  return dims;
}

struct RawIdx {
  std::size_t n = 0, d = 0;
  std::vector<float> x;               // (n, d) scaled to [0, 1]
  std::vector<unsigned char> labels;  // (n)
};

RawIdx read_pair(const std::string& images_path, const std::string& labels_path) {
  RawIdx r;
  {
    const std::string lb = read_bytes(labels_path);
    auto ldims = idx_header(lb, labels_path, kLabelsMagic, "labels");
    r.labels.assign(lb.begin() + 8, lb.end());
    (void)ldims;
  }
  const std::string ib = read_bytes(images_path);
  auto idims = idx_header(ib, images_path, kImagesMagic, "images");
  r.n = idims[0];
  r.d = idims[1] * idims[2];
  if (r.labels.size() != r.n)
    bad_input(images_path, " holds ", r.n, " images but ", labels_path, " holds ", r.labels.size(),
              " labels; the counts must agree");
  r.x = make_floats(r.n * r.d);
  const unsigned char* src = reinterpret_cast<const unsigned char*>(ib.data()) + 16;
  float* dst = r.x.data();
  const std::size_t total = r.n * r.d;
  for (std::size_t i = 0; i < total; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  return r;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// dir/name.gz if present, else dir/name (uncompressed); empty if neither.
std::string find_idx(const std::string& dir, const std::string& name) {
  std::string gz = dir + "/" + name + ".gz";
  if (exists(gz)) return gz;
  std::string plain = dir + "/" + name;
  if (exists(plain)) return plain;
  return "";
}

}  // namespace

std::string fashion_mnist_dir() {
  const char* env = std::getenv("STRATA_FASHION_MNIST_DIR");
  return env && *env ? std::string(env) : std::string(kFashionDefaultDir);
}

Dataset load_fashion_mnist(const std::string& split, const LoadOptions& opts) {
  std::string prefix;
  if (split == "train")
    prefix = "train";
  else if (split == "test")
    prefix = "t10k";
  else
    bad_input("fashion-mnist:", split, ": unknown split '", split,
              "'; expected fashion-mnist:train or fashion-mnist:test");
  const std::string dir = fashion_mnist_dir();
  const std::string img_name = prefix + "-images-idx3-ubyte", lab_name = prefix + "-labels-idx1-ubyte";
  const std::string img = find_idx(dir, img_name), lab = find_idx(dir, lab_name);
  if (img.empty() || lab.empty())
    bad_input("fashion-mnist:", split, ": ", dir, "/", img.empty() ? img_name : lab_name,
              "[.gz] not found; install the Debian package dataset-fashion-mnist or set STRATA_FASHION_MNIST_DIR "
              "to a directory holding ",
              img_name, ".gz and ", lab_name, ".gz");
  RawIdx r = read_pair(img, lab);
  EncodedLabels enc;
  enc.classes.assign(std::begin(kFashionClasses), std::end(kFashionClasses));
  enc.y.resize(r.n);
  for (std::size_t i = 0; i < r.n; ++i) {
    if (r.labels[i] >= 10)
      bad_input(lab, ": offset ", 8 + i, ": label ", int(r.labels[i]), " of example ", i,
                " is out of range; Fashion-MNIST labels are 0..9");
    enc.y[i] = r.labels[i];
  }
  Dataset ds;
  ds.n = r.n;
  ds.d = r.d;
  ds.x = std::move(r.x);
  ds.source = "fashion-mnist:" + split;
  finish_labels(ds, std::move(enc), opts, ds.source + " (" + lab + ")");
  return ds;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path, const LoadOptions& opts) {
  RawIdx r = read_pair(images_path, labels_path);
  std::vector<std::int64_t> raw(r.labels.begin(), r.labels.end());
  Dataset ds;
  ds.n = r.n;
  ds.d = r.d;
  ds.x = std::move(r.x);
  ds.source = "idx:" + images_path + "," + labels_path;
  finish_labels(ds, encode_int_labels(raw), opts, labels_path);
  return ds;
}

}  // namespace strata::data
