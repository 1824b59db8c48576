#include <algorithm>
#include <initializer_list>

#include "kernels/codec_elementwise.cuh"
#include "kernels/common.cuh"

namespace hs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = 4;                 // consecutive values per thread: one fp32 / bf16 vector
constexpr std::int64_t kMaxGridRows = 65535;  // gridDim.y limit; rows past it loop

// Each op computes y[0..4) for columns j .. j+4 of row r of out [rows, width], reading its operands
// with load_float4<Vector> (scalar loads, zero past width, when not Vector).

template <typename T>
struct PreluOp {
  const T* x;
  const float* alpha;
  std::int64_t channels;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    const float slope = alpha[r % channels];
    load_float4<Vector>(x + r * width, j, width, y);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] = fmaxf(y[k], 0.0f) + slope * fminf(y[k], 0.0f);
  }
};

template <typename T>
struct SiluOp {
  const T* x;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    load_float4<Vector>(x + r * width, j, width, y);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] = y[k] / (1.0f + expf(-y[k]));
  }
};

template <typename T>
struct AxpbyOp {
  float alpha;
  const T* a;
  float beta;
  const T* b;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    float vb[kPerThread];
    load_float4<Vector>(a + r * width, j, width, y);
    load_float4<Vector>(b + r * width, j, width, vb);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] = alpha * y[k] + beta * vb[k];
  }
};

template <typename T>
struct RoundToGridOp {
  const T* x;
  float levels;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    load_float4<Vector>(x + r * width, j, width, y);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] = rintf(y[k] * levels) / levels;  // rint: halves to even
  }
};

template <typename T>
struct CrossfadeOp {
  const T* a;
  const T* b;
  double step;  // 1 / (len − 1)
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    float va[kPerThread], vb[kPerThread];
    load_float4<Vector>(a + r * width, j, width, va);
    load_float4<Vector>(b + r * width, j, width, vb);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const double w = static_cast<double>(j + k) * step;
      y[k] = static_cast<float>(va[k] * (1.0 - w) + vb[k] * w);
    }
  }
};

// Row-vector ops: AddRowOp adds one row [width] to every row; ModulateOp and GatedAddOp read
// vector row r / len of their [batch, width] vectors (rows = batch · len).
template <typename T>
struct AddRowOp {
  const T* x;
  const T* row;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    float v[kPerThread];
    load_float4<Vector>(x + r * width, j, width, y);
    load_float4<Vector>(row, j, width, v);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] += v[k];
  }
};

template <typename T>
struct SumTapsOp {
  const T* taps;
  const float* bias;
  std::int64_t frames, kernel;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    const std::int64_t t = r % frames, pad = (kernel - 1) / 2;
    if (bias) load_float4<Vector>(bias, j, width, y);
    else y[0] = y[1] = y[2] = y[3] = 0.0f;
    for (std::int64_t k = 0; k < kernel; ++k) {
      const std::int64_t s = t + k - pad;
      if (s < 0 || s >= frames) continue;
      float v[kPerThread];
      load_float4<Vector>(taps + ((r - t + s) * kernel + k) * width, j, width, v);
#pragma unroll
      for (int e = 0; e < kPerThread; ++e) y[e] += v[e];
    }
  }
};

template <typename T>
struct ModulationVectorsOp {
  const T* adaln;
  const T* tables;
  std::int64_t groups, batch;
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    // Row r of out [layers · groups · batch, width] is (l, g, b).
    const std::int64_t b = r % batch, g = r / batch % groups, l = r / (batch * groups);
    float t[kPerThread];
    load_float4<Vector>(adaln + (b * groups + g) * width, j, width, y);
    load_float4<Vector>(tables + (l * groups + g) * width, j, width, t);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] += t[k];
  }
};

template <typename T>
struct ModulateOp {
  const T* x;
  const T* shift;
  const T* scale;
  std::int64_t len;  // rows per batch entry
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    const std::int64_t vector_row = r / len * width;
    float sh[kPerThread], sc[kPerThread];
    load_float4<Vector>(x + r * width, j, width, y);
    load_float4<Vector>(shift + vector_row, j, width, sh);
    load_float4<Vector>(scale + vector_row, j, width, sc);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] = y[k] * (1.0f + sc[k]) + sh[k];
  }
};

template <typename T>
struct GatedAddOp {
  const T* x;
  const T* y_in;
  const T* gate;
  std::int64_t len;  // rows per batch entry
  template <bool Vector>
  __device__ void apply(std::int64_t r, std::int64_t j, std::int64_t width, float* y) const {
    float v[kPerThread], g[kPerThread];
    load_float4<Vector>(x + r * width, j, width, y);
    load_float4<Vector>(y_in + r * width, j, width, v);
    load_float4<Vector>(gate + r / len * width, j, width, g);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y[k] += g[k] * v[k];
  }
};

}  // namespace

