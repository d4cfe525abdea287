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
It also clips gradients with torch.nn.utils.clip_grad_norm_ in float32 and float64 (tensors of sizes that leave
remainders after 8-lane vectors (of 4 to 7, which torch's compiled kernel adds in a 4-wide pass), 300 tensors, norms 2, 1, 3 and infinity, clipped and not, a max_norm float32 cannot hold, a
norm that overflows float32) and records the norm and the clipped gradients, which Descent's clipping must equal bit
for bit: torch.norm sums in the tensor's precision in its kernels' order, so a correctly rounded norm would differ.
Run it without ATEN_CPU_CAPABILITY, as PyTorch 1.13 runs by default (AVX2 kernels, also on AVX-512 processors).
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


CLIPS = [
    # (dtype, sizes, scale of the gradients, max_norm, norm_type)
    ("float32", [37, 5, 3136, 1, 130], 1.0, 1.0, 2.0),
    ("float32", [37, 5, 3136, 1, 130], 1.0, 1e4, 2.0),
    ("float32", [8, 9, 16, 3, 100, 7, 1, 64, 33, 2], 0.3, 0.1, 2.0),
    ("float32", [1000, 13], 5.0, 2.5, 1.0),
    ("float32", [1000, 13], 5.0, 2.5, 3.0),
    ("float32", [1000, 13], 5.0, 2.5, math.inf),
    ("float32", [20, 3], 1e19, 1.0, 2.0),
    ("float32", [4 + m % 4 for m in range(300)], 1.0, 1.0, 2.0),   # remainders of 4 to 7, and more tensors than a stack buffer
    ("float32", [5, 12, 13, 20, 44, 1003, 3141], 0.7, 0.5, 2.0),
    ("float32", [5], 1.0, 1.0, 2.0),   # single tensors whose norms the 4-wide pass over the remainder changes
    ("float32", [14], 3.0, 1.0, 2.0),
    ("float32", [29], 0.7, 1.0, 2.0),
    ("float64", [37, 5, 3136, 1, 130], 1.0, 1.0, 2.0),
    ("float64", [8, 9, 16, 3, 100, 7, 1, 64, 33, 2], 0.3, 0.1, 3.0),
]


def number(v):
    """A float for JSON; infinities and NaN as strings, which JSON has no numbers for."""
    return v if math.isfinite(v) else "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"


def clip(dtype, sizes, scale, max_norm, norm_type):
    generator = torch.Generator().manual_seed(len(sizes) * 1000 + int(norm_type if math.isfinite(norm_type) else 99))
    grads = [torch.randn(n, generator=generator, dtype=torch.float64).mul(scale).to(getattr(torch, dtype)) for n in sizes]
    params = [torch.nn.Parameter(torch.zeros(n, dtype=getattr(torch, dtype))) for n in sizes]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type).item()
    return {"dtype": dtype, "max_norm": max_norm, "norm_type": number(norm_type), "norm": number(norm),
            "grads": [[float(v) for v in g] for g in grads], "clipped": [[number(float(v)) for v in p.grad] for p in params]}


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)   # norms other than 2 of tensors past 32,768 entries are split between threads
    c = table()
    out = {"generator": "tools/reference/generate_float32.py", "torch": torch.__version__, "gradient_table": c,
           "cases": [run(name, options, c) for name, options in CASES],
           "clips": [clip(*case) for case in CLIPS]}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
