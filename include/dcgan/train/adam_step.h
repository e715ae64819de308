// torch::optim::Adam's update in one pass over each parameter's values, on the CPU.
//
// LibTorch's Adam::step runs its update as eight tensor operations per parameter (the moments'
// decays and additions, the square root, the division, the epsilon, the update), each a pass over
// the parameter's size, and allocates two temporaries: about 80 bytes of memory traffic per fp32
// value against 28 for reading the parameter, its gradient and both moments once and writing
// three back. With PyTorch 2.4 and later, LibTorch carries PyTorch's own one-pass kernel
// (`torch.optim.Adam(fused=True)`, at::_fused_adam_), which adam_step calls on the optimizer's own
// state: checkpoints, resume and CapturableAdam see the same optimizer as after Adam::step.
//
// The update is the same in real arithmetic; in fp32 the two differ by rounding (the fused kernel
// forms the same terms in another order: tests/train/adam_step_test.cpp).
#pragma once

#include <torch/torch.h>

namespace dcgan {

// Whether adam_step takes the one-pass kernel for `adam` now: LibTorch 2.4 or later, no AMSGrad,
// and for every parameter with a gradient: its state already there (Adam::step creates it on the
// first step), and the parameter, its gradient and both moments contiguous fp32 CPU tensors of
// one size.
bool adam_step_is_fused(torch::optim::Adam& adam);

// One Adam update from the parameters' gradients: the one-pass kernel where adam_step_is_fused,
// adam.step() otherwise. Parameters without a gradient are left alone, as by Adam::step.
void adam_step(torch::optim::Adam& adam);

}  // namespace dcgan
