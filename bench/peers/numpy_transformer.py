"""The transformer of `descent train --model transformer:layers=L,d=D,heads=H,ctx=T` in NumPy, with its
backward pass written out by hand and AdamW, as the NumPy peer of the transformer-char benchmark.

Pre-LN only (the spec's default): token embedding plus learned positions, L blocks of
x + attention(LayerNorm(x)) with a causal mask and x + Linear(GELU(Linear(LayerNorm(x)))) (4D wide, the
exact erf GELU), a final LayerNorm and a linear layer to logits at every position. Parameters carry the
state_dict names of the torch twin (tools/reference/models.py), so weights copy over by name;
bench/peers/check_numpy_transformer.py checks the gradients and AdamW's steps against torch.autograd.

Every product runs over the whole minibatch at once: the linear layers as one matrix product over all
B T positions, the attention as batched products over [B, heads, T, T]. Generic in the dtype (float32 for
the benchmark, float64 for the check).
"""
import math

import numpy as np
from scipy.special import erf

EPS = 1e-5  # nn.LayerNorm's


def layer_norm(x, g, b):
    """LayerNorm over the last axis, and what its backward needs (the normalized x and 1 / std)."""
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1 / np.sqrt((xc * xc).mean(-1, keepdims=True) + EPS)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd)


def layer_norm_backward(dy, g, cache):
    """The gradients of x, the gain and the bias; dy and x are [N, D]."""
    xhat, rstd = cache
    dxhat = dy * g
    dx = rstd * (dxhat - dxhat.mean(-1, keepdims=True) - xhat * (dxhat * xhat).mean(-1, keepdims=True))
    return dx, (dy * xhat).sum(0), dy.sum(0)


def cross_entropy(logits, y):
    """Mean softmax cross-entropy over all positions of logits [B, T, V] for targets [B, T], and its gradient."""
    z = logits.reshape(-1, logits.shape[-1])
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    s = e.sum(1, keepdims=True)
    rows, y = np.arange(len(z)), y.reshape(-1)
    loss = np.log(s[:, 0]).mean() - z[rows, y].mean()
    d = e / s
    d[rows, y] -= 1
    d /= len(z)
    return loss, d.reshape(logits.shape)


