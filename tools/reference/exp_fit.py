#!/usr/bin/env python3
"""Fits the polynomial of Descent's float exponential (Lanes.ExpFloat) and measures the whole function's error.

e^x = 2^k e^r with k = round(x / ln 2) and |r| <= ln 2 / 2, and e^r = 1 + r + r^2 q(r). q is a degree-4 polynomial fitted
to (e^r - 1 - r) / r^2 by weighted least squares on Chebyshev nodes, reweighted towards the largest errors until the
relative error of e^r levels off (a poor man's minimax). The script then evaluates the C# steps in float32, one rounding
per fused multiply-add, over 4 million arguments from -103.9 (subnormal results) to 88.7 (near the largest float) and
prints the largest error in units in the last place of the exact value (double), with the constants Lanes.cs holds.

    /usr/bin/python3 tools/reference/exp_fit.py
"""
import numpy as np

f32 = np.float32
half_ln2 = np.log(2) / 2
nodes = np.cos(np.pi * (np.arange(4000) + 0.5) / 4000) * half_ln2


def q_exact(r):
    small = np.abs(r) < 1e-4
    series = 0.5 + r / 6 + r * r / 24 + r**3 / 120
    return np.where(small, series, (np.expm1(r) - r) / np.where(small, 1, r * r))


design = np.vstack([nodes**k for k in range(5)]).T
weights = np.ones_like(nodes)
for _ in range(30):
    scale = nodes * nodes / np.exp(nodes) * weights
    coef, *_ = np.linalg.lstsq(design * scale[:, None], q_exact(nodes) * scale, rcond=None)
    relative = nodes * nodes * (design @ coef - q_exact(nodes)) / np.exp(nodes)
    weights *= np.abs(relative) / np.abs(relative).max() + 0.2
coef32 = [f32(c) for c in coef]
print("q coefficients fitted, constant term first:", [repr(c) for c in coef32])
print(f"relative error of 1 + r + r^2 q(r) in exact arithmetic: {np.abs(relative).max():.3g}")
# The constants in src/Descent/Numerics/Lanes.cs (ExpFloat); the error below is measured with these.
shipped = [f32(0.49999994), f32(0.16666521), f32(0.04166839), f32(0.00836871), f32(0.0013814613)]
print("q coefficients in Lanes.ExpFloat:", [repr(c) for c in shipped], "the same as fitted" if shipped == coef32 else "DIFFERENT from the fit")


def fma(a, b, c):
    # A product of two floats is exact in double; one rounding to float after the sum, as the hardware's FMA.
    return (a.astype(np.float64) * b.astype(np.float64) + np.asarray(c, np.float64)).astype(f32)


def exp_float(x):
    c = np.clip(x, f32(-104), f32(89))
    k = np.round(c * f32(1.442695)).astype(f32)
    r = fma(k, np.full_like(k, f32(-0.69314575)), c)
    r = fma(k, np.full_like(k, f32(-1.4286068e-06)), r)
    q = fma(np.full_like(r, shipped[4]), r, shipped[3])
    for j in (2, 1, 0):
        q = fma(q, r, shipped[j])
    p = (fma((r * r).astype(f32), q, r) + f32(1)).astype(f32)
    n = k.astype(np.int64)
    h = n >> 1
    return ((p * np.ldexp(f32(1), h).astype(f32)).astype(f32) * np.ldexp(f32(1), n - h).astype(f32)).astype(f32)


rng = np.random.default_rng(1)
xs = np.concatenate([np.linspace(-103.9, 88.7, 2_000_001).astype(f32), rng.uniform(-10, 10, 2_000_000).astype(f32)])
exact = np.exp(xs.astype(np.float64))
ulp = np.spacing(exact.astype(f32)).astype(np.float64)
error = np.abs(exp_float(xs).astype(np.float64) - exact) / ulp
print(f"largest error over {xs.size:,} arguments: {error.max():.4f} ulp (mean {error.mean():.4f})")
