#!/usr/bin/env python3
"""How far a Winograd form with bf16 products would stray, against the direct form in bf16.

For each phase shape of src/model/winograd_conv_transpose.cpp (F(m,3) or F(m,2) per axis, m = 2
or 4 outputs per tile and axis), the sums of one layer (256 input channels, 128 outputs, 512
tiles, weights N(0, 0.02), inputs leaky-ReLU'd normals as after G's batch norm) three ways:
  direct bf16:   the operands rounded to bf16, sums in fp32, the output rounded to bf16 (what
                 bf16 autocast's convolutions compute);
  winograd bf16: the operands rounded to bf16, both transforms in fp32 and rounded to bf16 (the
                 products' operands), the products summed in fp32 and rounded to bf16, the output
                 transform in fp32 and its result rounded to bf16;
  the same with the products' results kept in fp32 (LibTorch's CPU products give bf16 results
                 for bf16 operands, so this one is not what a build on them would compute).
Prints each one's error, ||y - exact|| / ||exact|| against the sums in fp64, and the ratio of the
Winograd form's to the direct form's. Needs PyTorch and sympy (.venv/bin/python).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winograd_matrices import CASES, transforms  # noqa: E402

BF16 = torch.bfloat16


def rounded(t):
    return t.to(BF16).to(t.dtype)


def matrices(m, r):
    (points,) = [p for mm, rr, p in CASES if (mm, rr) == (m, r)]
    at, g, bt = transforms(m, r, points)
    as_tensor = lambda mat: torch.tensor([[float(v) for v in row] for row in mat.tolist()],
                                         dtype=torch.float64)
    return as_tensor(bt), as_tensor(g), as_tensor(at)


def errors(m, ry, rx, channels=256, outputs=128, tiles=512):
    (bty, gy, aty), (btx, gx, atx) = matrices(m, ry), matrices(m, rx)
    ny, nx = bty.shape[0], btx.shape[0]
    x = torch.nn.functional.leaky_relu(torch.randn(tiles, channels, ny, nx, dtype=torch.float64),
                                       0.2)
    w = torch.randn(outputs, channels, ry, rx, dtype=torch.float64) * 0.02

    def direct(x, w):  # y[t, o, p, q] = sum_ckl x[t, c, p + k, q + l] w[o, c, k, l]
        y = torch.zeros(tiles, outputs, m, m, dtype=x.dtype)
        for p in range(m):
            for q in range(m):
                y[:, :, p, q] = torch.einsum("tckl,ockl->to", x[:, :, p:p + ry, q:q + rx], w)
        return y

    def winograd(x, w, bf16, round_products):
        keep = lambda t: t
        r16 = (lambda t: rounded(t.float()).double()) if bf16 else keep
        v = r16(torch.einsum("ik,tckl,jl->tcij", bty, x, btx))
        u = r16(torch.einsum("ik,ockl,jl->ocij", gy, w, gx))
        prod = torch.einsum("tcij,ocij->toij", v.float(), u.float()).double()
        if round_products:
            prod = r16(prod)
        return r16(torch.einsum("pi,toij,qj->topq", aty, prod, atx))

    exact = direct(x, w)
    xb, wb = rounded(x.float()).double(), rounded(w.float()).double()
    err = lambda y: ((y - exact).norm() / exact.norm()).item()
    assert err(winograd(x, w, False, False)) < 1e-5  # the transforms are right
    d = err(rounded(direct(xb.float(), wb.float())).double())
    return d, err(winograd(xb, wb, True, True)), err(winograd(xb, wb, True, False))


def main():
    torch.manual_seed(0)
    print("phase              direct bf16  winograd bf16        products' results in fp32")
    for m in (2, 4):
        for ry, rx in ((3, 3), (3, 2), (2, 2)):
            d, wb, wf = errors(m, ry, rx)
            print(f"F({m},{ry}) x F({m},{rx})   {d:.2e}     {wb:.2e} ({wb / d:.1f}x)     "
                  f"{wf:.2e} ({wf / d:.1f}x)")


if __name__ == "__main__":
    main()
