// What a run says of the CPU's bf16: the one-line note of a bf16 run without native bf16, and
// --version's words, with and without oneDNN's instruction set cap.
#include <gtest/gtest.h>

#include <string>

#include "dcgan/train/device.h"

namespace dcgan {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Without a cap the note blames the CPU; under one it names the cap, since the CPU has bf16.
TEST(DeviceTest, NoNativeBf16NoteNamesTheCapWhereTheCapIsWhy) {
  const std::string cpu = no_native_bf16_note(/*emulated=*/true, "");
  EXPECT_EQ(cpu.rfind("this CPU has no native bf16", 0), 0u) << cpu;
  EXPECT_TRUE(contains(cpu, "emulated with fp32 kernels")) << cpu;
  const std::string capped = no_native_bf16_note(/*emulated=*/true, "ONEDNN_MAX_CPU_ISA=AVX2");
  EXPECT_EQ(capped.rfind("ONEDNN_MAX_CPU_ISA=AVX2 holds oneDNN below this CPU's native bf16", 0), 0u)
      << capped;
  EXPECT_FALSE(contains(capped, "this CPU has no native bf16")) << capped;
  EXPECT_TRUE(contains(no_native_bf16_note(/*emulated=*/false, ""), "generic bf16 kernels"));
}

TEST(DeviceTest, DescribesTheCpusBf16WithAmxAndTheCap) {
  EXPECT_EQ(describe_cpu_bf16(true, true, ""), "CPU bf16 native with AMX");
  EXPECT_EQ(describe_cpu_bf16(true, false, ""), "CPU bf16 native (no AMX)");
  EXPECT_EQ(describe_cpu_bf16(false, false, ""), "CPU bf16 emulated");
  EXPECT_EQ(describe_cpu_bf16(true, false, "ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16"),
            "CPU bf16 native (no AMX) (under ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16)");
}

}  // namespace
}  // namespace dcgan
