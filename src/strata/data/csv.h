// Delimited text (CSV, TSV) with a header row: one column holds the labels ("label", else the last column, or
// opts.label_column), every other column is a numeric feature. Quoted fields follow RFC 4180 ("a,b", "" escapes).
#pragma once
#include <string>
#include <vector>

#include "strata/data/dataset.h"

namespace strata::data {

// Empty cells (and NA / NaN) are missing values: refused unless opts.missing fills them (column mean or zero).
// Blank lines are skipped; CRLF line ends, a UTF-8 byte-order mark and a missing final newline are accepted.
Dataset load_csv(const std::string& path, const LoadOptions& opts = {}, char delimiter = ',');

// The header row's column names (strata predict decides from them whether a CSV carries labels).
std::vector<std::string> csv_columns(const std::string& path, char delimiter = ',');

}  // namespace strata::data
