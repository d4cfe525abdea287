#!/usr/bin/env python3
"""Reads a model.safetensors written by `descent train` with numpy alone, loads it into the equivalent
torch.nn.Sequential (strict: every name and shape must match) and prints its predictions.

    /usr/bin/python3 tools/reference/check_safetensors.py RUN_DIR/model.safetensors 2,64,64,2 relu
"""
import sys

import torch

from safetensors_numpy import read

path, sizes, activation = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3]
tensors, metadata = read(path)
print("tensors:", {k: v.shape for k, v in tensors.items()}, "metadata:", metadata)

act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU, "identity": torch.nn.Identity}[activation]
layers = []
for i in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    if i < len(sizes) - 2:
        layers.append(act())


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(*layers)


model = Model()
model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
x = torch.tensor([[0.0, 0.5], [1.0, -0.5], [-1.0, 0.2], [2.0, 0.0]])[:, :sizes[0]] if sizes[0] == 2 else torch.rand(4, sizes[0])
print("predictions:", model.layers(x).argmax(1).tolist())
