#include "dcgan/model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace dcgan {
namespace {

thread_local bool emulating = false;

// LibTorch 2.4 made the autocast switches per device type; 1.13 has one set per device.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(at::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
void set_autocast(at::DeviceType type, bool on) { at::autocast::set_autocast_enabled(type, on); }
at::ScalarType autocast_dtype(at::DeviceType type) { return at::autocast::get_autocast_dtype(type); }
void set_autocast_dtype(at::DeviceType type, at::ScalarType t) { at::autocast::set_autocast_dtype(type, t); }
#else
bool autocast_enabled(at::DeviceType type) {
  return type == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast(at::DeviceType type, bool on) {
  type == at::kCUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
}
at::ScalarType autocast_dtype(at::DeviceType type) {
  return type == at::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                           : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(at::DeviceType type, at::ScalarType t) {
  type == at::kCUDA ? at::autocast::set_autocast_gpu_dtype(t) : at::autocast::set_autocast_cpu_dtype(t);
}
#endif

}  // namespace

Bf16Autocast::Bf16Autocast(bool enabled, at::DeviceType type, bool emulate)
    : enabled_(enabled), type_(type), previous_emulating_(emulating) {
  if (!enabled_) return;
  was_enabled_ = autocast_enabled(type_);
  previous_dtype_ = autocast_dtype(type_);
  set_autocast_dtype(type_, at::kBFloat16);
  set_autocast(type_, true);
  emulating = emulate && type_ == at::kCPU;
}

Bf16Autocast::~Bf16Autocast() {
  if (!enabled_) return;
  emulating = previous_emulating_;
  set_autocast(type_, was_enabled_);
  set_autocast_dtype(type_, previous_dtype_);
  if (!was_enabled_) at::autocast::clear_cache();
}

bool bf16_emulated() { return emulating; }

bool cpu_autocast_enabled() { return autocast_enabled(at::kCPU); }

at::ScalarType cpu_autocast_dtype() { return autocast_dtype(at::kCPU); }

namespace {
// What the CPU and the OS support, before any cap.
Bf16Support read_bf16_support() {
  Bf16Support f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(1, 0, eax, ebx, ecx, edx);
  if ((ecx & (1u << 27)) == 0) return f;  // OSXSAVE: the OS reports which registers it saves
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  const bool os_avx512 = (xcr0_low & 0xE6u) == 0xE6u;                // SSE, AVX, opmask, ZMM
  const bool os_amx = (xcr0_low & 0x60000u) == 0x60000u;             // TILECFG, TILEDATA
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.amx = os_amx && (edx & (1u << 22)) != 0;
  const unsigned max_subleaf = eax;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    avx512_bf16 = os_avx512 && (eax & (1u << 5)) != 0;
  }
  f.native = avx512_bf16 || f.amx;
#elif defined(__aarch64__) && defined(__linux__) && defined(HWCAP2_BF16)
  f.native = (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
#endif
  return f;
}

// Read once: the CPU's support under oneDNN's cap, as oneDNN reads it, the cap where it took
// something away ("ONEDNN_MAX_CPU_ISA=AVX2"; empty otherwise), and whether it is below AVX-512.
struct CappedBf16Support {
  Bf16Support support;
  std::string cap;
  bool below_avx512 = false;
};

const CappedBf16Support& bf16_support() {
  static const CappedBf16Support capped = [] {
    const char* name = "ONEDNN_MAX_CPU_ISA";
    const char* cap = std::getenv(name);
    if (cap == nullptr) cap = std::getenv(name = "DNNL_MAX_CPU_ISA");
    const Bf16Support cpu = read_bf16_support();
    const Bf16Support left = bf16_support_under_isa_cap(cpu.native, cpu.amx, cap);
    const bool limits = left.native != cpu.native || left.amx != cpu.amx;
    return CappedBf16Support{left, limits ? std::string(name) + "=" + cap : std::string(),
                             isa_cap_below_avx512(cap)};
  }();
  return capped;
}

}  // namespace

bool isa_cap_below_avx512(const char* cap) {
  if (cap == nullptr) return false;
  for (const char* below : {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2"}) {
    if (std::string(cap) == below) return true;
  }
  return false;
}

bool onednn_isa_cap_below_avx512() { return bf16_support().below_avx512; }

Bf16Support bf16_support_under_isa_cap(bool native, bool amx, const char* cap) {
  if (cap == nullptr) return {native, amx};
  const std::string name(cap);
  // Below oneDNN's bf16 kernels, then with bf16 but no AMX; any other value (ALL, an AMX set, one
  // these lists do not know) caps neither.
  if (isa_cap_below_avx512(cap) || name == "AVX512_CORE" || name == "AVX512_CORE_VNNI") {
    return {false, false};
  }
  for (const char* no_amx : {"AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX10_2_512"}) {
    if (name == no_amx) return {native, false};
  }
  return {native, amx};
}

bool cpu_has_native_bf16() { return bf16_support().support.native; }

bool cpu_has_amx_bf16() { return bf16_support().support.amx; }

std::string bf16_isa_cap() { return bf16_support().cap; }

torch::Tensor round_to_bf16(const torch::Tensor& t) {
  if (!t.defined()) return t;
  return t.to(torch::kBFloat16).to(torch::kFloat);
}

torch::Tensor linear_forward(torch::nn::Linear& layer, const torch::Tensor& x) {
  if (!emulating) return layer->forward(x);
  return emulate_bf16(x, layer->weight, layer->bias,
                      [](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
                        return torch::nn::functional::linear(in, w, b);
                      });
}

torch::Tensor conv_forward(torch::nn::Conv2d& layer, const torch::Tensor& x, int64_t stride,
                           int64_t padding) {
  if (!emulating) return layer->forward(x);
  return emulate_bf16(x, layer->weight, layer->bias,
                      [=](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
                        return torch::conv2d(in, w, b, stride, padding);
                      });
}

torch::Tensor conv_transpose_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x,
                                     int64_t stride, int64_t padding, int64_t output_padding) {
  if (!emulating) return layer->forward(x);
  return emulate_bf16(x, layer->weight, layer->bias,
                      [=](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
                        return torch::conv_transpose2d(in, w, b, stride, padding, output_padding);
                      });
}

}  // namespace dcgan
