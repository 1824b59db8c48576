// CpuBackend memory ops: host tensors are the device tensors.
#include <cstring>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {

bool is_float(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F8_E4M3;
}

void check_host(const Tensor& t, std::string_view op, std::string_view arg) {
  if (!t.defined()) throw InvalidArgument(cpu::op_arg(op, arg) + " is undefined");
  if (t.device() != Device::Cpu) throw InvalidArgument(cpu::op_arg(op, arg) + " is not a host tensor");
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
  if (precision != Precision::F32)
    throw InvalidArgument("load_linear: the CPU backend computes in fp32; requested precision is not F32");
  check_host(weight, "load_linear", "weight");
  cpu::check_rank(weight, 2, "load_linear", "weight");
  cpu::check_that(is_float(weight.dtype()), "load_linear",
                  "weight dtype " + std::string(dtype_name(weight.dtype())) + " is not a float type");
  Weight w;
  w.values = weight.to_f32();
  if (bias) {
    check_host(*bias, "load_linear", "bias");
    cpu::check_that(is_float(bias->dtype()), "load_linear",
                    "bias dtype " + std::string(dtype_name(bias->dtype())) + " is not a float type");
    cpu::check_shape(*bias, {weight.dim(0)}, "load_linear", "bias");
    w.bias = bias->to_f32();
  }
  return w;
}

}  // namespace hs
