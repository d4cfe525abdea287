#!/usr/bin/env python3
"""Float32 reference trajectories: torch.optim's rules in the precision training uses.

Run with Debian's PyTorch (python3-torch, 1.13) from the repository root:

    /usr/bin/python3 tools/reference/generate_float32.py

generate.py checks every rule in float64, where a difference in how a scalar is rounded hides below 1e-15.
Training runs in float32, so this file runs each torch.optim optimizer on two float32 tensors (37 and 5 entries:
more than one vector of either width, with a remainder) for 25 steps, on the gradient g = p / 2 + c_t with a fixed
table c_t, and records every value after every step. The test expects Descent's float optimizers to equal these
bit for bit. Each optimizer runs its default single-tensor path, as on a CPU; NAdam takes the foreach path for the
reason generate.py gives (PyTorch 1.13's single-tensor NAdam has a bug fixed in 2.0).
It writes tests/Descent.Tests/Reference/float32_reference.json.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference", "float32_reference.json")
SIZES = {"w": 37, "b": 5}
STEPS = 25

TORCH = {
    "sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam, "adamax": torch.optim.Adamax, "adadelta": torch.optim.Adadelta,
    "asgd": torch.optim.ASGD, "rprop": torch.optim.Rprop,
}

FLAT = {"etas": ("etaminus", "etaplus"), "step_sizes": ("step_size_min", "step_size_max"), "betas": ("beta1", "beta2")}

CASES = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("nadam", {"lr": 0.01, "foreach": True}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01, "foreach": True}),
    ("radam", {"lr": 0.01}),
    ("radam", {"lr": 0.01, "weight_decay": 0.1}),
    ("adamax", {"lr": 0.01, "weight_decay": 0.1}),
    ("adadelta", {"lr": 1.0, "rho": 0.8, "weight_decay": 0.1}),
    ("asgd", {"lr": 0.05, "lambd": 0.5, "alpha": 0.75, "t0": 5.0}),
    ("asgd", {"lr": 0.01, "weight_decay": 0.1, "t0": 0.0}),
    ("rprop", {"lr": 0.01, "etas": (0.4, 1.3), "step_sizes": (1e-4, 0.2)}),
]


def table():
    """c_t for every step and tensor, as float32 values."""
    return [{n: [float(torch.tensor(math.sin(0.37 * i + 1.1 * t + (0 if n == "w" else 2.0)), dtype=torch.float32))
                 for i in range(size)] for n, size in SIZES.items()} for t in range(STEPS)]


def run(name, options, c):
    start = {n: torch.tensor([math.cos(0.5 * i + (0 if n == "w" else 1.0)) for i in range(size)], dtype=torch.float32)
             for n, size in SIZES.items()}
    params = {n: torch.nn.Parameter(v.clone()) for n, v in start.items()}
    opt = TORCH[name](list(params.values()), **options)
    path = []
    for t in range(STEPS):
        for n, p in params.items():
            p.grad = p.detach() * 0.5 + torch.tensor(c[t][n], dtype=torch.float32)
        opt.step()
        path.append({n: [float(v) for v in p.detach()] for n, p in params.items()})
    record = {}
    for k, v in options.items():
        if k in FLAT:
            record.update(zip(FLAT[k], v))
        elif k != "foreach":
            record[k] = v
    return {"optimizer": name, "options": record, "start": {n: [float(v) for v in s] for n, s in start.items()}, "path": path}


def main():
    torch.manual_seed(0)
    c = table()
    out = {"generator": "tools/reference/generate_float32.py", "torch": torch.__version__, "gradient_table": c,
           "cases": [run(name, options, c) for name, options in CASES]}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