class Transformer:
    """Parameters (a dict by torch name), forward with a cache of activations, backward from the logits' gradient."""

    def __init__(self, layers, d, heads, ctx, vocab, dtype=np.float32, rng=None):
        assert d % heads == 0
        self.n_layers, self.d, self.heads, self.ctx, self.vocab, self.dtype = layers, d, heads, ctx, vocab, np.dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(1)
        p = {}

        def uniform(bound, *shape):
            return rng.uniform(-bound, bound, shape).astype(dtype)

        def linear(name, n_in, n_out):  # nn.Linear's init: weight and bias uniform in +-1/sqrt(fan_in)
            p[name + ".weight"], p[name + ".bias"] = uniform(1 / math.sqrt(n_in), n_out, n_in), uniform(1 / math.sqrt(n_in), n_out)

        def norm(name):
            p[name + ".weight"], p[name + ".bias"] = np.ones(d, dtype), np.zeros(d, dtype)

        p["layers.0.weight"] = rng.standard_normal((vocab, d)).astype(dtype)
        p["layers.1.weight"] = rng.standard_normal((ctx, d)).astype(dtype)
        for i in range(layers):
            attn, mlp = f"layers.{2 + 2 * i}.body", f"layers.{3 + 2 * i}.body"
            norm(attn + ".0")
            p[attn + ".1.in_proj_weight"] = uniform(math.sqrt(6 / (4 * d)), 3 * d, d)  # xavier_uniform on [3d, d]
            p[attn + ".1.in_proj_bias"] = np.zeros(3 * d, dtype)
            linear(attn + ".1.out_proj", d, d)
            p[attn + ".1.out_proj.bias"][:] = 0  # nn.MultiheadAttention zeroes it
            norm(mlp + ".0")
            linear(mlp + ".1", d, 4 * d)
            linear(mlp + ".3", 4 * d, d)
        norm(f"layers.{2 + 2 * layers}")
        linear(f"layers.{3 + 2 * layers}", d, vocab)
        self.params = p
        # added to the scores: -inf above the diagonal, so that position t sees positions <= t only
        self.mask = np.triu(np.full((ctx, ctx), -np.inf, dtype), 1)

    def forward(self, x):
        """Logits [B, T, V] for token indices x [B, T], and the activations backward needs."""
        p, d, h = self.params, self.d, self.heads
        b, t = x.shape
        hd = d // h
        scale = 1 / math.sqrt(hd)
        r = (p["layers.0.weight"][x] + p["layers.1.weight"][:t]).reshape(b * t, d)  # the residual stream, [B T, D]
        blocks = []
        for i in range(self.n_layers):
            attn, mlp = f"layers.{2 + 2 * i}.body", f"layers.{3 + 2 * i}.body"
            a, ln1 = layer_norm(r, p[attn + ".0.weight"], p[attn + ".0.bias"])
            qkv = a @ p[attn + ".1.in_proj_weight"].T + p[attn + ".1.in_proj_bias"]
            q, k, v = qkv.reshape(b, t, 3, h, hd).transpose(2, 0, 3, 1, 4)  # each [B, H, T, hd]
            q = q * scale
            s = q @ k.swapaxes(-1, -2) + self.mask[:t, :t]
            s -= s.max(-1, keepdims=True)
            pr = np.exp(s, out=s)
            pr /= pr.sum(-1, keepdims=True)
            o = (pr @ v).transpose(0, 2, 1, 3).reshape(b * t, d)
            r = r + o @ p[attn + ".1.out_proj.weight"].T + p[attn + ".1.out_proj.bias"]
            m, ln2 = layer_norm(r, p[mlp + ".0.weight"], p[mlp + ".0.bias"])
            u = m @ p[mlp + ".1.weight"].T + p[mlp + ".1.bias"]
            cdf = erf(u * (1 / math.sqrt(2)))  # the normal CDF, (1 + erf(u / sqrt 2)) / 2
            cdf += 1
            cdf *= 0.5
            g = u * cdf  # the exact GELU
            r = r + g @ p[mlp + ".3.weight"].T + p[mlp + ".3.bias"]
            blocks.append((a, ln1, q, k, v, pr, o, m, ln2, u, cdf, g))
        last = 2 + 2 * self.n_layers
        f, lnf = layer_norm(r, p[f"layers.{last}.weight"], p[f"layers.{last}.bias"])
        logits = f @ p[f"layers.{last + 1}.weight"].T + p[f"layers.{last + 1}.bias"]
        return logits.reshape(b, t, -1), (x, blocks, f, lnf)

    def backward(self, cache, dlogits):
        """The gradients of every parameter (a dict by name) from the gradient of the logits."""
        p, d, h = self.params, self.d, self.heads
        x, blocks, f, lnf = cache
        b, t = x.shape
        hd = d // h
        scale = 1 / math.sqrt(hd)
        grads = {}
        last = 2 + 2 * self.n_layers
        dz = dlogits.reshape(b * t, -1)
        grads[f"layers.{last + 1}.weight"] = dz.T @ f
        grads[f"layers.{last + 1}.bias"] = dz.sum(0)
        dr, grads[f"layers.{last}.weight"], grads[f"layers.{last}.bias"] = \
            layer_norm_backward(dz @ p[f"layers.{last + 1}.weight"], p[f"layers.{last}.weight"], lnf)
        for i in reversed(range(self.n_layers)):
            attn, mlp = f"layers.{2 + 2 * i}.body", f"layers.{3 + 2 * i}.body"
            a, ln1, q, k, v, pr, o, m, ln2, u, cdf, g = blocks[i]
            # feedforward: r + W3 gelu(W1 m + b1) + b3; gelu'(u) = cdf(u) + u pdf(u)
            grads[mlp + ".3.weight"] = dr.T @ g
            grads[mlp + ".3.bias"] = dr.sum(0)
            du = dr @ p[mlp + ".3.weight"]
            slope = np.exp(u * u * -0.5)
            slope *= u * (1 / math.sqrt(2 * math.pi))
            slope += cdf
            du *= slope
            grads[mlp + ".1.weight"] = du.T @ m
            grads[mlp + ".1.bias"] = du.sum(0)
            dm, grads[mlp + ".0.weight"], grads[mlp + ".0.bias"] = layer_norm_backward(du @ p[mlp + ".1.weight"], p[mlp + ".0.weight"], ln2)
            dr = dr + dm
            # attention: r + Wo o + bo, o = softmax(q k^T / sqrt(hd) + mask) v per head
            grads[attn + ".1.out_proj.weight"] = dr.T @ o
            grads[attn + ".1.out_proj.bias"] = dr.sum(0)
            do = (dr @ p[attn + ".1.out_proj.weight"]).reshape(b, t, h, hd).transpose(0, 2, 1, 3)
            dv = pr.swapaxes(-1, -2) @ do
            dp = do @ v.swapaxes(-1, -2)
            ds = dp - (dp * pr).sum(-1, keepdims=True)
            ds *= pr
            dq = (ds @ k) * scale  # q was scaled before the product
            dk = ds.swapaxes(-1, -2) @ q
            dqkv = np.empty((b, t, 3, h, hd), self.dtype)  # back in qkv's layout, [B, T, (q k v), H, hd]
            for j, part in enumerate((dq, dk, dv)):
                dqkv[:, :, j] = part.transpose(0, 2, 1, 3)
            dqkv = dqkv.reshape(b * t, 3 * d)
            grads[attn + ".1.in_proj_weight"] = dqkv.T @ a
            grads[attn + ".1.in_proj_bias"] = dqkv.sum(0)
            da, grads[attn + ".0.weight"], grads[attn + ".0.bias"] = \
                layer_norm_backward(dqkv @ p[attn + ".1.in_proj_weight"], p[attn + ".0.weight"], ln1)
            dr = dr + da
        dr = dr.reshape(b, t, d)
        grads["layers.1.weight"] = np.zeros_like(p["layers.1.weight"])
        grads["layers.1.weight"][:t] = dr.sum(0)
        # the embedding's gradient sums the rows of the tokens' positions: a product with their one-hot matrix
        onehot = np.eye(self.vocab, dtype=self.dtype)[x.reshape(-1)]
        grads["layers.0.weight"] = onehot.T @ dr.reshape(b * t, d)
        return grads


class AdamW:
    """torch.optim.AdamW's update (decoupled weight decay on every parameter, torch's bias correction), in place."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        self.params, self.lr, self.betas, self.eps, self.weight_decay = params, lr, betas, eps, weight_decay
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.betas
        step_size = self.lr / (1 - b1 ** self.t)
        root2 = math.sqrt(1 - b2 ** self.t)
        for k, w in self.params.items():
            g, m, v = grads[k], self.m[k], self.v[k]
            w *= 1 - self.lr * self.weight_decay
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v)
            denom /= root2
            denom += self.eps
            w -= step_size * m / denom
