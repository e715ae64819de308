#include "dcgan/dist/env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "dcgan/error.h"

namespace dcgan {
namespace {

// An environment made of `vars` only.
GetEnv environment(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::map<std::string, std::string> torchrun_vars() {
  return {{"RANK", "2"},         {"WORLD_SIZE", "4"},      {"LOCAL_RANK", "0"},
          {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "29500"}, {"LOCAL_WORLD_SIZE", "2"}};
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    read_dist_env(environment(vars));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DistEnvTest, WithoutWorldSizeTheRunIsOneProcess) {
  EXPECT_FALSE(read_dist_env(environment({})).has_value());
  EXPECT_FALSE(read_dist_env(environment({{"RANK", "1"}, {"MASTER_PORT", "1"}})).has_value());
}

TEST(DistEnvTest, ReadsWhatTorchrunSets) {
  const auto env = read_dist_env(environment(torchrun_vars()));
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->rank, 2);
  EXPECT_EQ(env->world_size, 4);
  EXPECT_EQ(env->local_rank, 0);
  EXPECT_EQ(env->local_world_size, 2);
  EXPECT_EQ(env->master_addr, "node1");
  EXPECT_EQ(env->master_port, 29500);
  EXPECT_FALSE(env->agent_store);
  EXPECT_EQ(env->describe(), "rank 2 of 4 (local 0), store node1:29500");
}

TEST(DistEnvTest, TorchrunsAgentStoreIsJoinedUnderTheRestartsPrefix) {
  auto vars = torchrun_vars();
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  vars["TORCHELASTIC_RESTART_COUNT"] = "3";
  const auto env = read_dist_env(environment(vars));
  ASSERT_TRUE(env.has_value());
  EXPECT_TRUE(env->agent_store);
  EXPECT_EQ(env->store_prefix, "/worker/attempt_3");
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  EXPECT_FALSE(read_dist_env(environment(vars))->agent_store);
}

TEST(DistEnvTest, MissingOrMalformedVariablesAreNamed) {
  for (const char* name : {"RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) {
    auto vars = torchrun_vars();
    vars.erase(name);
    EXPECT_EQ(error_of(vars), std::string("environment variable ") + name +
                                  " is not set (WORLD_SIZE is 4); torchrun and scripts/launch.sh "
                                  "set it for each process");
  }
  auto vars = torchrun_vars();
  vars["RANK"] = "4";
  EXPECT_EQ(error_of(vars), "environment variable RANK must be an integer from 0 to 3, got '4'");
  vars = torchrun_vars();
  vars["MASTER_PORT"] = "http";
  EXPECT_EQ(error_of(vars),
            "environment variable MASTER_PORT must be an integer from 1 to 65535, got 'http'");
  vars = torchrun_vars();
  vars["WORLD_SIZE"] = "0";
  EXPECT_EQ(error_of(vars),
            "environment variable WORLD_SIZE must be an integer from 1 to 1048576, got '0'");
  vars = torchrun_vars();
  vars["LOCAL_WORLD_SIZE"] = "9";
  EXPECT_EQ(error_of(vars),
            "environment variable LOCAL_WORLD_SIZE must be an integer from 1 to 4, got '9'");
}

}  // namespace
}  // namespace dcgan
