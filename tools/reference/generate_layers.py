#!/usr/bin/env python3
"""Reference vectors for Descent's layers and models (tests/Descent.Tests/LayerTests.cs), from torch.autograd.

Run with Debian's PyTorch (python3-torch, 1.13) from the repository root:

    /usr/bin/python3 tools/reference/generate_layers.py

It writes tests/Descent.Tests/Reference/layers.json. Each case builds a model from a Descent model spec
(tools/reference/models.py, the torch twin of the C# parser), in float64, at odd sizes (batch 1 and 3,
5x7 images), runs it in training or evaluation mode on random inputs, and records the output, the loss,
and the gradients of the loss with respect to the input and to every parameter (by state_dict() name),
plus the buffers (batch-norm running statistics) before and after the forward pass. The loss is
sum(output * dy) for a random dy (so dy is the gradient arriving at the output), or the mean
cross-entropy over the batch when the case has labels.
"""
import json
import os

import torch

from models import build

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference")

# (spec, example shape, batch, outputs, training, loss)
CASES = [
    ("linear:4", [5], 1, 4, True, "dy"),
    ("linear:4", [5], 3, 4, True, "dy"),
    ("linear:6", [2, 5], 3, 6, True, "dy"),
    ("conv:4,k=3", [2, 5, 7], 1, 0, True, "dy"),
    ("conv:4,k=3", [2, 5, 7], 3, 0, True, "dy"),
    ("conv:3,k=3,s=2,p=1", [2, 5, 7], 3, 0, True, "dy"),
    ("conv:5,k=2,p=2", [3, 5, 7], 3, 0, True, "dy"),
    ("conv:2,k=1", [4, 5, 7], 1, 0, True, "dy"),
    ("conv:3,k=5,s=3,p=1", [1, 5, 7], 3, 0, True, "dy"),
    ("maxpool:2", [3, 5, 7], 1, 0, True, "dy"),
    ("maxpool:2", [3, 5, 7], 3, 0, True, "dy"),
    ("maxpool:3,s=2", [2, 5, 7], 3, 0, True, "dy"),
    ("avgpool:2", [3, 5, 7], 3, 0, True, "dy"),
    ("avgpool:3,s=1", [2, 5, 7], 1, 0, True, "dy"),
    ("flatten", [3, 5, 7], 3, 0, True, "dy"),
    ("relu", [3, 5, 7], 3, 0, True, "dy"),
    ("tanh", [4, 5], 3, 0, True, "dy"),
    ("sigmoid", [4, 5], 1, 0, True, "dy"),
    ("gelu", [4, 5], 3, 0, True, "dy"),
    ("dropout:0.5", [4, 5], 3, 0, False, "dy"),
    ("batchnorm", [3, 5, 7], 3, 0, True, "dy"),
    ("batchnorm", [3, 5, 7], 1, 0, True, "dy"),
    ("batchnorm", [3, 5, 7], 3, 0, False, "dy"),
    ("batchnorm", [4], 3, 0, True, "dy"),
    ("batchnorm", [4], 3, 0, False, "dy"),
    ("batchnorm", [4, 5], 3, 0, True, "dy"),
    ("res(linear:5-tanh-linear:5)", [5], 3, 0, True, "dy"),
    ("res(conv:2,k=3,p=1-relu)", [2, 5, 7], 3, 0, True, "dy"),
    ("layernorm", [4, 5], 3, 0, True, "dy"),
    ("layernorm", [6], 1, 0, True, "dy"),
    ("embedding:5", [4], 3, 7, True, "dy"),
    ("pos", [4, 5], 3, 0, True, "dy"),
    ("attn:3", [5, 6], 3, 0, True, "dy"),
    ("attn:3", [5, 6], 1, 0, True, "dy"),
    ("attn:1", [4, 4], 3, 0, True, "dy"),
    ("embedding:6-linear", [5], 3, 7, True, "cross-entropy"),
    ("mlp:6,5", [4], 3, 3, True, "cross-entropy"),
    ("mlp:6,5,act=gelu", [4], 1, 3, True, "cross-entropy"),
    # Whole CNNs: with batch norm and dropout in evaluation mode, and batch norm training.
    ("conv:4,k=3,p=1-batchnorm-relu-maxpool:2-conv:6,k=3,p=1-relu-flatten-dropout:0.5-linear:7-relu-linear", [1, 5, 7], 3, 4, False, "cross-entropy"),
    ("conv:4,k=3,p=1-batchnorm-relu-maxpool:2-conv:6,k=3,p=1-relu-flatten-linear:7-relu-linear", [1, 5, 7], 3, 4, True, "cross-entropy"),
    ("conv:4,k=3,p=1-relu-maxpool:2-conv:6,k=3,p=1-relu-avgpool:2-flatten-linear:7-tanh-linear", [2, 7, 9], 1, 5, True, "cross-entropy"),
    # Whole transformers, next-token cross-entropy over every position: pre-LN and post-LN, 3 heads, context 5.
    ("transformer:layers=2,d=6,heads=3,ctx=5,norm=pre", [5], 3, 7, True, "cross-entropy"),
    ("transformer:layers=2,d=6,heads=3,ctx=5,norm=post", [5], 3, 7, True, "cross-entropy"),
    ("transformer:layers=1,d=6,heads=3,norm=pre", [5], 1, 7, True, "cross-entropy"),
    # 3x3 stride-1 convolutions with 8 or more channels, which Descent computes by Winograd's algorithm (at these
    # sizes F(6x6, 3x3) for the first case's 5 x 7 outputs, a block cut short and one of 2 at its right edge, and
    # F(4x4, 3x3) for the others): odd output sizes, no padding, and a CNN whose second convolution takes that path.
    ("conv:9,k=3,p=1", [8, 5, 7], 3, 0, True, "dy"),
    ("conv:8,k=3", [10, 6, 5], 1, 0, True, "dy"),
    ("conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-flatten-linear", [1, 7, 9], 3, 4, True, "cross-entropy"),
    # Stride-1 convolutions with fewer kernel entries than output channels, which Descent unfolds row by row rather
    # than onto the padded grid (a first layer): with and without padding, and inside a model whose input gradient flows.
    ("conv:12,k=3,p=1", [1, 5, 7], 3, 0, True, "dy"),
    ("conv:10,k=2", [2, 5, 7], 1, 0, True, "dy"),
    ("conv:2,k=1-relu-conv:20,k=3,p=1-relu-flatten-linear", [1, 5, 7], 3, 4, True, "cross-entropy"),
]


