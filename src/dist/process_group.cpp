// The one translation unit that includes c10d's stores and backends (cmake/Distributed.cmake
// compiles it with the macros their headers expect).
#include <torch/torch.h>
#include <torch/version.h>

#if DCGAN_HAVE_GLOO || DCGAN_HAVE_NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if DCGAN_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if DCGAN_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <chrono>
#include <map>
#include <thread>

#include "dcgan/dist/process_group.h"
#include "dcgan/error.h"

namespace dcgan {

bool backend_available(const std::string& backend) {
  if (backend == "gloo") return DCGAN_HAVE_GLOO;
  if (backend == "nccl") return DCGAN_HAVE_NCCL;
  return false;
}

#if DCGAN_HAVE_GLOO || DCGAN_HAVE_NCCL

namespace {

// LibTorch 2 split the backends off the process group; 1.13's backends are process groups.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif


// The first line of an exception's message, without LibTorch's C++ backtrace.
std::string message_of(const std::exception& e) {
  std::string text;
  if (const auto* error = dynamic_cast<const c10::Error*>(&e)) {
    text = error->what_without_backtrace();
  } else {
    text = e.what();
  }
  const auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  // Gloo's advice after the facts ("This is typically caused by ...") is not the facts.
  const auto advice = text.find(". This is typically");
  if (advice != std::string::npos) text.resize(advice);
  return text;
}

std::string fault_key(int rank) { return "fault/" + std::to_string(rank); }
std::string alive_key(int rank) { return "alive/" + std::to_string(rank); }

// How often each rank says it is alive, and how long a rank that saw a failure watches the others.
constexpr auto kHeartbeat = std::chrono::milliseconds(250);
constexpr auto kWatch = std::chrono::seconds(2);

// A thread that counts up this rank's key alive/<rank> in the store every kHeartbeat, through
// a connection of its own, for as long as the process runs (a stopped or killed process stops).
class Heartbeat {
 public:
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank)
      : store_(std::move(store)), key_(alive_key(rank)), thread_([this] { run(); }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      try {
        store_->add(key_, 1);
      } catch (const std::exception&) {
        return;  // the store is gone: nobody is listening
      }
      wake_.wait_for(lock, kHeartbeat, [this] { return stop_; });
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  std::string key_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

// A connection to the store at env's address, under torchrun's prefix when torchrun's agent hosts
// it. A rank's `main` connection joins the run: without torchrun, rank 0's hosts the store and
// waits until every rank's has connected. The heartbeat's is an extra client, counted nowhere.
c10::intrusive_ptr<c10d::Store> connect_store(const DistEnv& env, bool main,
                                              std::chrono::milliseconds timeout) {
  const bool counted = main && !env.agent_store;
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.isServer = counted && env.rank == 0;
  if (counted) options.numWorkers = env.world_size;
  options.waitWorkers = counted;
  options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store =
      c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  if (env.agent_store) store = c10::make_intrusive<c10d::PrefixStore>(env.store_prefix, store);
  return store;
}

}  // namespace

struct ProcessGroup::Impl {
  DistEnv env;
  std::string backend_name;
  torch::Device device{torch::kCPU};  // where the backend's tensors live
  c10::intrusive_ptr<c10d::Store> store;  // dcgan's keys, under their own prefix
  c10::intrusive_ptr<BackendBase> backend;
  std::unique_ptr<Heartbeat> heartbeat;
  int64_t strings_sent = 0;  // broadcast_string's key counter
  bool failed = false;        // a collective failed: the group is not to be waited on

  ~Impl() {
#if DCGAN_HAVE_NCCL && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 6)
    // What destroy_process_group() does in Python; without it LibTorch warns at every exit.
    // Shutting down waits for the group's work: on the way out of a failure, abort instead.
    if (backend && backend_name == "nccl") {
      auto* nccl = static_cast<c10d::ProcessGroupNCCL*>(backend.get());
      try {
        if (failed || std::uncaught_exceptions() > 0) {
          nccl->abort();
        } else {
          nccl->shutdown();
        }
      } catch (const std::exception&) {  // leaving anyway
      }
    }
#endif
  }

  std::string store_address() const {
    return env.master_addr + ":" + std::to_string(env.master_port);
  }

  // Runs a collective; any failure becomes one DistributedError line.
  template <typename F>
  void guarded(const std::string& what, F&& collective) {
    try {
      collective();
    } catch (const std::exception& e) {
      fail(what, message_of(e));
    }
  }

