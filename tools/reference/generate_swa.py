#!/usr/bin/env python3
"""Reference values for torch.optim.swa_utils (tests/Descent.Tests/SwaTests.cs).

Run with Debian's PyTorch (python3-torch, 1.13) from the repository root:

    /usr/bin/python3 tools/reference/generate_swa.py

SWALR: torch's own torch.optim.swa_utils.SWALR drives an SGD optimizer's learning rate from update start + 1 on,
after a regular schedule. The loop is torch's documented one with one scheduler step per update: before update t,
the regular schedule sets the rate while t <= start and SWALR steps once t > start, so SWALR anneals from the rate
of update `start` (the initial one when start is 0) towards swa_lr. The learning rate of every update is recorded.
The regular schedule (constant, or torch's CosineAnnealingLR over the run) is stepped on an optimizer of its own and
its rate written into this one while t <= start, as SequentialLR would hand over.

update_bn: torch.optim.swa_utils.update_bn recomputes batch normalization's running statistics (reset, then the
cumulative average over the loader's batches in training mode) for a model built from a Descent spec
(tools/reference/models.py) with random weights and stale statistics, over a loader that does not shuffle; the
weights, the inputs, the batch size and the statistics it leaves are recorded. A case with max_batches uses only the
loader's first batches, as Descent's UpdateBn setting does.

It writes tests/Descent.Tests/Reference/swa_reference.json.
"""
import json
import math
import os
import warnings

import torch
from torch.optim.swa_utils import SWALR, update_bn

from models import build

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference")


def regular_rates(kind, lr, total):
    """The regular schedule's rates at updates 1..total: constant, or torch's CosineAnnealingLR(T_max = total)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total) if kind == "cosine" else None
    if kind not in ("constant", "cosine"):
        raise ValueError(kind)
    rates = []
    for _ in range(total):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched:
            sched.step()
    return rates


def swalr_rates(lr, regular, start, swa_lr, anneal, strategy, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    # Built at the start, as in torch's examples; with anneal_epochs=0 its constructor sets swa_lr at once, which the
    # regular schedule then overwrites until the start.
    swa = SWALR(opt, swa_lr=swa_lr, anneal_epochs=anneal, anneal_strategy=strategy)
    regular_lr = regular_rates(regular, lr, steps)
    rates = []
    for t in range(1, steps + 1):
        if t > start:
            swa.step()
        else:
            opt.param_groups[0]["lr"] = regular_lr[t - 1]
        rates.append(opt.param_groups[0]["lr"])
        p.grad = torch.ones(1)
        opt.step()
    return rates


def swalr_cases():
    out = []
    for strategy in ("cos", "linear"):
        for (lr, regular, start, swa_lr, anneal, steps) in [
            (0.1, "constant", 5, 0.05, 10, 30),
            (0.1, "cosine", 20, 0.02, 7, 40),
            (0.3, "cosine", 0, 0.01, 10, 25),
            (0.05, "constant", 3, 0.5, 4, 12),     # annealing upwards
            (0.1, "cosine", 6, 0.03, 1, 12),
            (0.1, "cosine", 6, 0.03, 0, 12),
            (1e-3, "cosine", 50, 4e-4, 33, 120),
        ]:
            out.append({"lr": lr, "regular": regular, "start": start, "swa_lr": swa_lr, "anneal_epochs": anneal,
                        "anneal_strategy": strategy, "steps": steps,
                        "rates": swalr_rates(lr, regular, start, swa_lr, anneal, strategy, steps)})
    return out


# (spec, example shape, outputs, examples, batch size, max batches or None)
UPDATE_BN_CASES = [
    ("conv:3,k=3-batchnorm-relu-flatten-linear:5-batchnorm-relu-linear", [2, 5, 7], 3, 8, 3, None),
    ("conv:4,k=3,p=1-batchnorm-relu-maxpool:2-flatten-linear", [1, 6, 6], 2, 10, 4, 2),
    ("linear:6-batchnorm-tanh-linear", [4], 3, 5, 5, None),
]


def flat(t):
    return t.detach().flatten().tolist()


def update_bn_case(index, spec, shape, outputs, examples, batch, max_batches):
    torch.manual_seed(300 + index)
    model = build(spec, shape, outputs)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.3 * torch.randn_like(m.bias))
                m.running_mean.copy_(torch.randn_like(m.running_mean))
                m.running_var.copy_(0.5 + torch.rand_like(m.running_var))
                m.num_batches_tracked.fill_(7)
    model.eval()
    before = {k: flat(v.double()) for k, v in model.state_dict().items()}
    x = 1.5 * torch.randn(examples, *shape) + 0.5
    loader = [x[i:i + batch] for i in range(0, examples, batch)][:max_batches]
    update_bn(loader, model)
    after = {k: flat(v.double()) for k, v in model.state_dict().items() if k not in dict(model.named_parameters())}
    return dict(spec=spec, shape=shape, outputs=outputs, examples=examples, batch=batch, max_batches=max_batches,
                inputs=flat(x), state=before, training_after=model.training, statistics=after)


def main():
    warnings.simplefilter("ignore")
    data = {"generator": "tools/reference/generate_swa.py", "torch": torch.__version__, "swalr": swalr_cases(),
            "update_bn": [update_bn_case(i, *c) for i, c in enumerate(UPDATE_BN_CASES)]}
    path = os.path.join(OUT, "swa_reference.json")
    with open(path, "w") as fh:
        json.dump(data, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(data['swalr'])} SWALR cases, {len(data['update_bn'])} update_bn cases")


if __name__ == "__main__":
    main()
