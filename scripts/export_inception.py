#!/usr/bin/env python3
"""Export pytorch-fid's Inception-v3 to TorchScript for `dcgan eval --features FILE`.

What it does: builds the network that pytorch-fid computes FID with
(pytorch_fid.inception.InceptionV3, block index 3 = the 2048-d pool3 features,
resize_input=True, normalize_input=True) and writes it as a TorchScript file
whose forward(x) maps float images (N, 3, H, W) in [0, 1] to features (N, 2048).
The module resizes to 299x299 (bilinear) and rescales to [-1, 1] itself, as
pytorch-fid does, so dcgan feeds its 32x32 images at their own size, exactly
as pytorch-fid reads 32x32 PNGs: the FID is comparable with papers' figures.
Attributes read by dcgan's C++ side (module.attr("...")):
  input_size: int = 0 (as is; the module resizes), input_range: List[float] =
  [0.0, 1.0], input_channels: int = 3 (dcgan repeats grey images to 3).

Install (into the same Python whose torch is the LibTorch dcgan links with;
a file saved by a newer torch may not load in an older LibTorch):
  pip install pytorch-fid
Usage:
  python scripts/export_inception.py --weights pt_inception-2015-12-05-6726825d.pth --out inception.pt
  python scripts/export_inception.py --out inception.pt   # downloads the weights (needs internet)
  dcgan eval ... --features inception.pt
Weights: pytorch-fid's FID_WEIGHTS_URL (pytorch_fid/inception.py),
  https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
  (TensorFlow's 2015-12-05 Inception ported to PyTorch); without --weights,
  pytorch-fid downloads it into torch.hub's cache (~/.cache/torch/hub/checkpoints).
--random-weights builds the architecture untrained: ONLY to test the export.

Scripting vs tracing: pytorch-fid 0.3.0's InceptionV3.forward cannot be
scripted (`break` inside a loop over an nn.ModuleList), so the network is then
traced with a (2, 3, 32, 32) example -- dcgan feeds 32x32 images -- inside a
scripted wrapper that holds the attributes. Its control flow depends only on
the configuration, not on the input, and the script checks that other batch
sizes give the eager network's output.
"""
import argparse
import contextlib
import hashlib
import sys
import warnings
from typing import List
from unittest import mock

import torch
import torchvision  # pytorch_fid.inception builds on torchvision's Inception3
from pytorch_fid import inception as fid

WEIGHTS_SHA256_PREFIX = "6726825d"  # torch.hub convention: the file name's hash suffix
warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit.* deprecation notices


class FidFeatures(torch.nn.Module):
    """pytorch-fid's InceptionV3 with its (N, 2048, 1, 1) pool3 output flattened to (N, 2048)."""
    input_size: int
    input_range: List[float]
    input_channels: int

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net
        self.input_size = 0              # feed images at their own size; net resizes to 299
        self.input_range = [0.0, 1.0]    # net maps [0, 1] to Inception's [-1, 1] itself
        self.input_channels = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0].flatten(1)


def build_inception(weights, random_weights):
    """pytorch-fid's InceptionV3(pool3), its weights loaded from `weights`, downloaded or none."""
    with contextlib.ExitStack() as patches:
        if random_weights:  # skip fid_inception_v3's download and load_state_dict
            patches.enter_context(mock.patch.object(fid, "load_state_dict_from_url", lambda *a, **k: {}))
            patches.enter_context(mock.patch.object(torchvision.models.Inception3, "load_state_dict",
                                                    lambda self, *a, **k: None))
        elif weights:  # the local file stands in for the download; load_state_dict checks it
            patches.enter_context(mock.patch.object(fid, "load_state_dict_from_url",
                                                    lambda *a, **k: torch.load(weights, map_location="cpu")))
        net = fid.InceptionV3([fid.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
                              resize_input=True, normalize_input=True)
    return net.eval()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="TorchScript file to write")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--weights", help="local copy of pt_inception-2015-12-05-6726825d.pth "
                   "(default: pytorch-fid downloads it)")
    g.add_argument("--random-weights", action="store_true",
                   help="UNTRAINED weights, ONLY for testing the export: its FID means NOTHING")
    args = p.parse_args()

    if args.random_weights:
        torch.manual_seed(0)  # reproducible test weights
        print("WARNING: --random-weights: untrained network, for testing only; "
              "FIDs computed with it are meaningless", file=sys.stderr)
    elif args.weights:
        with open(args.weights, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if not digest.startswith(WEIGHTS_SHA256_PREFIX):
            print(f"WARNING: {args.weights}: sha256 {digest[:8]}... is not {WEIGHTS_SHA256_PREFIX}...: "
                  "not the FID Inception weights? FIDs may not be comparable", file=sys.stderr)

    net = build_inception(args.weights, args.random_weights)
    wrapper = FidFeatures(net).eval()
    try:
        module, how = torch.jit.script(wrapper), "scripted"
    except Exception:  # pytorch-fid 0.3.0: see "Scripting vs tracing" above
        with torch.no_grad():
            # strict=False: the output is a list (always one tensor); strict mode warns about lists
            wrapper.net = torch.jit.trace(net, torch.rand(2, 3, 32, 32), strict=False)
        module, how = torch.jit.script(wrapper), "traced with 2x3x32x32 in a scripted wrapper"

    # Self-check against the eager network at batch sizes other than the example's.
    with torch.no_grad():
        for n in (1, 5):
            x = torch.rand(n, 3, 32, 32)
            got, want = module(x), net(x)[0].flatten(1)
            err = ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()
            if got.shape != (n, 2048) or err > 1e-4:
                sys.exit(f"self-check failed: batch {n}: shape {tuple(got.shape)}, relative diff {err}")
    module.save(args.out)
    print(f"wrote {args.out}: pytorch-fid InceptionV3 pool3 ({how}; torch {torch.__version__}), "
          f"(N, 3, H, W) in [0, 1] -> (N, 2048)")


if __name__ == "__main__":
    main()
