#!/usr/bin/env python3
"""K optimizer steps on one fixed batch in PyTorch, for Descent to repeat from the same weights (tests/Descent.Tests/TorchStepTests.cs).

Run with Debian's PyTorch (python3-torch, 1.13, float32 on the CPU) from the repository root:

    /usr/bin/python3 tools/reference/generate_torch_steps.py

For each model (a CNN with batch normalization, a pre-LN and a post-LN transformer, two small versions of the
exercise CNN, built from Descent model specs by tools/reference/models.py) it writes into tests/Descent.Tests/Reference/steps/:
  NAME.init.safetensors   the initial state_dict (torch's own initialization, seeded), which Descent loads
                          as its starting weights (descent train --init FILE),
  NAME.OPT.safetensors    the state_dict after K steps of OPT (sgd: lr 0.05, momentum 0.9; adam: lr 0.01; a case
                          may name fewer, in its "optimizers"),
                          each step: zero_grad, forward in training mode, mean cross-entropy (over every
                          position for the transformers), backward, optimizer step,
and steps.json: the cases, the fixed batch (inputs and labels), the hyperparameters, and the entries whose
gradient is zero in exact arithmetic (null_gradient, by tensor name).
The models are small (at most a few thousand parameters) so the committed files stay small.
"""
import copy
import json
import os

import numpy as np
import torch

from models import build
from safetensors_numpy import write

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference", "steps")
K = 20
OPTIMIZERS = {"sgd": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}), "adam": (torch.optim.Adam, {"lr": 0.01})}
# (name, spec, example shape, batch, outputs[, the optimizers to run: all by default])
CASES = [
    # Batch norm after the activation: a bias right before batch norm has a zero exact gradient, and under Adam its
    # float32 noise walks it (and so the running mean that includes it) apart from torch's by up to lr per step.
    ("cnn", "conv:4,k=3,p=1-relu-batchnorm-maxpool:2-conv:6,k=3-relu-flatten-linear:16-relu-linear", [1, 10, 10], 8, 10),
    ("transformer-pre", "transformer:layers=2,d=12,heads=3,ctx=5,norm=pre", [5], 4, 7),
    ("transformer-post", "transformer:layers=2,d=12,heads=3,ctx=5,norm=post", [5], 4, 7),
    # The exercise CNN's shape of network, small: its second convolution (8 channels in) takes Descent's Winograd
    # path (for its 6 x 6 outputs one tile of F(6x6, 3x3)), each ReLU is applied by the max pooling after it, and the
    # flattening is a view. Adam too: here no kernel entry has a gradient of exactly zero, so Adam does not magnify
    # Winograd's rounding into full steps as it does in the case below.
    ("cnn-winograd", "conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear:16-relu-linear", [1, 12, 12], 8, 10),
    # Larger images, so that the second convolution's 8 x 8 outputs take whole 4 x 4 blocks (F(4x4, 3x3)); the first (9 kernel entries for
    # 16 channels) writes its product on the output's own grid; each pooling's backward pass runs inside its convolution's.
    # SGD only: one kernel entry of the second convolution has a gradient of exactly zero in torch (each of its products
    # is zero, its input being 0 wherever its output channel passes a gradient), which F(4x4, 3x3)'s transforms, mixing
    # a tile's positions, leave as -1.4e-9 of rounding; Adam turns that into a full step of lr, and the runs part (by
    # 0.097 after 20 steps, measured; SGD stays within 2e-7).
    ("cnn-winograd4", "conv:16,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear:16-relu-linear", [1, 16, 16], 8, 10, ("sgd",)),
]


def state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def case(index, name, spec, shape, batch, outputs, optimizers=tuple(OPTIMIZERS)):
    torch.manual_seed(1000 + index)
    model = build(spec, shape, outputs)
    tokens = spec.startswith("transformer")
    x = torch.randint(0, outputs, (batch, *shape)) if tokens else torch.randn(batch, *shape)
    with torch.no_grad():
        y_shape = model(x).shape[:-1]
    labels = torch.randint(0, outputs, y_shape)
    write(os.path.join(OUT, f"{name}.init.safetensors"), state(model), {"format": "pt"})
    # Entries whose gradient is zero in exact arithmetic (the key bias of attention, a bias right before batch
    # normalization): found in float64, where what is left is below 1e-12. In float32 their gradient is rounding
    # noise, which Adam scales up to steps of about lr in either direction, so no two implementations agree there.
    # (Entries exactly zero in both, such as the weights of a ReLU unit dead on the whole batch, are not noise.)
    exact, single = copy.deepcopy(model).double(), copy.deepcopy(model)
    for m, inputs in ((exact, x if tokens else x.double()), (single, x)):
        torch.nn.functional.cross_entropy(m(inputs).reshape(-1, outputs), labels.reshape(-1)).backward()
    rounded = dict(single.named_parameters())
    null = {k: torch.nonzero((p.grad.flatten().abs() < 1e-12) & ((p.grad.flatten() != 0) | (rounded[k].grad.flatten() != 0))).flatten().tolist()
            for k, p in exact.named_parameters()}
    for opt_name in optimizers:
        cls, options = OPTIMIZERS[opt_name]
        m = copy.deepcopy(model)
        m.train()
        opt = cls(m.parameters(), **options)
        for _ in range(K):
            opt.zero_grad()
            out = m(x)
            loss = torch.nn.functional.cross_entropy(out.reshape(-1, outputs), labels.reshape(-1))
            loss.backward()
            opt.step()
        write(os.path.join(OUT, f"{name}.{opt_name}.safetensors"), state(m), {"format": "pt"})
    return dict(name=name, spec=spec, shape=shape, batch=batch, outputs=outputs, optimizers=list(optimizers),
                inputs=x.flatten().tolist(), labels=labels.flatten().tolist(), null_gradient={k: v for k, v in null.items() if v})


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    cases = [case(i, *c) for i, c in enumerate(CASES)]
    with open(os.path.join(OUT, "steps.json"), "w") as fh:
        json.dump(dict(generator="tools/reference/generate_torch_steps.py", torch=torch.__version__, steps=K,
                       optimizers={k: v[1] for k, v in OPTIMIZERS.items()}, cases=cases), fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases, {K} steps of each case's optimizers ({', '.join(OPTIMIZERS)} unless it names fewer)")


if __name__ == "__main__":
    main()
