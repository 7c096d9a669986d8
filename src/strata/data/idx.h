// IDX (the MNIST / Fashion-MNIST format): unsigned-byte images (magic 0x00000803) and labels (0x00000801),
// gzip or plain. Pixels are scaled to [0, 1] by x / 255.
#pragma once
#include <string>

#include "strata/data/dataset.h"

namespace strata::data {

// "train" or "test" from $STRATA_FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist; the 10 Fashion-MNIST
// class names in label-value order.
Dataset load_fashion_mnist(const std::string& split, const LoadOptions& opts = {});

// Any IDX pair; classes are the distinct label values in increasing order, named by their decimal value.
Dataset load_idx(const std::string& images_path, const std::string& labels_path, const LoadOptions& opts = {});

// The directory fashion-mnist:* reads from.
std::string fashion_mnist_dir();

}  // namespace strata::data
