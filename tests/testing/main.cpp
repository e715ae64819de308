// Every test executable's main: GoogleTest's, after what every dcgan command does first.
#include <gtest/gtest.h>

#include "dcgan/model/cpu_math.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // A test's first tanh or sqrt may run on several threads: settle their kernels first, as
  // configure_threads does in the tool, so that two computations in one test agree bit for bit.
  dcgan::resolve_cpu_math_kernels();
  return RUN_ALL_TESTS();
}
