#!/usr/bin/env python3
"""How finely the least-squares references of SOAP and Shampoo are defined.

Both compute eigendecompositions whose rounding differs between implementations (LAPACK's here, Jacobi rotations in
Descent). This reruns every "least_squares" case of beyond_reference.json with each eigh result changed by about one
rounding (eigenvectors rotated by about 1e-16 per pair, eigenvalues moved by 1e-16 of the largest), five times, and
prints the largest relative change of the final weights: a case can be checked no more finely than that.

    /usr/bin/python3 tools/reference/eigh_sensitivity.py
"""
import json
import os

import torch

import generate_beyond

torch.set_default_dtype(torch.float64)
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference", "beyond_reference.json")


def final_weights(case, eigh):
    exact = torch.linalg.eigh
    torch.linalg.eigh = eigh
    try:
        *batch, rows, cols = case["shape"]
        x = torch.tensor(case["inputs"]).view(*batch, -1, cols)
        y = torch.tensor(case["targets"]).view(*batch, -1, rows)
        params = [torch.tensor(case["init"]).view(*case["shape"]).requires_grad_(True)]
        if "bias_init" in case:
            params.append(torch.tensor(case["bias_init"]).requires_grad_(True))
        steppers = [generate_beyond.make(case["optimizer"], t, case["options"]) for t in params]
        for _ in range(case["steps"]):
            for t in params:
                t.grad = None
            prediction = x @ params[0].transpose(-1, -2)
            if len(params) > 1:
                prediction = prediction + params[1]
            ((prediction - y) ** 2).mean().backward()
            for s in steppers:
                s.step()
        return torch.cat([t.detach().flatten() for t in params])
    finally:
        torch.linalg.eigh = exact


def main():
    exact = torch.linalg.eigh
    noise = torch.Generator().manual_seed(0)

    def rounded_differently(m):
        values, vectors = exact(m)
        n = vectors.shape[0]
        k = torch.randn(n, n, generator=noise) * 1e-16
        vectors = vectors @ torch.matrix_exp(k - k.T)
        return values + torch.randn(n, generator=noise) * 1e-16 * values.abs().max(), vectors

    with open(REFERENCE) as fh:
        cases = json.load(fh)["least_squares"]
    for i, case in enumerate(cases):
        reference = final_weights(case, exact)
        change = max(((final_weights(case, rounded_differently) - reference).abs() / reference.abs()).max().item() for _ in range(5))
        print(f"{i:2d} {case['optimizer']:8s} {json.dumps(case['options'])} {case['shape']}{' + bias' if 'bias_init' in case else ''}: {change:.1e}")


if __name__ == "__main__":
    main()
