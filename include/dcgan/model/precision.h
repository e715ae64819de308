// bf16 autocast on CPUs without native bf16, at fp32 speed.
//
// Under CPU autocast the convolutions and dense layers run in bf16: their inputs and weights are
// rounded to bf16, products are summed in fp32, and the output is rounded to bf16. On a CPU with
// AVX512-BF16 or AMX, LibTorch's bf16 kernels do that in hardware, faster than fp32. Without them,
// LibTorch 2's bf16 convolutions fall back to generic code some 25 times slower than fp32 (on a
// 2-core AVX2 machine: 3 images/s against 80 for the reference network).
//
// The same arithmetic runs on fp32 kernels: a product of two bf16 values is exact in fp32, and
// the sums are fp32 either way. So where the CPU has no native bf16, these layers round their
// inputs and weights to bf16, run the fp32 kernel with autocast excluded, and round the output to
// bf16: the results a native bf16 kernel gives, up to the order of the fp32 sums, at fp32 speed.
// In the backward pass the roundings' gradients round the incoming gradients to bf16 in the same
// places. Every other op (batch norm, activations) runs under autocast as it is. The rounding
// follows LibTorch 2's CPU autocast lists; with 1.13 dcgan uses its bf16 kernels instead.
#pragma once

#include <torch/torch.h>

#include <string>

namespace dcgan {

// bf16 autocast on `type` (at::kCPU or at::kCUDA) while alive, then what was there before; a
// no-op when `enabled` is false. As torch.autocast: the ops autocast lists (convolutions, matrix
// products) run in bf16, the others in the precision of their inputs. With `emulate` on the CPU,
// the layers below emulate the bf16 kernels with fp32 ones, on this thread.
class Bf16Autocast {
 public:
  Bf16Autocast(bool enabled, at::DeviceType type, bool emulate);
  ~Bf16Autocast();
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool enabled_;
  at::DeviceType type_;
  bool previous_emulating_;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// Whether a Bf16Autocast with emulation is alive on this thread.
bool bf16_emulated();

// Whether CPU autocast is on, on this thread (a Bf16Autocast's, or another's), and its dtype.
bool cpu_autocast_enabled();
at::ScalarType cpu_autocast_dtype();

// Whether this CPU computes in bf16 natively (x86: AVX512-BF16 or AMX-BF16 with the OS's support;
// AArch64: the BF16 extension), and whether oneDNN may use it: ONEDNN_MAX_CPU_ISA (or
// DNNL_MAX_CPU_ISA) below AVX512_CORE_BF16 holds oneDNN to fp32 kernels. Without it LibTorch's
// bf16 kernels are generic code, slower than fp32.
bool cpu_has_native_bf16();
// Whether it has Intel's matrix unit for bf16 (AMX-BF16, with the OS's support) and oneDNN may
// use it (no ONEDNN_MAX_CPU_ISA below AMX): there oneDNN's bf16 matrix products run several times
// faster than its fp32 ones; with AVX512-BF16 alone the gain varies from one CPU to the next
// (docs/PERFORMANCE.md).
bool cpu_has_amx_bf16();

// The oneDNN instruction set cap, as "ONEDNN_MAX_CPU_ISA=AVX2", where it holds back bf16 support
// this CPU has (native bf16, or AMX); empty where there is no cap or it takes nothing away.
std::string bf16_isa_cap();

// Whether oneDNN's instruction set cap `cap` (ONEDNN_MAX_CPU_ISA's value; nullptr: none) is below
// AVX-512 (SSE41, AVX, AVX2 and their VNNI sets): there oneDNN has no bf16 convolution at all,
// not even the AVX-512 emulation of one that it runs on AVX512_CORE. onednn_isa_cap_below_avx512:
// the same for this process's cap, read as cpu_has_native_bf16() reads it.
bool isa_cap_below_avx512(const char* cap);
bool onednn_isa_cap_below_avx512();

struct Bf16Support {
  bool native = false;
  bool amx = false;
};
// What is left of the CPU's bf16 support (`native`, `amx`) under oneDNN's instruction set cap
// `cap` (ONEDNN_MAX_CPU_ISA's value, e.g. "AVX512_CORE_BF16"; nullptr: none).
Bf16Support bf16_support_under_isa_cap(bool native, bool amx, const char* cap);

// The value of `t` rounded to bf16, as fp32 (an undefined tensor stays undefined).
torch::Tensor round_to_bf16(const torch::Tensor& t);

// Layer forwards that follow the scope: the layer's own forward outside it; inside it, the
// rounded inputs through the fp32 kernel, with a bf16 output. The geometry must be the layer's.
torch::Tensor linear_forward(torch::nn::Linear& layer, const torch::Tensor& x);
torch::Tensor conv_forward(torch::nn::Conv2d& layer, const torch::Tensor& x, int64_t stride,
                           int64_t padding);
torch::Tensor conv_transpose_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x,
                                     int64_t stride, int64_t padding, int64_t output_padding);

// For layers of dcgan's own: runs `fp32_forward` (given the rounded weight and bias) with
// autocast excluded, and rounds its output to bf16.
template <typename Forward>
torch::Tensor emulate_bf16(const torch::Tensor& x, const torch::Tensor& weight,
                           const torch::Tensor& bias, Forward fp32_forward);

}  // namespace dcgan

#include "dcgan/model/precision_inl.h"
