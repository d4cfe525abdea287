#!/usr/bin/env python3
"""Dense Hessians of small networks' mean losses by torch.autograd (float64), for the exact Hessian-vector
products and the spectral estimates of Descent.Analysis: every activation with every loss, the Hessian over
all parameters flattened in state_dict order (layers.0.weight, layers.0.bias, layers.2.weight, ...), and its
eigenvalues and trace. Writes tests/Descent.Tests/Reference/torch_curvature.json.

    tools/reference/generate     # installs python3-torch when missing, then runs this and generate.py
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Descent.Tests", "Reference")
ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU, "identity": torch.nn.Identity}


def loss_of(loss_name, z, y, classes):
    if loss_name == "cross-entropy":
        return torch.nn.functional.cross_entropy(z, y)
    if loss_name == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], y.double())
    return torch.nn.functional.mse_loss(z, torch.nn.functional.one_hot(y, classes).double())


def cases():
    out = []
    torch.manual_seed(7)
    for act in ACTS:
        for loss_name in ["cross-entropy", "bce", "mse"]:
            classes = 2 if loss_name == "bce" else 3
            sizes = [3, 5, 4, 1 if loss_name == "bce" else classes]   # odd widths, two hidden layers
            layers = []
            for i in range(len(sizes) - 1):
                layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
                if i < len(sizes) - 2:
                    layers.append(ACTS[act]())
            model = torch.nn.Sequential(*layers)
            x = torch.randn(7, sizes[0])
            y = torch.randint(0, classes, (7,))
            names = list(model.state_dict().keys())
            shapes = [p.shape for p in model.parameters()]
            flat = torch.cat([p.detach().flatten() for p in model.parameters()])

            def f(w):
                params, k = {}, 0
                for name, shape in zip(names, shapes):
                    n = shape.numel()
                    params[name] = w[k:k + n].view(shape)
                    k += n
                z = torch.func.functional_call(model, params, (x,)) if hasattr(torch, "func") else \
                    torch.nn.utils.stateless.functional_call(model, params, (x,))
                return loss_of(loss_name, z, y, classes)

            h = torch.autograd.functional.hessian(f, flat)
            out.append(dict(activation=act, loss=loss_name, sizes=sizes, inputs=x.flatten().tolist(), labels=y.tolist(),
                            parameters={f"layers.{k}": v.flatten().tolist() for k, v in model.state_dict().items()},
                            hessian=h.flatten().tolist(), eigenvalues=torch.linalg.eigvalsh(h).tolist(), trace=torch.trace(h).item()))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "torch_curvature.json")
    data = {"generator": "tools/reference/generate_curvature.py", "torch": torch.__version__, "networks": cases()}
    with open(path, "w") as fh:
        json.dump(data, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(data['networks'])} Hessians")


if __name__ == "__main__":
    main()
