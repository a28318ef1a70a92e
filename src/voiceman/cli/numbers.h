#pragma once
// Comma-separated number lists given on the command line (--temperature, --retry-backoff).
#include <string>
#include <vector>

namespace voiceman::cli {

// "0,0.2,1" -> {0, 0.2, 1}. Throws ConfigError naming `option` when an item is not a whole
// finite number ("0.2abc", "nan", "inf") or is empty ("5,,15", "5,15,"): a typo must not
// turn into a different schedule.
std::vector<double> parse_numbers(const std::string& list, const char* option);
// The same for float options (--temperature): also refuses what a float cannot hold.
std::vector<float> parse_floats(const std::string& list, const char* option);

}  // namespace voiceman::cli
