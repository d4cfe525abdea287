#!/usr/bin/env python3
"""Reads a model.safetensors written by `descent train` with numpy alone, loads it into the equivalent
torch.nn.Sequential (strict: every name and shape must match) and prints its predictions.

    /usr/bin/python3 tools/reference/check_safetensors.py RUN_DIR/model.safetensors 2,64,64,2 relu
"""
import argparse

ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu", "identity"]


def layer_sizes(text):
    """Layer widths "2,64,64,2": the inputs, each hidden layer and the outputs."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of whole numbers such as 2,64,64,2")
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' needs at least an input and an output width, each >= 1")
    return sizes


parser = argparse.ArgumentParser(
    description="Read a model.safetensors written by `descent train` with numpy alone, load it into the equivalent "
                "torch.nn.Sequential with strict=True (every name and shape must match) and print its predictions.")
parser.add_argument("path", help="the model.safetensors file of a run directory")
parser.add_argument("sizes", type=layer_sizes, help="layer widths from inputs to outputs, as the run printed them, e.g. 2,64,64,2")
parser.add_argument("activation", choices=ACTIVATIONS, help="the activation after each hidden layer (the run's --activation)")
args = parser.parse_args()
path, sizes, activation = args.path, args.sizes, args.activation

import torch  # noqa: E402  (after parsing: --help and usage errors need no torch)

from safetensors_numpy import read  # noqa: E402

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
