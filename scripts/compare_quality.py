#!/usr/bin/env python3
"""Sample quality of generators trained on Fashion-MNIST, in the feature space of a classifier.

Trains a small CNN on Fashion-MNIST's training images and labels (Debian's dataset-fashion-mnist),
prints its test accuracy, then for each folder of generated samples (`dcgan sample --num N
--out-dir DIR`) prints the Frechet distance between the classifier's features of N samples and of
N test images: FID's formula on features that know garments, where no Inception weights are at
hand. Lower is better; the distance of N training images from the test images is printed as the
floor. Statistics are float64, the matrix square root through symmetric eigendecompositions.

  .venv/bin/python scripts/compare_quality.py [--num N] [--epochs E] [--seed S] NAME=DIR ...

Needs PyTorch, numpy and Pillow (scripts/setup.sh installs them into .venv/).
"""
import argparse
import gzip
import pathlib
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def to_model_range(images):
    """uint8 (N, 28, 28) -> float (N, 1, 32, 32) in [-1, 1], padded as dcgan pads IDX images."""
    x = torch.from_numpy(images.copy()).float().div(127.5).sub(1.0)
    return F.pad(x, (2, 2, 2, 2), value=-1.0).unsqueeze(1)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 128, 3, padding=1)
        self.fc, self.out = nn.Linear(128 * 4 * 4, 128), nn.Linear(128, 10)

    def features(self, x):  # (N, 1, 32, 32) -> (N, 128)
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        return self.fc(x.flatten(1))

    def forward(self, x):
        return self.out(F.relu(self.features(x)))


def batched(model_fn, x, size=500):
    with torch.no_grad():
        return torch.cat([model_fn(x[i:i + size]) for i in range(0, len(x), size)])


def frechet(a, b):
    a, b = a.double().numpy(), b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def load_samples(folder, n):
    files = sorted(pathlib.Path(folder).glob("*.png"))[:n]
    if len(files) < n:
        raise SystemExit(f"{folder}: {len(files)} PNG files, {n} wanted")
    images = np.stack([np.asarray(Image.open(f).convert("L"), dtype=np.uint8) for f in files])
    return torch.from_numpy(images).float().div(127.5).sub(1.0).unsqueeze(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--num", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("runs", nargs="+", help="NAME=DIR of generated PNGs")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    train_x = to_model_range(read_idx(DATA / "train-images-idx3-ubyte.gz"))
    train_y = torch.from_numpy(read_idx(DATA / "train-labels-idx1-ubyte.gz").astype(np.int64))
    test_x = to_model_range(read_idx(DATA / "t10k-images-idx3-ubyte.gz"))
    test_y = torch.from_numpy(read_idx(DATA / "t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(a.epochs):
        order = torch.randperm(len(train_x))
        for i in range(0, len(order), 128):
            idx = order[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(model(train_x[idx]), train_y[idx]).backward()
            opt.step()
    model.eval()
    accuracy = (batched(model, test_x).argmax(1) == test_y).float().mean().item()
    print(f"classifier: {a.epochs} epochs on 60,000 images, test accuracy {100 * accuracy:.1f} %")

    n = a.num
    reference = batched(model.features, test_x[:n])
    print(f"floor: {n} training images vs {n} test images: "
          f"{frechet(batched(model.features, train_x[:n]), reference):.3f}")
    for spec in a.runs:
        name, folder = spec.split("=", 1)
        print(f"{name}: {n} samples vs {n} test images: "
              f"{frechet(batched(model.features, load_samples(folder, n)), reference):.3f}")


if __name__ == "__main__":
    main()
