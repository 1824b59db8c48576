// CpuBackend memory ops: host tensors are the device tensors. Weights are held in fp32 whatever the
// precision: BF16 and FP8 round them to the values a bf16 / fp8 device holds (bf16, or E4M3 values
// times per-output-channel scales) and compute in fp32, so the CPU backend simulates the CUDA
// backend's weight formats (the fp8 error measured here is the weight format's alone).
#include <cstring>

#include "engine/core/fp8_quantize.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {

void check_host(const Tensor& t, std::string_view op, std::string_view arg) {
  if (!t.defined()) throw InvalidArgument(cpu::op_arg(op, arg) + " is undefined");
  if (t.device() != Device::Cpu) throw InvalidArgument(cpu::op_arg(op, arg) + " is not a host tensor");
}

// A linear's fp32 bias [out], or undefined without one.
Tensor load_bias(const Tensor* bias, std::int64_t out_features, std::string_view op) {
  if (!bias) return Tensor();
  check_host(*bias, op, "bias");
  cpu::check_that(is_float(bias->dtype()), op, "bias dtype " + std::string(dtype_name(bias->dtype())) + " is not a float type");
  cpu::check_shape(*bias, {out_features}, op, "bias");
  return bias->to_f32();
}

}  // namespace

Tensor CpuBackend::alloc(const Shape& shape, DType dtype) { return Tensor::zeros(shape, dtype); }

Tensor CpuBackend::upload(const Tensor& host) {
  check_host(host, "upload", "host");
  return is_float(host.dtype()) ? host.to_f32() : host.clone();
}

Tensor CpuBackend::download(const Tensor& device_tensor) {
  check_host(device_tensor, "download", "device_tensor");
  return is_float(device_tensor.dtype()) ? device_tensor.to_f32() : device_tensor.clone();
}

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  check_host(src, "copy", "src");
  cpu::check_tensor(dst, src.dtype(), "copy", "dst");
  cpu::check_shape(dst, src.shape(), "copy", "dst");
  if (src.bytes() && src.raw() != dst.raw()) std::memmove(dst.raw(), src.raw(), src.bytes());
}

Weight CpuBackend::load_linear(const Tensor& weight, const Tensor* bias, Precision precision) {
  constexpr std::string_view op = "load_linear";
  check_host(weight, op, "weight");
  cpu::check_rank(weight, 2, op, "weight");
  cpu::check_that(is_float(weight.dtype()), op,
                  "weight dtype " + std::string(dtype_name(weight.dtype())) + " is not a float type");
  if (precision == Precision::FP8) {
    const QuantizedWeight q = quantize_e4m3_rows(weight);
    return load_quantized_linear(q.values, q.scales, bias);
  }
  if (const std::optional<Q4Format> q4 = q4_format(precision, weight.dim(1)))
    return load_q4_linear(quantize_q4(weight, *q4), *q4, bias);
  Weight w;
  // BF16 (and 4-bit rows of another width): the values a bf16 device holds, computed in fp32.
  w.values = precision == Precision::F32 ? weight.to_f32() : weight.to_bf16().to_f32();
  w.bias = load_bias(bias, weight.dim(0), op);
  return w;
}

// 4-bit: the fp32 values the codes stand for (dequantize_q4 checks their dtypes and shapes).
Weight CpuBackend::load_q4_linear(const Q4Weight& q, Q4Format format, const Tensor* bias) {
  constexpr std::string_view op = "load_q4_linear";
  check_host(q.codes, op, "codes");
  check_host(q.scales, op, "block scales");
  Weight w;
  w.values = dequantize_q4(q, format);
  w.bias = load_bias(bias, w.values.dim(0), op);
  return w;
}

Weight CpuBackend::load_quantized_linear(const Tensor& values, const Tensor& scales, const Tensor* bias) {
  constexpr std::string_view op = "load_quantized_linear";
  cpu::check_tensor(values, DType::F8_E4M3, op, "values");
  cpu::check_rank(values, 2, op, "values");
  cpu::check_tensor(scales, DType::F32, op, "scales");
  cpu::check_shape(scales, {values.dim(0)}, op, "scales");
  Weight w;
  w.values = dequantize_e4m3_rows(values, scales);
  w.bias = load_bias(bias, values.dim(0), op);
  return w;
}

}  // namespace hs
