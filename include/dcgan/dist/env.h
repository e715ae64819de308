// Where a process stands in a distributed run, from the environment variables torchrun (and
// scripts/launch.sh, srun torchrun, ...) set for each process it starts.
#pragma once

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

namespace dcgan {

struct DistEnv {
  int rank = 0;        // RANK: 0 .. world_size - 1
  int world_size = 1;  // WORLD_SIZE
  int local_rank = 0;  // LOCAL_RANK: this process's index on its machine (its GPU)
  // LOCAL_WORLD_SIZE (optional; torchrun sets it): processes on this machine, which share its
  // cores (run.threads 0 gives each its share).
  int local_world_size = 1;
  std::string master_addr;  // MASTER_ADDR: host of the rendezvous store
  int master_port = 0;      // MASTER_PORT
  // torchrun's agent already hosts the store on MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank joins it as a client, under the key prefix
  // of this restart (TORCHELASTIC_RESTART_COUNT). Otherwise rank 0 hosts it.
  bool agent_store = false;
  std::string store_prefix;

  // "rank 1 of 2 (local 1), store 127.0.0.1:29500"
  std::string describe() const;
};

// The variables a process needs: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
// nullopt when WORLD_SIZE is not set: a plain single-process run. Throws ConfigError naming the
// variable when one is missing or malformed.
using GetEnv = std::function<const char*(const char*)>;
std::optional<DistEnv> read_dist_env(const GetEnv& getenv = [](const char* name) {
  return std::getenv(name);
});

}  // namespace dcgan
