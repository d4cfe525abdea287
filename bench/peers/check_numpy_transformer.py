#!/usr/bin/env python3
"""Checks the NumPy transformer (bench/peers/numpy_transformer.py) against torch.autograd in float64.

    /usr/bin/python3 bench/peers/check_numpy_transformer.py

At odd sizes and at the benchmark's, builds the torch twin (tools/reference/models.py), copies its weights
into the NumPy model by name, and compares the loss, every parameter's gradient, and the weights (and what
the steps changed) after three AdamW steps on fresh batches. Errors are relative to the largest magnitude of
each tensor; one line per check, exit status 1 if any reaches 1e-10.
"""
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, "..", "..", "tools", "reference")]
import models  # noqa: E402
from numpy_transformer import AdamW, Transformer, cross_entropy  # noqa: E402

TOLERANCE = 1e-10
torch.manual_seed(0)
rng = np.random.default_rng(0)
failures = []


def rel(a, b):
    """max |a - b| relative to the largest magnitude of b."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def report(label, errors):
    """One line: the largest of errors (a dict by name) and where it is."""
    name, err = max(errors.items(), key=lambda kv: kv[1])
    if not err < TOLERANCE:
        failures.append(label)
    where = f" ({name})" if len(errors) > 1 else ""
    print(f"{'ok  ' if err < TOLERANCE else 'FAIL'} {label}: max relative error {err:.2e}{where}")


def check(layers, d, heads, ctx, vocab, batch):
    size = f"layers={layers},d={d},heads={heads},ctx={ctx},vocab={vocab},B={batch}"
    twin = models.build(f"transformer:layers={layers},d={d},heads={heads},ctx={ctx}", [ctx], vocab).double()
    named = dict(twin.named_parameters())
    model = Transformer(layers, d, heads, ctx, vocab, np.float64)
    if sorted(named) != sorted(model.params):
        failures.append(size)
        print(f"FAIL {size} parameter names differ: {sorted(set(named) ^ set(model.params))}")
        return
    print(f"ok   {size} parameter names: the {len(named)} of the torch twin")
    for k, w in named.items():
        model.params[k][...] = w.detach().numpy()

    def torch_loss(x, y):
        logits = twin(torch.from_numpy(x))
        return torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), torch.from_numpy(y).reshape(-1))

    def numpy_loss_and_grads(x, y):
        logits, cache = model.forward(x)
        loss, dlogits = cross_entropy(logits, y)
        return loss, model.backward(cache, dlogits)

    x, y = rng.integers(0, vocab, (batch, ctx)), rng.integers(0, vocab, (batch, ctx))
    loss = torch_loss(x, y)
    loss.backward()
    np_loss, grads = numpy_loss_and_grads(x, y)
    report(f"{size} loss {loss.item():.6f}", {"loss": rel(np_loss, loss.item())})
    report(f"{size} gradients of all {len(grads)} parameters", {k: rel(grads[k], named[k].grad.numpy()) for k in named})

    before = {k: w.copy() for k, w in model.params.items()}
    opt, adamw = torch.optim.AdamW(twin.parameters(), lr=1e-3), AdamW(model.params, lr=1e-3)
    for _ in range(3):
        x, y = rng.integers(0, vocab, (batch, ctx)), rng.integers(0, vocab, (batch, ctx))
        opt.zero_grad()
        torch_loss(x, y).backward()
        _, grads = numpy_loss_and_grads(x, y)
        # The key bias cannot change the loss (a softmax ignores a shift shared by its row), so its gradient is
        # rounding noise (~1e-17), different on the two sides, which Adam divides by its eps (1e-8) into updates
        # of ~1e-12 against a bias of ~1e-3: close to the tolerance, so it is zeroed on both sides.
        for k in grads:
            if k.endswith("in_proj_bias"):
                named[k].grad[d:2 * d] = 0
                grads[k][d:2 * d] = 0
        opt.step()
        adamw.step(grads)
    after = {k: w.detach().numpy() for k, w in named.items()}
    report(f"{size} weights after 3 AdamW steps", {k: rel(model.params[k], after[k]) for k in named})
    report(f"{size} changes of the 3 AdamW steps", {k: rel(model.params[k] - before[k], after[k] - before[k]) for k in named})


check(layers=2, d=12, heads=3, ctx=5, vocab=7, batch=3)
check(layers=2, d=128, heads=4, ctx=64, vocab=65, batch=2)
sys.exit(1 if failures else 0)
