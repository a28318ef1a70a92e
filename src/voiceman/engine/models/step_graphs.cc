#include "voiceman/engine/models/step_graphs.h"

#include <string>

#include "voiceman/core/log.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/runtime.h"
#endif

namespace voiceman::models {

StepGraphs::StepGraphs(const ExecContext& ctx, std::atomic<bool>& failed)
    : enabled_(ctx.cuda_graphs && !ctx.device.is_cpu() && ctx.stream != nullptr && !failed.load()),
      failed_(failed) {
#ifndef VOICEMAN_CUDA
  enabled_ = false;
#endif
}

StepGraphs::~StepGraphs() = default;

void StepGraphs::run(const ExecContext& ctx, const Key& key, const Body& body) {
#ifdef VOICEMAN_CUDA
  if (enabled_) {
    Entry& e = entries_[key];
    if (e.graph) {
      e.graph->launch(ctx);
      ++replays_;
      return;
    }
    if (++e.seen >= 2) {
      if (entries_.size() > kMaxGraphs) {
        // Drop the other keys' graphs: the shapes they were recorded for have passed.
        for (auto it = entries_.begin(); it != entries_.end();)
          it = &it->second == &e ? std::next(it) : entries_.erase(it);
      }
      std::string why;
      e.graph = cuda::Graph::capture(ctx, body, &why);
      if (e.graph) {
        ++recorded_;
        e.graph->launch(ctx);
        ++replays_;
        return;
      }
      // One warning per model, not one per batch: later decoders see failed_ and skip.
      if (!failed_.exchange(true))
        log::warn("decoder: CUDA graph recording failed (", why,
                  "); decoding steps run without graphs from now on");
      enabled_ = false;
      entries_.clear();
    }
  }
#endif
  body(ctx);
}

}  // namespace voiceman::models
