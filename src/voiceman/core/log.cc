#include "voiceman/core/log.h"

#include <atomic>
#include <mutex>

namespace voiceman::log {
namespace {
// The sink is process-wide by design: it is the one piece of output plumbing, set
// explicitly by the application, never by the library.
std::mutex g_mutex;
Sink g_sink;
std::atomic<int> g_min_level{static_cast<int>(Level::info)};
std::atomic<bool> g_has_sink{false};
}  // namespace

Sink set_sink(Sink sink, Level min_level) {
  std::lock_guard lock(g_mutex);
  Sink previous = std::move(g_sink);
  g_sink = std::move(sink);
  g_has_sink = static_cast<bool>(g_sink);
  g_min_level = static_cast<int>(min_level);
  return previous;
}

bool enabled(Level level) {
  return g_has_sink.load(std::memory_order_relaxed) &&
         static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  std::lock_guard lock(g_mutex);
  if (g_sink) g_sink(level, message);
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warning";
    case Level::error:
      return "error";
  }
  return "?";
}

}  // namespace voiceman::log
