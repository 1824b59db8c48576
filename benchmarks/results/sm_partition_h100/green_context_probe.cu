// Probe: green contexts through driver entry points, used with runtime launches and graphs.
#include <cuda.h>
#include <cuda_runtime.h>
#include <chrono>
#include <cstdio>
#include <set>
#include <vector>

#define CK(x) do { auto e = (x); if (e != cudaSuccess) { printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e)); return 1; } } while (0)
#define DK(x) do { CUresult e = (x); if (e != CUDA_SUCCESS) { printf("%s:%d driver %d\n", __FILE__, __LINE__, (int)e); return 1; } } while (0)

__global__ void record_sm(int* sm, int spin) {
  unsigned id; asm volatile("mov.u32 %0, %%smid;" : "=r"(id));
  if (threadIdx.x == 0) sm[blockIdx.x] = id;
  long long t0 = clock64();
  while (clock64() - t0 < spin) {}
}

template <typename F> F get(const char* name) {
  void* fn = nullptr; cudaDriverEntryPointQueryResult q;
  if (cudaGetDriverEntryPointByVersion(name, &fn, CUDA_VERSION, cudaEnableDefault, &q) != cudaSuccess || !fn) {
    printf("no %s\n", name); return nullptr; }
  return reinterpret_cast<F>(fn);
}

int count_sms(int* d, int n) {
  std::vector<int> h(n); cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost);
  return (int)std::set<int>(h.begin(), h.end()).size();
}

int main() {
  CK(cudaSetDevice(0)); CK(cudaFree(0));
  auto getres = get<decltype(&cuDeviceGetDevResource)>("cuDeviceGetDevResource");
  auto split = get<decltype(&cuDevSmResourceSplitByCount)>("cuDevSmResourceSplitByCount");
  auto gen = get<decltype(&cuDevResourceGenerateDesc)>("cuDevResourceGenerateDesc");
  auto create = get<decltype(&cuGreenCtxCreate)>("cuGreenCtxCreate");
  auto screate = get<decltype(&cuGreenCtxStreamCreate)>("cuGreenCtxStreamCreate");
  auto destroy = get<decltype(&cuGreenCtxDestroy)>("cuGreenCtxDestroy");
  if (!getres || !split || !gen || !create || !screate || !destroy) return 1;
  CUdevResource all{};
  DK(getres(0, &all, CU_DEV_RESOURCE_TYPE_SM));
  printf("SMs %u min partition %u alignment %u\n", all.sm.smCount, all.sm.minSmPartitionSize, all.sm.smCoscheduledAlignment);
  const int blocks = 4096;
  int* d; CK(cudaMalloc(&d, blocks * 4));
  cudaStream_t hi; int lo_p, hi_p; CK(cudaDeviceGetStreamPriorityRange(&lo_p, &hi_p));
  CK(cudaStreamCreateWithPriority(&hi, cudaStreamNonBlocking, hi_p));
  int* d2; CK(cudaMalloc(&d2, blocks * 4));
  // the chain: 400 short kernels of 132 blocks on the high-priority stream
  auto chain = [&](cudaStream_t s) {
    cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    cudaEventRecord(a, s);
    for (int i = 0; i < 400; ++i) record_sm<<<132, 128, 0, s>>>(d2, 2000);
    cudaEventRecord(b, s); cudaEventSynchronize(b);
    float ms; cudaEventElapsedTime(&ms, a, b); return ms;
  };
  printf("chain alone %.3f ms\n", chain(hi));
  for (unsigned want : {16u, 32u, 48u, 64u}) {
    CUdevResource part{}, rest{}; unsigned groups = 1;
    DK(split(&part, &groups, &all, &rest, 0, want));
    CUdevResourceDesc desc; DK(gen(&desc, &part, 1));
    CUgreenCtx g; DK(create(&g, desc, 0, CU_GREEN_CTX_DEFAULT_STREAM));
    CUstream cs; DK(screate(&cs, g, CU_STREAM_NON_BLOCKING, 0));
    cudaStream_t s = reinterpret_cast<cudaStream_t>(cs);
    record_sm<<<blocks, 128, 0, s>>>(d, 20000);
    CK(cudaStreamSynchronize(s));
    int direct = count_sms(d, blocks);
    cudaGraph_t graph; cudaGraphExec_t exec;
    CK(cudaMemset(d, 0xff, blocks * 4));
    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    record_sm<<<blocks, 128, 0, s>>>(d, 20000);
    CK(cudaStreamEndCapture(s, &graph));
    CK(cudaGraphInstantiate(&exec, graph, 0));
    CK(cudaGraphLaunch(exec, s)); CK(cudaStreamSynchronize(s));
    int graphed = count_sms(d, blocks);
    // background flood on the green stream while the chain runs on the high-priority stream
    for (int i = 0; i < 20; ++i) record_sm<<<blocks, 128, 0, s>>>(d, 200000);
    float with_green = chain(hi);
    CK(cudaStreamSynchronize(s));
    printf("partition %u SMs (asked %u): direct launch used %d SMs, graph %d SMs; chain beside a flood %.3f ms\n",
           part.sm.smCount, want, direct, graphed, with_green);
    cudaGraphExecDestroy(exec); cudaGraphDestroy(graph);
    cudaStreamDestroy(s); destroy(g);
  }
  cudaStream_t lo; CK(cudaStreamCreateWithPriority(&lo, cudaStreamNonBlocking, lo_p));
  for (int i = 0; i < 20; ++i) record_sm<<<blocks, 128, 0, lo>>>(d, 200000);
  float with_normal = chain(hi);
  CK(cudaStreamSynchronize(lo));
  printf("chain beside a flood on a normal low-priority stream %.3f ms\n", with_normal);
  return 0;
}
