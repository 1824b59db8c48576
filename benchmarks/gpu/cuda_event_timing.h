// Kernel-level GPU timing for Google Benchmark: CUDA events on the caller's stream, reported as
// manual time (register the benchmark with UseManualTime()).
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include "kernels/cuda_check.h"

namespace hs {

// Times `fn` (enqueued on `stream`) with CUDA events, one event pair per benchmark iteration,
// after one untimed call (plans, heuristics).
template <typename F>
void time_on_stream(benchmark::State& state, cudaStream_t stream, F&& fn) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  fn();  // warm up
  CUDA_CHECK(cudaStreamSynchronize(stream));
  for (auto _ : state) {
    CUDA_CHECK(cudaEventRecord(start, stream));
    fn();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

// time_on_stream over `launches` back-to-back calls of `launch` per iteration, with counters µs per
// call and TFLOP/s for `flops` per call.
template <typename F>
void time_launches(benchmark::State& state, cudaStream_t stream, int launches, double flops, F&& launch) {
  time_on_stream(state, stream, [&] {
    for (int i = 0; i < launches; ++i) launch();
  });
  state.counters["us_per_call"] =
      benchmark::Counter(launches / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["TFLOP/s"] = benchmark::Counter(launches * flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace hs
