"""Checks `dcgan export` files from Python against dcgan's own output for the same noise.

usage: check_export.py TORCHSCRIPT SAFETENSORS Z.f32 EXPECTED.f32 N Z_DIM C S
Z.f32 and EXPECTED.f32 are raw little-endian float32 arrays (N, Z_DIM) and (N, C, S, S).
Prints "ok" and exits 0 when both files reproduce EXPECTED within 1e-5.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import dcgan_generator  # noqa: E402

ts_path, st_path, z_path, expected_path = sys.argv[1:5]
n, z_dim, channels, size = (int(v) for v in sys.argv[5:9])
z = torch.from_numpy(np.fromfile(z_path, dtype="<f4").reshape(n, z_dim))
expected = torch.from_numpy(np.fromfile(expected_path, dtype="<f4").reshape(n, channels, size, size))

# TorchScript: no dcgan code involved.
scripted = torch.jit.load(ts_path)
assert scripted.z_dim == z_dim and scripted.image_size == size and scripted.channels == channels
with torch.no_grad():
    out = scripted(z)
error = (out - expected).abs().max().item()
assert out.shape == expected.shape, (out.shape, expected.shape)
assert error <= 1e-5, f"TorchScript differs from dcgan by {error}"

# safetensors: the header is well formed (8-byte length, JSON, contiguous offsets covering the data).
with open(st_path, "rb") as f:
    raw = f.read()
(length,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + length])
spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
assert spans[0][0] == 0 and spans[-1][1] == len(raw) - 8 - length, spans[-1]
assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "offsets must be contiguous"
try:  # the reference reader, where installed
    from safetensors.numpy import load_file
    assert set(load_file(st_path)) == set(spans_name for spans_name in header if spans_name != "__metadata__")
except ImportError:
    pass
generator = dcgan_generator.load(st_path)
with torch.no_grad():
    out = generator(z)
error = (out - expected).abs().max().item()
assert error <= 1e-5, f"safetensors module differs from dcgan by {error}"
print("ok")
