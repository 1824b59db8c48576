// CUDA Graph capture and replay of the ops a CudaBackend enqueues, and the device-side counter
// increment that lets a captured frame step advance its position.
#include "engine/cuda/cuda_state.h"
#include "kernels/cuda_check.h"
#include "kernels/increment.cuh"

namespace hs {
namespace {

class CudaGraph final : public OpGraph {
 public:
  explicit CudaGraph(cudaGraph_t graph) : graph_(graph) { CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0)); }
  ~CudaGraph() override {
    cudaGraphExecDestroy(exec_);
    cudaGraphDestroy(graph_);
  }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  cudaGraphExec_t exec() const { return exec_; }

 private:
  cudaGraph_t graph_;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace

void CudaBackend::set_graphs(bool enabled) { state_->graphs = enabled; }

std::shared_ptr<OpGraph> CudaBackend::capture(const std::function<void()>& record) {
  cuda::use_device(*state_);
  if (!state_->graphs) return nullptr;
  cuda::check_that(!state_->capturing, "capture", "a capture is already in progress");
  CUDA_CHECK(cudaStreamBeginCapture(state_->stream, cudaStreamCaptureModeThreadLocal));
  state_->capturing = true;
  try {
    record();
  } catch (...) {
    cudaGraph_t broken = nullptr;
    cudaStreamEndCapture(state_->stream, &broken);
    if (broken) cudaGraphDestroy(broken);
    state_->capturing = false;
    throw;
  }
  state_->capturing = false;
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamEndCapture(state_->stream, &graph));
  return std::make_shared<CudaGraph>(graph);
}

void CudaBackend::replay(OpGraph& graph) {
  cuda::use_device(*state_);
  auto* g = dynamic_cast<CudaGraph*>(&graph);
  cuda::check_that(g != nullptr, "replay", "the graph was not captured by a CudaBackend");
  CUDA_CHECK(cudaGraphLaunch(g->exec(), state_->stream));
}

void CudaBackend::increment(Tensor& counter, std::int32_t delta) {
  cuda::use_device(*state_);
  cuda::check_tensor(counter, DType::I32, "increment", "counter");
  cuda::check_shape(counter, {1}, "increment", "counter");
  kernels::increment(static_cast<std::int32_t*>(counter.raw()), delta, state_->stream);
}

}  // namespace hs
