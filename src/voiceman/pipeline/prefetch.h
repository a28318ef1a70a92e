#pragma once
// Hashing and decoding ahead of the transcriber: `workers` threads run a job per input
// while the engine works on the previous batch. Results come back strictly in input
// order, and look-ahead is bounded by a count and by decoded audio seconds, so memory
// stays bounded however large the corpus is.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace voiceman::pipeline {

// Lowers the calling thread's priority by `steps` nice levels (Linux niceness is per
// thread). Needs no privilege; where it fails the thread keeps its priority.
inline void lower_this_thread_priority(int steps) {
  if (steps <= 0) return;
  const auto tid = static_cast<id_t>(::gettid());
  const int now = ::getpriority(PRIO_PROCESS, tid);
  ::setpriority(PRIO_PROCESS, tid, std::min(19, now + steps));
}

template <typename Result>
class Prefetcher {
 public:
  using Job = std::function<Result(size_t index)>;      // must not throw: report errors in Result
  using Weight = std::function<double(const Result&)>;  // audio seconds a result holds

  // nice > 0 lowers the workers' priority by that many levels (see lower_this_thread_priority).
  Prefetcher(size_t count, int workers, size_t lookahead, double max_ready_weight, Job job,
             Weight weight, const std::atomic<bool>& stop, int nice = 0)
      : count_(count),
        lookahead_(std::max<size_t>(1, lookahead)),
        max_weight_(max_ready_weight),
        job_(std::move(job)),
        weight_(std::move(weight)),
        stop_(stop) {
    for (int i = 0; i < workers; ++i)
      threads_.emplace_back([this, nice] {
        lower_this_thread_priority(nice);
        work();
      });
  }

  ~Prefetcher() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next result in input order; nullopt once all are delivered or a stop was asked.
  std::optional<Result> next() {
    std::unique_lock lock(mutex_);
    while (true) {
      if (delivered_ >= count_) return std::nullopt;
      if (std::optional<Result> r = take_ready()) return r;
      if (stop_.load()) return std::nullopt;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  // The next result if it is ready now (never waits).
  std::optional<Result> try_next() {
    std::lock_guard lock(mutex_);
    if (delivered_ >= count_) return std::nullopt;
    return take_ready();
  }

  bool exhausted() const {
    std::lock_guard lock(mutex_);
    return delivered_ >= count_;
  }

 private:
  // The result next in input order if a worker has finished it; mutex_ is held.
  std::optional<Result> take_ready() {
    auto it = ready_.find(delivered_);
    if (it == ready_.end()) return std::nullopt;
    Result r = std::move(it->second.first);
    ready_weight_ -= it->second.second;
    ready_.erase(it);
    ++delivered_;
    cv_.notify_all();
    return r;
  }

  void work() {
    while (true) {
      size_t index;
      {
        std::unique_lock lock(mutex_);
        while (true) {
          if (closing_ || stop_.load() || claimed_ >= count_) return;
          const bool room =
              claimed_ < delivered_ + lookahead_ && (ready_weight_ < max_weight_ || ready_.empty());
          if (room) break;
          cv_.wait_for(lock, std::chrono::milliseconds(100));
        }
        index = claimed_++;
      }
      Result r = job_(index);
      const double w = weight_(r);
      {
        std::lock_guard lock(mutex_);
        ready_.emplace(index, std::make_pair(std::move(r), w));
        ready_weight_ += w;
      }
      cv_.notify_all();
    }
  }

  const size_t count_;
  const size_t lookahead_;
  const double max_weight_;
  Job job_;
  Weight weight_;
  const std::atomic<bool>& stop_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  size_t claimed_ = 0;
  size_t delivered_ = 0;
  double ready_weight_ = 0;
  bool closing_ = false;
  std::map<size_t, std::pair<Result, double>> ready_;
  std::vector<std::thread> threads_;
};

}  // namespace voiceman::pipeline