  // Tells the others this rank saw a failure, then watches the others' heartbeats for kWatch:
  // the ranks whose heartbeat stopped and that did not report a failure themselves are the ones
  // that exited, were killed or hang. Rank 0 (or torchrun's agent) hosts the store; when it is
  // gone, that is what the line says.
  [[noreturn]] void fail(const std::string& what, const std::string& detail) {
    failed = true;
    std::string culprit;
    try {
      store->set(fault_key(env.rank), std::vector<uint8_t>{1});
      std::vector<int64_t> before(env.world_size);
      for (int r = 0; r < env.world_size; ++r) before[r] = store->add(alive_key(r), 0);
      std::this_thread::sleep_for(kWatch);
      std::vector<int> silent;
      for (int r = 0; r < env.world_size; ++r) {
        if (r == env.rank || store->add(alive_key(r), 0) != before[r]) continue;
        if (!store->check({fault_key(r)})) silent.push_back(r);
      }
      if (silent.empty()) {
        culprit = "no rank died or stopped (a rank stuck in its own work, or a network fault)";
      } else {
        std::string ranks;
        for (int r : silent) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
        culprit = std::string(silent.size() == 1 ? "rank " : "ranks ") + ranks +
                  " did not answer (exited, killed or hung)";
      }
    } catch (const std::exception&) {
      culprit = env.agent_store
                    ? "torchrun's store at " + store_address() + " is gone too"
                    : "rank 0, which hosts the store at " + store_address() + ", is gone";
    }
    throw DistributedError("rank " + std::to_string(env.rank) + ": " + what + " failed: " +
                           culprit + " (" + detail + ")");
  }
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->env.rank; }
int ProcessGroup::size() const { return impl_->env.world_size; }
int ProcessGroup::local_rank() const { return impl_->env.local_rank; }
int ProcessGroup::local_world_size() const { return impl_->env.local_world_size; }
const std::string& ProcessGroup::backend() const { return impl_->backend_name; }
torch::Device ProcessGroup::device() const { return impl_->device; }

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistEnv& env, const std::string& backend,
                                                 const torch::Device& device,
                                                 std::chrono::seconds timeout) {
  std::string name = backend;
  if (name == "auto") name = device.is_cuda() ? "nccl" : "gloo";
  if (name != "gloo" && name != "nccl") {
    throw ConfigError("key 'run.dist_backend' must be auto, gloo or nccl, got '" + backend + "'");
  }
  if (!backend_available(name)) {
    throw ConfigError("key 'run.dist_backend' is " + name + " but this dcgan was built without it (" +
                      (name == "gloo" ? "no Gloo headers at build time: see docs/DISTRIBUTED.md"
                                      : "NCCL needs a CUDA build of LibTorch 2.x and nccl.h") +
                      ")");
  }
  if (name == "nccl" && !device.is_cuda()) {
    throw ConfigError("key 'run.dist_backend' is nccl, which needs a CUDA device; the run is on " +
                      device.str());
  }
  auto impl = std::make_unique<Impl>();
  impl->env = env;
  impl->backend_name = name;
  impl->device = name == "nccl" ? device : torch::Device(torch::kCPU);
  const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  c10::intrusive_ptr<c10d::Store> root;
  try {
    root = connect_store(env, /*main=*/true, timeout_ms);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(env.rank) + ": cannot join the store at " +
                           impl->store_address() + " within " + std::to_string(timeout.count()) +
                           " s (run.dist_timeout): " + message_of(e));
  }
  impl->store = c10::make_intrusive<c10d::PrefixStore>("dcgan", root);
  try {
    // The heartbeat's own connection: a store client is not shared between threads.
    impl->heartbeat = std::make_unique<Heartbeat>(
        c10::make_intrusive<c10d::PrefixStore>("dcgan", connect_store(env, /*main=*/false, timeout_ms)),
        env.rank);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(env.rank) + ": cannot join the store at " +
                           impl->store_address() + ": " + message_of(e));
  }
  auto group_store = c10::make_intrusive<c10d::PrefixStore>("group", root);
  try {
#if DCGAN_HAVE_GLOO
    if (name == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout_ms);
      // Gloo's default: the address the machine's hostname resolves to (as in PyTorch);
      // GLOO_SOCKET_IFNAME names one instead.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0') {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      impl->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(group_store, env.rank,
                                                                 env.world_size, options);
    }
#endif
#if DCGAN_HAVE_NCCL
    if (name == "nccl") {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout_ms;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_store, env.rank,
                                                                 env.world_size, options);
    }
