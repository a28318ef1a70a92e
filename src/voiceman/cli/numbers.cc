#include "voiceman/cli/numbers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "voiceman/core/errors.h"

namespace voiceman::cli {

std::vector<double> parse_numbers(const std::string& list, const char* option) {
  std::vector<double> out;
  // Split by hand: std::getline drops a trailing empty item.
  for (size_t start = 0;;) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, end - start);
    double value = NAN;
    size_t used = 0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;  // not a number, or out of a double's range
    }
    if (item.empty() || used != item.size() || !std::isfinite(value))
      throw ConfigError(std::string(option) + ": '" + item + "' is not a finite number");
    out.push_back(value);
    if (end == list.size()) return out;
    start = end + 1;
  }
}

std::vector<float> parse_floats(const std::string& list, const char* option) {
  std::vector<float> out;
  for (double value : parse_numbers(list, option)) {
    if (std::abs(value) > std::numeric_limits<float>::max()) {
      std::ostringstream what;
      what << option << ": " << value << " is beyond a float's range";
      throw ConfigError(what.str());
    }
    out.push_back(static_cast<float>(value));
  }
  return out;
}

}  // namespace voiceman::cli
