#include "dcgan/train/device.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "dcgan/error.h"
#include "dcgan/model/cpu_math.h"
#include "dcgan/model/cpu_products.h"
#include "dcgan/model/parallel.h"
#include "dcgan/model/precision.h"

namespace dcgan {

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device("cuda:0") : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  const int64_t available = static_cast<int64_t>(torch::cuda::device_count());
  int64_t index = 0;
  if (name.rfind("cuda:", 0) == 0) {
    try {
      index = std::stoll(name.substr(5));
    } catch (const std::exception&) {
      index = -1;
    }
  } else if (name != "cuda") {
    index = -1;
  }
  if (index < 0) {
    throw ConfigError("key 'run.device' must be auto, cpu, cuda or cuda:N; got '" + name + "'");
  }
  if (index >= available) {
    throw ConfigError("key 'run.device' asks for " + name + " but " +
                      (available == 0 ? std::string("no CUDA device is available to this build")
                                      : std::to_string(available) + " CUDA device(s) are available"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::Device resolve_device(const std::string& name, int local_rank) {
  const torch::Device device = resolve_device(name);
  if (!device.is_cuda() || (name != "auto" && name != "cuda")) return device;
  const int64_t available = static_cast<int64_t>(torch::cuda::device_count());
  if (local_rank >= available) {
    throw ConfigError("key 'run.device' is " + name + ": LOCAL_RANK " + std::to_string(local_rank) +
                      " needs its own GPU but " + std::to_string(available) +
                      " are available (launch at most that many processes per machine)");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

int64_t configure_threads(int64_t threads, int64_t processes) {
  if (threads <= 0) {
    threads = static_cast<int64_t>(std::thread::hardware_concurrency()) / std::max<int64_t>(processes, 1);
    if (threads <= 0) threads = 1;
  }
  torch::set_num_threads(static_cast<int>(threads));
  resolve_cpu_math_kernels();  // before any op runs on several threads
  return threads;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

std::string no_native_bf16_note(bool emulated, const std::string& cap) {
  const std::string why = cap.empty()
                              ? "this CPU has no native bf16 (AVX512-BF16, AMX or Arm BF16): "
                              : cap + " holds oneDNN below this CPU's native bf16: ";
  return why + (emulated ? "bf16 is emulated with fp32 kernels, so it is no faster than fp32 here"
                         : "LibTorch's generic bf16 kernels run, much slower than fp32");
}

std::string describe_cpu_bf16(bool native, bool amx, const std::string& cap) {
  std::string text = !native ? "CPU bf16 emulated" : amx ? "CPU bf16 native with AMX"
                                                         : "CPU bf16 native (no AMX)";
  if (!cap.empty()) text += " (under " + cap + ")";
  return text;
}

std::string describe_build() {
  std::string text = "LibTorch " TORCH_VERSION;
  const auto& cuda = at::detail::getCUDAHooks();
  // The CUDA hooks are LibTorch's CUDA library registering itself: without it they are stubs
  // that throw.
  try {
    const long runtime = cuda.versionCUDART();  // e.g. 13020
    text += ", CUDA " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
            " built in";
    if (cuda.compiledWithCuDNN()) {
      const long cudnn = cuda.versionCuDNN();  // e.g. 92600 (9.26.0) or 8700 (8.7.0)
      const long major = cudnn >= 90000 ? cudnn / 10000 : cudnn / 1000;
      const long minor = cudnn >= 90000 ? cudnn / 100 % 100 : cudnn / 100 % 10;
      text += " (cuDNN " + std::to_string(major) + "." + std::to_string(minor) + ")";
    }
    text += ", " + std::to_string(torch::cuda::device_count()) + " CUDA devices";
  } catch (const c10::Error&) {
    text += ", no CUDA support";
  }
  text += ", " + describe_cpu_bf16(cpu_has_native_bf16(), cpu_has_amx_bf16(), bf16_isa_cap());
  // Whether the model's own CPU loops (the Winograd and GEMM forms) use every intra-op thread,
  // and the widest of their copies they take.
  text += ", own CPU loops on " + std::to_string(parallel_loop_threads()) + " of " +
          std::to_string(at::get_num_threads()) + " threads (" + cpu_copy_name(cpu_copy()) +
          " copies)";
  // Where the model's own fp32 matrix products run (cpu_products.h).
  text += ", fp32 products on " + std::string(product_library_name(cpu_product_library()));
  if (const char* chosen = std::getenv(kCpuProductsEnv)) {
    text += std::string(" (under ") + kCpuProductsEnv + "=" + chosen + ")";
  }
  return text;
}

}  // namespace dcgan
