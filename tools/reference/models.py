"""Descent's model specifications (`descent train --model SPEC`) as torch modules.

A spec is a preset or a chain of layers joined by '-':

    mlp:64,64[,act=relu]   dense layers with the activation between them (the widths are the hidden ones)
    cnn                    the exercise's small CNN for 1x28x28 digits: conv 32 -> conv 64 -> fc 128
    conv:O,k=K[,s=S][,p=P] nn.Conv2d(C, O, K, S, P) (alg=..., Descent's choice of algorithm, changes nothing here)
    maxpool:K[,s=S]        nn.MaxPool2d(K, S)           avgpool:K[,s=S]   nn.AvgPool2d(K, S)
    linear[:N]             nn.Linear(features, N); N defaults to the number of outputs (the classes)
    flatten                nn.Flatten()                 dropout:P         nn.Dropout(P)
    batchnorm              nn.BatchNorm1d(C) for [C] or [C, L] examples, nn.BatchNorm2d(C) for [C, H, W]
    relu, tanh, sigmoid, gelu, identity
    res(SPEC)              x + body(x), the body held as the attribute `body`
    embedding:D[,n=V]      nn.Embedding(V, D) on sequences of token indices [T]; V defaults to the outputs
    pos                    learned positions added to [T, D] (PositionalEmbedding below)
    layernorm              nn.LayerNorm(D) over the last dimension
    attn:H                 causal self-attention, nn.MultiheadAttention(D, H, batch_first=True) with a causal mask
    transformer:layers=L,d=D,heads=H[,ctx=T][,norm=pre|post]
                           embeddings, L blocks (attention and a 4D GELU feedforward, each residual, with
                           layer normalization before (pre) or after (post) the sum), logits per position

The model is a module holding nn.Sequential as the attribute `layers`, so its state_dict() names are
`layers.0.weight`, `layers.0.bias`, ... the names Descent writes into model.safetensors. The C# parser is
src/Descent/Nn/Models/ModelSpec.cs; the two are kept in step by the tests (tests/Descent.Tests/LayerTests.cs).
"""
import torch

PRESETS = {"cnn": "conv:32,k=3,p=1-relu-maxpool:2-conv:64,k=3,p=1-relu-maxpool:2-flatten-linear:128-relu-linear"}
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU, "identity": torch.nn.Identity}


class Residual(torch.nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class PositionalEmbedding(torch.nn.Module):
    def __init__(self, t, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(t, d))

    def forward(self, x):
        return x + self.weight


class CausalSelfAttention(torch.nn.MultiheadAttention):
    def __init__(self, d, heads):
        super().__init__(d, heads, batch_first=True)

    def forward(self, x):
        t = x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        return super().forward(x, x, x, attn_mask=mask, need_weights=False)[0]


class Model(torch.nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def split(spec):
    """The items of a chain: '-' outside parentheses separates them."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(spec):
        depth += (ch == "(") - (ch == ")")
        if ch == "-" and depth == 0:
            items.append(spec[start:i])
            start = i + 1
    items.append(spec[start:])
    return items


def expand(spec, shape):
    if spec in PRESETS:
        return PRESETS[spec]
    if spec.startswith("transformer:"):
        kw = dict(a.split("=") for a in spec[12:].split(","))
        layers, d, heads, norm = int(kw["layers"]), int(kw["d"]), int(kw["heads"]), kw.get("norm", "pre")
        assert int(kw.get("ctx", shape[0])) == shape[0]
        items = [f"embedding:{d}", "pos"]
        for _ in range(layers):
            items.append(f"res(layernorm-attn:{heads})-res(layernorm-linear:{4 * d}-gelu-linear:{d})" if norm == "pre"
                         else f"res(attn:{heads})-layernorm-res(linear:{4 * d}-gelu-linear:{d})-layernorm")
        return "-".join(items + (["layernorm"] if norm == "pre" else []) + ["linear"])
    if spec.startswith("mlp:"):
        args = spec[4:].split(",")
        act = next((a[4:] for a in args if a.startswith("act=")), "relu")
        widths = [a for a in args if not a.startswith("act=") and a]
        return "-".join([f"linear:{w}-{act}" for w in widths] + ["linear"])
    return spec


def chain(spec, shape, outputs):
    """The modules of a chain and the shape of one output example."""
    layers = []
    for item in split(expand(spec, shape)):
        if item.startswith("res(") and item.endswith(")"):
            body, out = chain(item[4:-1], shape, outputs)
            assert out == shape, f"residual body changes the shape {shape} -> {out}"
            layers.append(Residual(torch.nn.Sequential(*body)))
            continue
        name, _, rest = item.partition(":")
        pos = [a for a in rest.split(",") if a and "=" not in a]
        kw = dict(a.split("=") for a in rest.split(",") if "=" in a)
        if name == "linear":
            n = int(pos[0]) if pos else outputs
            layers.append(torch.nn.Linear(shape[-1], n))
            shape = shape[:-1] + [n]
        elif name == "conv":
            o, k, s, p = int(pos[0]), int(kw["k"]), int(kw.get("s", 1)), int(kw.get("p", 0))
            layers.append(torch.nn.Conv2d(shape[0], o, k, s, p))
            shape = [o, (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
        elif name in ("maxpool", "avgpool"):
            k = int(pos[0])
            s = int(kw.get("s", k))
            layers.append((torch.nn.MaxPool2d if name == "maxpool" else torch.nn.AvgPool2d)(k, s))
            shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
        elif name == "flatten":
            layers.append(torch.nn.Flatten())
            n = 1
            for d in shape:
                n *= d
            shape = [n]
        elif name == "dropout":
            layers.append(torch.nn.Dropout(float(pos[0])))
        elif name == "batchnorm":
            layers.append((torch.nn.BatchNorm2d if len(shape) == 3 else torch.nn.BatchNorm1d)(shape[0]))
        elif name == "layernorm":
            layers.append(torch.nn.LayerNorm(shape[-1]))
        elif name == "embedding":
            layers.append(torch.nn.Embedding(int(kw.get("n", outputs)), int(pos[0])))
            shape = shape + [int(pos[0])]
        elif name == "pos":
            layers.append(PositionalEmbedding(*shape))
        elif name == "attn":
            layers.append(CausalSelfAttention(shape[1], int(pos[0])))
        elif name in ACTIVATIONS:
            layers.append(ACTIVATIONS[name]())
        else:
            raise ValueError(f"unknown layer {item!r}")
    return layers, shape


def build(spec, input_shape, outputs):
    """The torch module for `spec` on examples of `input_shape`, with `outputs` numbers out."""
    layers, _ = chain(spec, list(input_shape), outputs)
    return Model(layers)
