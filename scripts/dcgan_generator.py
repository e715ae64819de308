"""dcgan's generator as a PyTorch module, for the safetensors files `dcgan export` writes.

    from dcgan_generator import load
    g = load("generator.safetensors")      # eval mode: batch norm on its running statistics
    z = torch.rand(16, g.z_dim) * 2 - 1    # dcgan's noise: uniform in [-1, 1]
    images = g(z)                          # (16, C, S, S) in [-1, 1]

Needs only PyTorch and numpy; the file is read with json and numpy (the `safetensors` package
reads it too: its tensor names are this module's state_dict keys).
"""
import json
import struct

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}


class Generator(nn.Module):
    """z (N, z_dim) -> images (N, channels, image_size, image_size): dense to 4x4, then 5x5
    stride-2 transposed convolutions with batch norm and leaky ReLU, tanh at the end."""

    def __init__(self, z_dim=100, g_channels=512, channels=3, image_size=32, leaky_slope=0.2,
                 bn_eps=1e-3):
        super().__init__()
        self.z_dim, self.g_channels, self.leaky_slope = z_dim, g_channels, leaky_slope
        self.stages = 4 if image_size == 64 else 3
        widths = [g_channels >> i for i in range(self.stages)] + [channels]
        self.fc = nn.Linear(z_dim, 16 * g_channels)
        self.bn1 = nn.BatchNorm2d(g_channels, eps=bn_eps)
        for i in range(self.stages):
            self.add_module(f"t{i + 2}", nn.ConvTranspose2d(widths[i], widths[i + 1], 5, stride=2,
                                                            padding=2, output_padding=1))
        for i in range(self.stages - 1):
            self.add_module(f"bn{i + 2}", nn.BatchNorm2d(widths[i + 1], eps=bn_eps))

    def forward(self, z):
        x = self.fc(z).view(-1, self.g_channels, 4, 4)
        x = F.leaky_relu(self.bn1(x), self.leaky_slope)
        for i in range(2, self.stages + 1):
            x = F.leaky_relu(getattr(self, f"bn{i}")(getattr(self, f"t{i}")(x)), self.leaky_slope)
        return torch.tanh(getattr(self, f"t{self.stages + 1}")(x))


def read_safetensors(path):
    """(tensors by name as numpy arrays, __metadata__ dict) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(entry["shape"]).copy()
    return tensors, metadata


def load(path):
    """The generator stored in a `dcgan export` safetensors file, in eval mode."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") != "dcgan-generator":
        raise ValueError(f"{path}: a dcgan generator expected, found format {meta.get('format')!r}")
    g = Generator(int(meta["z_dim"]), int(meta["g_channels"]), int(meta["channels"]),
                  int(meta["image_size"]), float(meta["leaky_slope"]), float(meta["bn_eps"]))
    g.load_state_dict({name: torch.from_numpy(array) for name, array in tensors.items()})
    return g.eval()
