"""Writes the PNG files of unusual depth the image-folder tests decode (run from the repo root):
grey16.png, 8x8 16-bit grey with 8-bit value 4*i at pixel i (stored as 257 times that), and
palette.png, 8x8 2-bit indexed colour cycling black, red, green."""
import numpy as np
from PIL import Image

grey = ((np.arange(64, dtype=np.uint16).reshape(8, 8) * 4) * 257).astype(np.uint16)
Image.fromarray(grey).save("tests/data/files/grey16.png")
palette = Image.new("P", (8, 8))
palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
palette.putdata([i % 3 for i in range(64)])
palette.save("tests/data/files/palette.png")