// out [rows, width] = op, kPerThread consecutive values per thread (one vector when `vectorised`
// and the group is whole); blocks cover a row's width, gridDim.y rows at a time. Each value is
// read and written by the same thread, so out may alias the operands.
template <typename T, typename Op>
static __global__ void __launch_bounds__(kThreads)
    rows_kernel(Op op, T* out, std::int64_t rows, std::int64_t width, bool vectorised) {
  await_previous_kernel();
  const std::int64_t j = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * kPerThread;
  if (j >= width) return;
  const bool vector = vectorised && j + kPerThread <= width;
  for (std::int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    float y[kPerThread];
    if (vector) {
      op.template apply<true>(r, j, width, y);
      store_float4<true>(out + r * width, j, width, y);
    } else {
      op.template apply<false>(r, j, width, y);
      store_float4<false>(out + r * width, j, width, y);
    }
  }
}

namespace {

// Launches rows_kernel; vector accesses when every operand row (`operands`, out) starts aligned to
// kPerThread values: aligned bases and a width of whole vectors (or one row).
template <typename T, typename Op>
void launch_rows(const Op& op, void* out, std::int64_t rows, std::int64_t width,
                 std::initializer_list<const void*> operands, cudaStream_t stream) {
  if (rows == 0 || width == 0) return;
  constexpr std::size_t kVectorBytes = kPerThread * sizeof(T);
  bool vectorised = (rows == 1 || width % kPerThread == 0) && aligned_to(out, kVectorBytes);
  for (const void* p : operands) vectorised = vectorised && aligned_to(p, kVectorBytes);
  const dim3 grid(blocks_for((width + kPerThread - 1) / kPerThread, kThreads),
                  static_cast<unsigned>(std::min(rows, kMaxGridRows)));
  launch(rows_kernel<T, Op>, grid, kThreads, stream, op, static_cast<T*>(out), rows, width, vectorised);
}

}  // namespace

void prelu(const PreluParams& p, cudaStream_t stream) {
  // One shared slope: the tensor is one flat row (whole vectors however long a channel is).
  const bool shared = p.channels == 1;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto* x = static_cast<const T*>(p.x);
    launch_rows<T>(PreluOp<T>{x, p.alpha, p.channels}, p.out, shared ? 1 : p.rows, shared ? p.rows * p.len : p.len,
                   {x}, stream);
  });
}

void silu(const SiluParams& p, cudaStream_t stream) {
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto* x = static_cast<const T*>(p.x);
    launch_rows<T>(SiluOp<T>{x}, p.out, 1, p.n, {x}, stream);
  });
}

void axpby(const AxpbyParams& p, cudaStream_t stream) {
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto *a = static_cast<const T*>(p.a), *b = static_cast<const T*>(p.b);
    launch_rows<T>(AxpbyOp<T>{p.alpha, a, p.beta, b}, p.out, 1, p.n, {a, b}, stream);
  });
}

void round_to_grid(const RoundToGridParams& p, cudaStream_t stream) {
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto* x = static_cast<const T*>(p.x);
    launch_rows<T>(RoundToGridOp<T>{x, p.levels}, p.out, 1, p.n, {x}, stream);
  });
}

void crossfade(const CrossfadeParams& p, cudaStream_t stream) {
  const double step = p.len > 1 ? 1.0 / static_cast<double>(p.len - 1) : 0.0;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto *a = static_cast<const T*>(p.a), *b = static_cast<const T*>(p.b);
    launch_rows<T>(CrossfadeOp<T>{a, b, step}, p.out, p.rows, p.len, {a, b}, stream);
  });
}

void add_row(const AddRowParams& p, cudaStream_t stream) {
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto *x = static_cast<const T*>(p.x), *row = static_cast<const T*>(p.row);
    launch_rows<T>(AddRowOp<T>{x, row}, p.out, p.rows, p.width, {x, row}, stream);
  });
}

void modulate(const ModulateParams& p, cudaStream_t stream) {
  if (p.len == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto *x = static_cast<const T*>(p.x), *shift = static_cast<const T*>(p.shift),
               *scale = static_cast<const T*>(p.scale);
    launch_rows<T>(ModulateOp<T>{x, shift, scale, p.len}, p.out, p.batch * p.len, p.dim, {x, shift, scale}, stream);
  });
}

void gated_add(const GatedAddParams& p, cudaStream_t stream) {
  if (p.len == 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto *x = static_cast<const T*>(p.x), *y = static_cast<const T*>(p.y), *gate = static_cast<const T*>(p.gate);
    launch_rows<T>(GatedAddOp<T>{x, y, gate, p.len}, p.out, p.batch * p.len, p.dim, {x, y, gate}, stream);
  });
}

void modulation_vectors(const ModulationVectorsParams& p, cudaStream_t stream) {
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto *adaln = static_cast<const T*>(p.adaln), *tables = static_cast<const T*>(p.tables);
    launch_rows<T>(ModulationVectorsOp<T>{adaln, tables, p.groups, p.batch}, p.out, p.layers * p.groups * p.batch, p.dim,
                   {adaln, tables}, stream);
  });
}

void sum_taps(const SumTapsParams& p, cudaStream_t stream) {
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    const auto* taps = static_cast<const T*>(p.taps);
    launch_rows<T>(SumTapsOp<T>{taps, p.bias, p.frames, p.kernel}, p.out, p.batch * p.frames, p.channels,
                   {taps, p.bias}, stream);
  });
}

}  // namespace hs::kernels
