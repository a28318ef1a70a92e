// CUDA graph capture and replay (runtime.h). The decoder's step is a few hundred small
// kernels; replaying them as one graph removes the per-launch host cost.
#include <exception>

#include "voiceman/core/errors.h"
#include "voiceman/engine/cuda/cuda_internal.h"
#include "voiceman/engine/cuda/runtime.h"

namespace voiceman::cuda {
namespace {

// Ends retain_frees on every way out of a capture.
class RetainScope {
 public:
  explicit RetainScope(std::vector<void*>* sink) { retain_frees(sink); }
  ~RetainScope() { retain_frees(nullptr); }
  RetainScope(const RetainScope&) = delete;
  RetainScope& operator=(const RetainScope&) = delete;
};

// Leaves capture mode after a failure, dropping what was recorded.
void abandon_capture(cudaStream_t stream) {
  cudaGraph_t partial = nullptr;
  cudaStreamEndCapture(stream, &partial);
  if (partial) cudaGraphDestroy(partial);
  cudaGetLastError();
}

}  // namespace

std::unique_ptr<Graph> Graph::capture(const ExecContext& ctx,
                                      const std::function<void(const ExecContext&)>& body,
                                      std::string* why) {
  if (!ctx.stream) {
    *why = "the legacy default stream cannot be captured";
    return nullptr;
  }
  StreamState& st = stream_state(ctx);
  if (!st.capture)
    check(cudaStreamCreateWithFlags(&st.capture, cudaStreamNonBlocking), "cudaStreamCreate");
  ExecContext recording = ctx;
  recording.stream = st.capture;
  // Handles, workspace and staging for the capture stream exist before recording starts:
  // creating them is not something a capture may contain.
  stream_state(recording);

  std::unique_ptr<Graph> graph(new Graph());
  graph->device_ = ctx.device;
  {
    const RetainScope retain(&graph->retained_);
    // Relaxed: this thread may still allocate from the pool while recording.
    check(cudaStreamBeginCapture(st.capture, cudaStreamCaptureModeRelaxed), "begin capture");
    try {
      body(recording);
    } catch (const OutOfMemoryError&) {  // the batch's to back off from, not the graph's
      abandon_capture(st.capture);
      throw;
    } catch (const std::exception& e) {
      abandon_capture(st.capture);
      *why = e.what();
      return nullptr;
    } catch (...) {  // whatever it was, the stream must not be left capturing
      abandon_capture(st.capture);
      *why = "an exception of unknown type";
      return nullptr;
    }
    cudaGraph_t recorded = nullptr;
    const cudaError_t rc = cudaStreamEndCapture(st.capture, &recorded);
    if (rc != cudaSuccess || !recorded) {
      cudaGetLastError();
      *why = std::string("end capture: ") + cudaGetErrorString(rc);
      return nullptr;
    }
    cudaGraphExec_t exec = nullptr;
    const cudaError_t irc = cudaGraphInstantiate(&exec, recorded, 0);
    cudaGraphDestroy(recorded);
    if (irc != cudaSuccess) {
      cudaGetLastError();
      if (irc == cudaErrorMemoryAllocation)
        throw OutOfMemoryError(ctx.device.str() + ": out of memory instantiating a CUDA graph");
      *why = std::string("instantiate: ") + cudaGetErrorString(irc);
      return nullptr;
    }
    graph->exec_ = exec;
  }
  return graph;
}

Graph::~Graph() {
  int current = -1;
  cudaGetDevice(&current);
  if (current != device_.index) cudaSetDevice(device_.index);
  if (exec_) {
    // A replay may still be queued: its blocks go back to the pool only after it ends.
    if (launched_on_) cudaStreamSynchronize(static_cast<cudaStream_t>(launched_on_));
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  }
  release_retained(device_, retained_);
  if (current >= 0 && current != device_.index) cudaSetDevice(current);
}

void Graph::launch(const ExecContext& ctx) const {
  if (ctx.device != device_)
    throw DeviceError("graph launch: captured on " + device_.str() + ", launched on " +
                      ctx.device.str());
  set_device(ctx.device);
  check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream_of(ctx)), "cudaGraphLaunch");
  launched_on_ = ctx.stream;
}

}  // namespace voiceman::cuda
