"""Writes the images of an MNIST-format IDX file as PNG files, one subfolder per label when the
label file lies beside it: the input of the image-folder measurement in docs/PERFORMANCE.md.

usage: scripts/idx_to_png.py IMAGES.idx3-ubyte[.gz] OUT_DIR   (.venv/bin/python: numpy, pillow)
"""
import gzip
import os
import sys

import numpy as np
from PIL import Image


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


images_path, out = sys.argv[1], sys.argv[2]
images = read_idx(images_path)
labels_path = images_path.replace("-images-idx3-ubyte", "-labels-idx1-ubyte")
labels = read_idx(labels_path) if labels_path != images_path and os.path.exists(labels_path) else None
for i, image in enumerate(images):
    folder = os.path.join(out, str(labels[i])) if labels is not None else out
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(image).save(os.path.join(folder, f"{i:05d}.png"))
print(f"{len(images)} PNG files under {out}")