def flat(t):
    return t.detach().flatten().tolist()


def case(index, spec, shape, batch, outputs, training, loss_name):
    torch.manual_seed(100 + index)
    model = build(spec, shape, outputs).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.3 * torch.randn_like(m.bias))
                m.running_mean.copy_(0.3 * torch.randn_like(m.running_mean))
                m.running_var.copy_(0.5 + torch.rand_like(m.running_var))
                m.num_batches_tracked.fill_(4)
    model.train(training)
    before = {k: flat(v.double()) for k, v in model.state_dict().items()}
    tokens = spec.startswith(("embedding", "transformer"))
    if tokens:
        x = torch.randint(0, outputs, (batch, *shape))
        y = model(x)
    else:
        x = torch.randn(batch, *shape, requires_grad=True)
        y = model(x)
    record = dict(spec=spec, shape=shape, batch=batch, outputs=outputs, training=training, loss=loss_name,
                  integer_inputs=tokens, inputs=flat(x.double()), state=before, output=flat(y))
    if loss_name == "cross-entropy":
        # One label per output vector: per example, or per position of a sequence (next-token prediction).
        labels = torch.randint(0, y.shape[-1], y.shape[:-1])
        loss = torch.nn.functional.cross_entropy(y.reshape(-1, y.shape[-1]), labels.reshape(-1))
        record["labels"] = labels.flatten().tolist()
    else:
        dy = torch.randn_like(y)
        loss = (y * dy).sum()
        record["dy"] = flat(dy)
    loss.backward()
    record["value"] = loss.item()
    record["input_gradient"] = [0.0] * x.numel() if tokens else flat(x.grad)
    record["gradients"] = {k: flat(p.grad) for k, p in model.named_parameters()}
    record["state_after"] = {k: flat(v.double()) for k, v in model.state_dict().items() if k not in record["gradients"]}
    record["shapes"] = {k: list(v.shape) for k, v in model.state_dict().items()}
    return record


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [case(i, *c) for i, c in enumerate(CASES)]
    path = os.path.join(OUT, "layers.json")
    with open(path, "w") as fh:
        json.dump(dict(generator="tools/reference/generate_layers.py", torch=torch.__version__, cases=cases), fh,
                  indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
