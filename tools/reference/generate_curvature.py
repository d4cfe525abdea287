#!/usr/bin/env python3
"""Dense Hessians of small networks' mean losses by torch.autograd (float64), for the exact Hessian-vector
products and the spectral estimates of Descent.Analysis: dense networks with every activation and every loss
("networks"), and models given by Descent's model specs (tools/reference/models.py), convolutional ones among
them, in evaluation mode with batch-norm statistics that are not the identity ("models"). Each case has the
Hessian over all parameters flattened in state_dict order (layers.0.weight, layers.0.bias, ...), its eigenvalues
and trace. Writes tests/Descent.Tests/Reference/torch_curvature.json.

    tools/reference/generate     # installs python3-torch when missing, then runs this and generate.py
"""
import json
import os

import torch

import models

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
            h = flat_hessian(model, x, y, loss_name, classes)
            out.append(dict(activation=act, loss=loss_name, sizes=sizes, inputs=x.flatten().tolist(), labels=y.tolist(),
                            parameters={f"layers.{k}": v.flatten().tolist() for k, v in model.state_dict().items()},
                            hessian=h.flatten().tolist(), eigenvalues=torch.linalg.eigvalsh(h).tolist(), trace=torch.trace(h).item()))
    return out


SPECS = [
    # (spec, input shape, outputs, loss): odd sizes (batch 3, 5x7 images); max and average pooling, a strided
    # convolution, batch normalization in 2-D and 1-D, dropout (the identity in evaluation mode), a residual block.
    ("conv:2,k=3,p=1-tanh-maxpool:2-batchnorm-conv:3,k=2-gelu-flatten-dropout:0.5-linear", [1, 5, 7], 3, "cross-entropy"),
    ("conv:3,k=2,s=2-sigmoid-avgpool:2,s=1-flatten-batchnorm-linear:4-relu-linear", [2, 5, 7], 3, "mse"),
    ("linear:4-tanh-res(linear:4-tanh-linear:4)-linear", [3], 3, "cross-entropy"),
    # Max pooling right after a convolution, through a ReLU and directly: Descent pools each example as the convolution
    # makes it and keeps no convolution outputs, which the R-operators after it must not need.
    ("conv:3,k=3,p=1-relu-maxpool:2-conv:2,k=3,p=1-maxpool:2-flatten-linear", [1, 6, 7], 3, "cross-entropy"),
]


def flat_hessian(model, x, y, loss_name, classes):
    """The Hessian of the mean loss over all parameters, flattened in parameter order."""
    names = [n for n, _ in model.named_parameters()]
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

    return torch.autograd.functional.hessian(f, flat)


def model_cases():
    out = []
    torch.manual_seed(11)
    for spec, shape, outputs, loss_name in SPECS:
        model = models.build(spec, shape, outputs)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.running_mean.copy_(torch.randn_like(m.running_mean))
                    m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
                    m.weight.copy_(torch.randn_like(m.weight))
                    m.bias.copy_(torch.randn_like(m.bias))
        model.eval()
        x = torch.randn(3, *shape)
        y = torch.randint(0, outputs, (3,))
        h = flat_hessian(model, x, y, loss_name, outputs)
        state = {k: v.flatten().tolist() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
        out.append(dict(spec=spec, shape=shape, outputs=outputs, loss=loss_name, inputs=x.flatten().tolist(), labels=y.tolist(),
                        state=state, hessian=h.flatten().tolist(), eigenvalues=torch.linalg.eigvalsh(h).tolist(), trace=torch.trace(h).item()))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "torch_curvature.json")
    data = {"generator": "tools/reference/generate_curvature.py", "torch": torch.__version__, "networks": cases(), "models": model_cases()}
    with open(path, "w") as fh:
        json.dump(data, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(data['networks']) + len(data['models'])} Hessians")


if __name__ == "__main__":
    main()
