#pragma once
// The library's one logger. It prints nothing until the application installs a sink
// (the CLI does); tests may install a capturing sink.
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace voiceman::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

using Sink = std::function<void(Level, std::string_view)>;

// Installs the sink and the minimum level; returns the previous sink.
Sink set_sink(Sink sink, Level min_level = Level::info);
bool enabled(Level level);
void write(Level level, std::string_view message);
std::string_view level_name(Level level);

// Concatenates anything streamable (GCC 12 has no <format>).
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
void debug(Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void info(Args&&... args) {
  if (enabled(Level::info)) write(Level::info, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void warn(Args&&... args) {
  if (enabled(Level::warn)) write(Level::warn, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void error(Args&&... args) {
  if (enabled(Level::error)) write(Level::error, cat(std::forward<Args>(args)...));
}

}  // namespace voiceman::log
