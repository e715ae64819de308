#include "dcgan/dist/env.h"

#include <cerrno>
#include <climits>

#include "dcgan/error.h"

namespace dcgan {
namespace {

std::string required(const GetEnv& getenv, const char* name, const std::string& why) {
  const char* value = getenv(name);
  if (value == nullptr || *value == '\0') {
    throw ConfigError(std::string("environment variable ") + name + " is not set (" + why +
                      "); torchrun and scripts/launch.sh set it for each process");
  }
  return value;
}

long parse_int(const std::string& text, const char* name, long low, long high) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || value < low || value > high) {
    throw ConfigError(std::string("environment variable ") + name + " must be an integer from " +
                      std::to_string(low) + " to " + std::to_string(high) + ", got '" + text + "'");
  }
  return value;
}

}  // namespace

std::string DistEnv::describe() const {
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (local " +
         std::to_string(local_rank) + "), store " + master_addr + ":" +
         std::to_string(master_port) + (agent_store ? " (torchrun's)" : "");
}

std::optional<DistEnv> read_dist_env(const GetEnv& getenv) {
  const char* world = getenv("WORLD_SIZE");
  if (world == nullptr || *world == '\0') return std::nullopt;
  const std::string why = "WORLD_SIZE is " + std::string(world);
  DistEnv env;
  env.world_size = static_cast<int>(parse_int(world, "WORLD_SIZE", 1, 1 << 20));
  env.rank = static_cast<int>(parse_int(required(getenv, "RANK", why), "RANK", 0, env.world_size - 1));
  env.local_rank = static_cast<int>(
      parse_int(required(getenv, "LOCAL_RANK", why), "LOCAL_RANK", 0, env.world_size - 1));
  const char* local_world = getenv("LOCAL_WORLD_SIZE");
  if (local_world != nullptr && *local_world != '\0') {
    env.local_world_size =
        static_cast<int>(parse_int(local_world, "LOCAL_WORLD_SIZE", 1, env.world_size));
  }
  env.master_addr = required(getenv, "MASTER_ADDR", why);
  env.master_port = static_cast<int>(
      parse_int(required(getenv, "MASTER_PORT", why), "MASTER_PORT", 1, 65535));
  const char* agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
  if (agent != nullptr && std::string(agent) == "True") {
    env.agent_store = true;
    const char* restarts = getenv("TORCHELASTIC_RESTART_COUNT");
    const long attempt = restarts == nullptr || *restarts == '\0'
                             ? 0
                             : parse_int(restarts, "TORCHELASTIC_RESTART_COUNT", 0, INT_MAX);
    env.store_prefix = "/worker/attempt_" + std::to_string(attempt);
  }
  return env;
}

}  // namespace dcgan
