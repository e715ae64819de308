// Where training runs: device choice and CPU threads.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace dcgan {

// `auto` -> cuda:0 when LibTorch sees a GPU, else cpu; `cpu`; `cuda`; `cuda:N`.
// Throws ConfigError naming key 'run.device' when CUDA is asked for but absent or N is too big.
torch::Device resolve_device(const std::string& name);
// The device of the process with LOCAL_RANK `local_rank` in a distributed run: `auto` and `cuda`
// give each process its own GPU, cuda:LOCAL_RANK (ConfigError when there are fewer GPUs than
// processes on the machine); `cpu` and an explicit `cuda:N` are taken as they are.
torch::Device resolve_device(const std::string& name, int local_rank);

// Sets LibTorch's intra-op thread count: `threads`, or when 0 every core, shared evenly by
// `processes` processes on the machine (the ranks of a distributed run). Returns the count.
// (Debian's LibTorch starts with one thread, leaving most of the machine idle.) Also settles the
// CPU math functions' kernels first (model/cpu_math.h).
int64_t configure_threads(int64_t threads, int64_t processes = 1);

// Waits for the work queued on `device` (CUDA; a no-op on the CPU, whose ops return done), so a
// clock read after it times that work.
void synchronize(const torch::Device& device);

// What a bf16 run on such a CPU is told, once: `emulated` when its convolutions run on fp32
// kernels (model/precision.h), else on LibTorch's generic bf16 ones. `cap` is bf16_isa_cap():
// where oneDNN's instruction set cap took the CPU's native bf16 away, the note names the cap
// rather than the CPU.
std::string no_native_bf16_note(bool emulated, const std::string& cap);

// The CPU's bf16 as --version gives it: "CPU bf16 native with AMX", "CPU bf16 native (no AMX)" or
// "CPU bf16 emulated", with "(under ONEDNN_MAX_CPU_ISA=...)" where the cap `cap` took some away.
std::string describe_cpu_bf16(bool native, bool amx, const std::string& cap);

// One line on the LibTorch this binary runs with: its version, whether CUDA support is built in
// (with the CUDA runtime's and cuDNN's versions) and how many devices it sees, and the CPU's bf16.
// E.g. "LibTorch 2.15.0, CUDA 13.2 built in (cuDNN 9.26.0), 0 CUDA devices, CPU bf16 emulated".
std::string describe_build();

}  // namespace dcgan
