#include "dcgan/train/device.h"

#include <thread>

#include "dcgan/error.h"

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

int64_t configure_threads(int64_t threads) {
  if (threads <= 0) {
    threads = static_cast<int64_t>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  torch::set_num_threads(static_cast<int>(threads));
  return threads;
}

}  // namespace dcgan