#endif
  } catch (const std::exception& e) {
    impl->fail("joining the " + name + " group", message_of(e));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what) {
  // One flat buffer per dtype (and device): one collective instead of one per tensor.
  std::map<std::pair<int, std::string>, std::vector<torch::Tensor>> groups;
  for (const auto& t : tensors) {
    groups[{static_cast<int>(t.scalar_type()), t.device().str()}].push_back(t);
  }
  for (auto& [key, members] : groups) {
    std::vector<torch::Tensor> flat_parts;
    flat_parts.reserve(members.size());
    for (const auto& t : members) flat_parts.push_back(t.reshape({-1}));
    std::vector<torch::Tensor> buffer{members.size() == 1 && members[0].is_contiguous()
                                          ? members[0].view({-1})
                                          : torch::cat(flat_parts)};
    impl_->guarded(what, [&] { impl_->backend->allreduce(buffer)->wait(); });
    if (buffer[0].data_ptr() == members[0].data_ptr()) continue;  // reduced in place
    int64_t offset = 0;
    for (auto& t : members) {
      t.copy_(buffer[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

namespace {

class WorkPending : public ProcessGroup::Pending {
 public:
  WorkPending(ProcessGroup::Impl* impl, c10::intrusive_ptr<c10d::Work> work, std::string what)
      : impl_(impl), work_(std::move(work)), what_(std::move(what)) {}
  void wait() override;

 private:
  ProcessGroup::Impl* impl_;
  c10::intrusive_ptr<c10d::Work> work_;
  std::string what_;
};

}  // namespace

std::unique_ptr<ProcessGroup::Pending> ProcessGroup::start_all_reduce_sum(const torch::Tensor& flat,
                                                                          const std::string& what) {
  std::vector<torch::Tensor> buffer{flat};
  c10::intrusive_ptr<c10d::Work> work;
  impl_->guarded(what, [&] { work = impl_->backend->allreduce(buffer); });
  return std::make_unique<WorkPending>(impl_.get(), std::move(work), what);
}

void WorkPending::wait() {
  impl_->guarded(what_, [&] { work_->wait(); });
}

void ProcessGroup::all_reduce_mean(const std::vector<torch::Tensor>& tensors, const std::string& what) {
  all_reduce_sum(tensors, what);
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) t.div_(size());
}

std::string ProcessGroup::broadcast_string(const std::string& value, const std::string& what) {
  const std::string key = "string/" + std::to_string(impl_->strings_sent++);
  std::string result = value;
  impl_->guarded(what, [&] {
    if (rank() == 0) {
      impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    } else {
      const std::vector<uint8_t> bytes = impl_->store->get(key);
      result.assign(bytes.begin(), bytes.end());
    }
  });
  return result;
}

std::vector<std::vector<int64_t>> ProcessGroup::all_gather(const std::vector<int64_t>& values,
                                                           const std::string& what) {
  const torch::Device device = impl_->device;
  const auto n = static_cast<int64_t>(values.size());
  std::vector<torch::Tensor> input{
      torch::from_blob(const_cast<int64_t*>(values.data()), {n}, torch::kLong).to(device, false, true)};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < size(); ++r) output[0].push_back(torch::empty({n}, input[0].options()));
  impl_->guarded(what, [&] { impl_->backend->allgather(output, input)->wait(); });
  std::vector<std::vector<int64_t>> result;
  for (const auto& t : output[0]) {
    const auto cpu = t.to(torch::kCPU);
    result.emplace_back(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + n);
  }
  return result;
}

#else  // no backend in this build

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistEnv&, const std::string&,
                                                 const torch::Device&, std::chrono::seconds) {
  throw ConfigError(
      "WORLD_SIZE is set but this dcgan was built without distributed training (its LibTorch "
      "has no c10d headers, or no Gloo headers were found): see docs/DISTRIBUTED.md");
}

int ProcessGroup::rank() const { return 0; }
int ProcessGroup::size() const { return 1; }
int ProcessGroup::local_rank() const { return 0; }
int ProcessGroup::local_world_size() const { return 1; }
torch::Device ProcessGroup::device() const { return torch::kCPU; }
std::string ProcessGroup::broadcast_string(const std::string& value, const std::string&) {
  return value;
}
const std::string& ProcessGroup::backend() const {
  static const std::string none;
  return none;
}
void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>&, const std::string&) {}
std::unique_ptr<ProcessGroup::Pending> ProcessGroup::start_all_reduce_sum(const torch::Tensor&,
                                                                          const std::string&) {
  struct Done : Pending {
    void wait() override {}
  };
  return std::make_unique<Done>();
}
void ProcessGroup::all_reduce_mean(const std::vector<torch::Tensor>&, const std::string&) {}
std::vector<std::vector<int64_t>> ProcessGroup::all_gather(const std::vector<int64_t>& values,
                                                           const std::string&) {
  return {values};
}

#endif

}  // namespace dcgan
