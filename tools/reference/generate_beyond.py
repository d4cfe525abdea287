#!/usr/bin/env python3
"""Reference trajectories for the optimizers beyond torch.optim (tests/Descent.Tests/BeyondOptimizerTests.cs).

Run with Debian's PyTorch (python3-torch, 1.13) from the repository root:

    /usr/bin/python3 tools/reference/generate_beyond.py

PyTorch 1.13 ships none of these rules, so each is written here with torch tensor operations in float64,
transcribed from its reference implementation's documented algorithm:

- schedule-free SGD and AdamW: facebookresearch/schedule_free, schedulefree/sgd_schedulefree.py and
  adamw_schedulefree.py (the single-tensor path: y.lerp_(z, ckp1), y.add_, z.sub_; eval() as p.lerp_(z, 1 - 1/beta));
- ADOPT: optax.contrib.adopt (optax/contrib/_adopt.py), with its clipping t^0.25 and the first step that
  only records v = g^2;
- LAMB and LARS: optax.lamb and optax.lars (optax/_src/alias.py) with optax's scale_by_trust_ratio;
- Prodigy: konstmish/prodigy, prodigyopt/prodigy.py's step (slice_p 1, one parameter group).

Descent's extensions (maximize, weight decay on ADOPT) are written the way Descent's other rules write them.

The wrappers run around torch.optim's own SGD and Adam: weight averaging is torch.optim.swa_utils.AveragedModel
itself (its default equal average for SWA, an avg_fn for the EMA), Lookahead is optax.lookahead transcribed
(optax/_src/lookahead.py: every k updates slow += alpha (fast - slow), fast = slow), and the EMA's warmup is
TensorFlow's min(decay, (1 + n) / (10 + n)). SAM and ASAM are davda54/sam's SAM.first_step/second_step
transcribed (e_w = rho (|p|^2 if adaptive) g / (||(|p| if adaptive) g|| + 1e-12); the gradient again at p + e_w;
p restored; the base optimizer steps).

It writes tests/Descent.Tests/Reference/beyond_reference.json: trajectories in the format of
torch_reference.json, plus, for the schedule-free rules and the wrappers, the evaluation point after every step.
"""
import json
import math
import os

import torch

from generate import loss_fn

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference")


class ScheduleFree:
    """SGDScheduleFree (inner = "sgd") and AdamWScheduleFree (inner = "adamw") for one tensor."""

    def __init__(self, inner, p, o):
        self.inner, self.p, self.o = inner, p, o
        self.k, self.lr_max, self.weight_sum = 0, -1.0, 0.0
        self.z = p.detach().clone()
        self.v = torch.zeros_like(p)
        self.m = torch.zeros_like(p)
        self.beta = o.get("momentum", 0.9) if inner == "sgd" else o.get("beta1", 0.9)

    def step(self):
        o, k = self.o, self.k
        lr0 = o.get("lr", 1.0 if self.inner == "sgd" else 0.0025)
        warmup = o.get("warmup_steps", 0)
        lr = lr0 * ((k + 1) / warmup if k < warmup else 1.0)
        self.lr_max = max(lr, self.lr_max)
        weight = ((k + 1) ** o.get("r", 0.0)) * (self.lr_max ** o.get("weight_lr_power", 2.0))
        self.weight_sum += weight
        ckp1 = weight / self.weight_sum if self.weight_sum != 0 else 0
        decay = o.get("weight_decay", 0.0)
        with torch.no_grad():
            y, grad = self.p, self.p.grad.clone()
            if o.get("maximize"):
                grad = -grad
            if self.inner == "sgd":
                if decay != 0:
                    grad.add_(y, alpha=decay)
                n = grad
            else:
                beta2 = o.get("beta2", 0.999)
                im = o.get("inner_momentum", 0.0)
                self.v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = self.v.div(1 - beta2 ** (k + 1)).sqrt_().add_(o.get("eps", 1e-8))
                if im != 0:
                    self.m.mul_(im).add_(grad, alpha=1 - im)
                    n = self.m.div(1 - im ** (k + 1)).div_(denom)
                else:
                    n = grad.div_(denom)
                if decay != 0:
                    n.add_(y, alpha=decay)
            y.lerp_(self.z, ckp1)
            y.add_(n, alpha=lr * (self.beta * (1 - ckp1) - 1))
            self.z.sub_(n, alpha=lr)
        self.k = k + 1

    def x(self):
        return self.p.detach().clone().lerp_(self.z, 1 - 1 / self.beta)


class Adopt:
    def __init__(self, p, o):
        self.p, self.o, self.t = p, o, 0
        self.m, self.v = torch.zeros_like(p), torch.zeros_like(p)

    def step(self):
        o = self.o
        lr, b1, b2, eps = o.get("lr", 1e-3), o.get("beta1", 0.9), o.get("beta2", 0.9999), o.get("eps", 1e-6)
        wd = o.get("weight_decay", 0.0)
        with torch.no_grad():
            g = -self.p.grad if o.get("maximize") else self.p.grad.clone()
            if o.get("decoupled_weight_decay"):
                self.p.mul_(1 - lr * wd)
            elif wd != 0:
                g = g.add(self.p, alpha=wd)
            if self.t == 0:
                self.v = g * g
            else:
                n = g / torch.clamp(self.v.sqrt(), min=eps)
                if o.get("use_clipping", True):
                    c = self.t ** 0.25
                    n = n.clamp(-c, c)
                self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
                self.m.mul_(b1).add_(n, alpha=1 - b1)
                step = self.m.mul(b1).add_(n, alpha=1 - b1) if o.get("nesterov") else self.m
                self.p.add_(step, alpha=-lr)
        self.t += 1


def trust_ratio(p, u, coefficient=1.0, eps=0.0):
    pn, un = p.norm().item(), u.norm().item()
    return 1.0 if pn == 0 or un == 0 else coefficient * pn / (un + eps)


class Lamb:
    def __init__(self, p, o):
        self.p, self.o, self.t = p, o, 0
        self.m, self.v = torch.zeros_like(p), torch.zeros_like(p)

    def step(self):
        o = self.o
        b1, b2 = o.get("beta1", 0.9), o.get("beta2", 0.999)
        self.t += 1
        with torch.no_grad():
            g = -self.p.grad if o.get("maximize") else self.p.grad
            self.m.mul_(b1).add_(g, alpha=1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = self.v.div(1 - b2 ** self.t).add_(o.get("eps_root", 0.0)).sqrt_().add_(o.get("eps", 1e-6))
            u = self.m.div(1 - b1 ** self.t).div_(denom).add_(self.p, alpha=o.get("weight_decay", 0.0))
            self.p.add_(u, alpha=-o.get("lr", 1e-3) * trust_ratio(self.p, u))


class Lars:
    def __init__(self, p, o):
        self.p, self.o = p, o
        self.buf = torch.zeros_like(p)

    def step(self):
        o = self.o
        mu = o.get("momentum", 0.9)
        with torch.no_grad():
            g = -self.p.grad if o.get("maximize") else self.p.grad
            u = g.add(self.p, alpha=o.get("weight_decay", 0.0))
            s = u.mul(o.get("lr", 1.0) * trust_ratio(self.p, u, o.get("trust_coefficient", 1e-3), o.get("eps", 0.0)))
            self.buf = s.add(self.buf, alpha=mu)
            self.p.sub_(s.add(self.buf, alpha=mu) if o.get("nesterov") else self.buf)


class Prodigy:
    def __init__(self, p, o):
        self.p, self.o = p, o
        self.d = o.get("d0", 1e-6)
        self.d_max, self.numerator, self.k = self.d, 0.0, 0
        self.p0 = p.detach().clone()
        self.s, self.m, self.v = torch.zeros_like(p), torch.zeros_like(p), torch.zeros_like(p)

    def step(self):
        o, p = self.o, self.p
        lr, b1, b2 = o.get("lr", 1.0), o.get("beta1", 0.9), o.get("beta2", 0.999)
        b3 = o.get("beta3", 0.0) or math.sqrt(b2)
        d0, d, wd, decouple = o.get("d0", 1e-6), self.d, o.get("weight_decay", 0.0), o.get("decouple", True)
        bc = ((1 - b2 ** (self.k + 1)) ** 0.5) / (1 - b1 ** (self.k + 1)) if o.get("use_bias_correction") else 1
        dlr = d * lr * bc
        with torch.no_grad():
            g = -p.grad if o.get("maximize") else p.grad.clone()
            if wd != 0 and not decouple:
                g.add_(p, alpha=wd)
            delta = (d / d0) * dlr * torch.dot(g, self.p0 - p).item()
            self.m.mul_(b1).add_(g, alpha=d * (1 - b1))
            self.v.mul_(b2).addcmul_(g, g, value=d * d * (1 - b2))
            self.s.mul_(b3).add_(g, alpha=(d / d0) * (d if o.get("safeguard_warmup") else dlr))
            denom_sum = self.s.abs().sum().item()
            if denom_sum == 0:
                return
            self.numerator = self.numerator * b3 + delta
            d_hat = o.get("d_coef", 1.0) * self.numerator / denom_sum
            if d == d0:
                d = max(d, d_hat)
            self.d_max = max(self.d_max, d_hat)
            growth = o.get("growth_rate", 0.0) or float("inf")
            self.d = d = min(self.d_max, d * growth)
            denom = self.v.sqrt().add_(d * o.get("eps", 1e-8))
            if wd != 0 and decouple:
                p.add_(p, alpha=-wd * dlr)
            if b1 > 0:
                p.addcdiv_(self.m, denom, value=-dlr)
            else:
                p.addcdiv_(g, denom, value=-dlr * d)
        self.k += 1


def make(name, p, o):
    if name == "schedule-free-sgd":
        return ScheduleFree("sgd", p, o)
    if name == "schedule-free-adamw":
        return ScheduleFree("adamw", p, o)
    return {"adopt": Adopt, "lamb": Lamb, "lars": Lars, "prodigy": Prodigy}[name](p, o)


def trajectory(function, optimizer, options, start, steps):
    f = loss_fn(function)
    xy = torch.tensor(start, requires_grad=True)
    opt = make(optimizer, xy, options)
    path, xs = [], []
    for k in range(steps + 1):
        xy.grad = None
        loss = f(xy[0], xy[1])
        loss.backward()
        path.append([xy[0].item(), xy[1].item(), loss.item()])
        if isinstance(opt, ScheduleFree):
            xs.append(opt.x().tolist())
        if k == steps:
            break
        opt.step()
    return path, xs


def cases():
    out = []

    def add(function, optimizer, options, start, steps=100):
        out.append(dict(function=function, optimizer=optimizer, options=options, start=start, steps=steps))

    R, S = "rosenbrock", [-1.2, 1.0]
    for f, start in [("rosenbrock", S), ("beale", [1.0, 1.5]), ("himmelblau", [0.5, -0.5]), ("x^2 + 3*sin(y)^2 + 0.1*x*y", [1.5, -1.0])]:
        add(f, "schedule-free-sgd", {"lr": 1e-3}, start)
        add(f, "schedule-free-adamw", {"lr": 0.02}, start)
        add(f, "adopt", {"lr": 0.02}, start)
        add(f, "lamb", {"lr": 0.02}, start)
        add(f, "lars", {"lr": 1.0, "trust_coefficient": 0.01}, start)
    # Every option of each rule.
    add(R, "schedule-free-sgd", {"lr": 5e-4, "momentum": 0.5, "weight_decay": 0.1, "warmup_steps": 10, "r": 0.5, "weight_lr_power": 1.0}, S)
    add(R, "schedule-free-sgd", {"lr": 1e-3, "weight_lr_power": 0.0}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "schedule-free-sgd", {"lr": 0.01, "maximize": True}, [1.5, -1.0])
    add(R, "schedule-free-adamw", {"lr": 0.01, "beta1": 0.95, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05, "warmup_steps": 20}, S)
    add(R, "schedule-free-adamw", {"lr": 0.01, "inner_momentum": 0.9, "r": 1.0}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "schedule-free-adamw", {"lr": 0.01, "maximize": True}, [1.5, -1.0])
    add(R, "adopt", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3, "nesterov": True}, S)
    add(R, "adopt", {"lr": 0.01, "use_clipping": False}, S)
    add(R, "adopt", {"lr": 0.01, "weight_decay": 0.1}, S)
    add(R, "adopt", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "adopt", {"lr": 0.01, "maximize": True}, [1.5, -1.0])
    add(R, "lamb", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3, "eps_root": 1e-4, "weight_decay": 0.1}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "lamb", {"lr": 0.01, "maximize": True}, [1.5, -1.0])
    add(R, "lars", {"lr": 0.5, "trust_coefficient": 0.02, "eps": 0.1, "weight_decay": 0.05, "momentum": 0.8, "nesterov": True}, S)
    add(R, "lars", {"lr": 0.5, "trust_coefficient": 0.02, "momentum": 0.0}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "lars", {"lr": 1.0, "trust_coefficient": 0.01, "maximize": True}, [1.5, -1.0])
    for f, start in [("rosenbrock", S), ("beale", [1.0, 1.5]), ("himmelblau", [0.5, -0.5]), ("x^2 + 3*sin(y)^2 + 0.1*x*y", [1.5, -1.0])]:
        add(f, "prodigy", {}, start)
    add(R, "prodigy", {"beta1": 0.8, "beta2": 0.99, "beta3": 0.9, "eps": 1e-6, "d0": 1e-3, "d_coef": 0.5, "growth_rate": 1.05}, S)
    add(R, "prodigy", {"use_bias_correction": True, "safeguard_warmup": True, "weight_decay": 0.1}, S)
    add(R, "prodigy", {"beta1": 0.0, "weight_decay": 0.1, "decouple": False}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "prodigy", {"maximize": True}, [1.5, -1.0])
    # A start at the origin: the trust ratio falls back to 1 while ||p|| = 0.
    add("(x - 1)^2 + (y + 0.5)^2", "lamb", {"lr": 0.05}, [0.0, 0.0], 30)
    add("(x - 1)^2 + (y + 0.5)^2", "lars", {"lr": 0.05, "trust_coefficient": 1.0}, [0.0, 0.0], 30)
    return out


class Point(torch.nn.Module):
    def __init__(self, start):
        super().__init__()
        self.xy = torch.nn.Parameter(torch.tensor(start))


def wrapped_trajectory(function, optimizer, options, wrappers, start, steps):
    """torch.optim's optimizer with the wrappers around it, innermost first; the path and the evaluation point."""
    f = loss_fn(function)
    model = Point(start)
    xy = model.xy
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer]([xy], **options)
    state = []
    for w in wrappers:
        if w["kind"] in ("sam", "asam"):
            state.append({})
        elif w["kind"] == "lookahead":
            state.append(dict(slow=xy.detach().clone(), since=0))
        else:
            if w["kind"] == "ema":
                decay, warmup = w["decay"], w.get("warmup", False)

                def avg_fn(avg, p, n, decay=decay, warmup=warmup):
                    d = min(decay, (1.0 + n.item()) / (10.0 + n.item())) if warmup else decay
                    return d * avg + (1 - d) * p
                state.append(dict(model=torch.optim.swa_utils.AveragedModel(model, avg_fn=avg_fn)))
            else:
                state.append(dict(model=torch.optim.swa_utils.AveragedModel(model)))
    path, evals, updates = [], [], 0

    def evaluation_point():
        point = xy.detach().clone()
        for w, st in zip(wrappers, state):
            if w["kind"] in ("sam", "asam"):
                continue
            if w["kind"] == "lookahead":
                point = st["slow"].clone()
            elif st["model"].n_averaged.item() > 0:
                point = st["model"].module.xy.detach().clone()
        return point.tolist()

    for k in range(steps + 1):
        xy.grad = None
        loss = f(xy[0], xy[1])
        loss.backward()
        path.append([xy[0].item(), xy[1].item(), loss.item()])
        evals.append(evaluation_point())
        if k == steps:
            break
        for w in wrappers:
            if w["kind"] in ("sam", "asam"):
                adaptive = w["kind"] == "asam"
                with torch.no_grad():
                    grad_norm = ((torch.abs(xy) if adaptive else 1.0) * xy.grad).norm(p=2)
                    scale = w["rho"] / (grad_norm + 1e-12)
                    e_w = (torch.pow(xy, 2) if adaptive else 1.0) * xy.grad * scale
                    old = xy.detach().clone()
                    xy.add_(e_w)
                xy.grad = None
                f(xy[0], xy[1]).backward()
                with torch.no_grad():
                    xy.copy_(old)
        opt.step()
        updates += 1
        for w, st in zip(wrappers, state):
            if w["kind"] in ("sam", "asam"):
                continue
            if w["kind"] == "lookahead":
                st["since"] += 1
                if st["since"] == w["k"]:
                    st["since"] = 0
                    with torch.no_grad():
                        st["slow"].add_(xy - st["slow"], alpha=w["alpha"])
                        xy.copy_(st["slow"])
            elif w["kind"] == "ema" or updates > w["start"]:
                st["model"].update_parameters(model)
    return path, evals


def wrapper_cases():
    out = []

    def add(function, optimizer, options, wrappers, start, steps=60):
        out.append(dict(function=function, optimizer=optimizer, options=options, wrappers=wrappers, start=start, steps=steps))

    R, S = "rosenbrock", [-1.2, 1.0]
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.9}, [{"kind": "lookahead", "k": 5, "alpha": 0.5}], S)
    add(R, "adam", {"lr": 0.05}, [{"kind": "lookahead", "k": 3, "alpha": 0.8}], S)
    add(R, "adam", {"lr": 0.05}, [{"kind": "ema", "decay": 0.9}], S)
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.9}, [{"kind": "ema", "decay": 0.99, "warmup": True}], S)
    add(R, "adam", {"lr": 0.05}, [{"kind": "swa", "start": 20}], S)
    add("himmelblau", "sgd", {"lr": 0.01}, [{"kind": "swa", "start": 0}], [0.5, -0.5])
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.9}, [{"kind": "sam", "rho": 0.05}], S)
    add("himmelblau", "adam", {"lr": 0.05}, [{"kind": "sam", "rho": 0.1}], [0.5, -0.5])
    add("x^2 + 3*sin(y)^2 + 0.1*x*y", "sgd", {"lr": 0.05, "momentum": 0.5}, [{"kind": "asam", "rho": 0.5}], [1.5, -1.0])
    # SAM around Lookahead around AdamW, with an EMA of the result.
    add(R, "adam", {"lr": 0.05}, [{"kind": "sam", "rho": 0.05}, {"kind": "lookahead", "k": 4, "alpha": 0.5}, {"kind": "ema", "decay": 0.8}], S)
    # Composed: Lookahead around Adam, with an EMA of the result.
    add("beale", "adam", {"lr": 0.05}, [{"kind": "lookahead", "k": 4, "alpha": 0.5}, {"kind": "ema", "decay": 0.8}], [1.0, 1.5])
    for c in out:
        c["path"], c["eval"] = wrapped_trajectory(c["function"], c["optimizer"], c["options"], c["wrappers"], c["start"], c["steps"])
    return out


def main():
    traj = []
    for c in cases():
        c["path"], xs = trajectory(c["function"], c["optimizer"], c["options"], c["start"], c["steps"])
        if xs:
            c["x"] = xs
        largest = max(abs(v) for row in c["path"] for v in row)
        assert largest < 1e6, f"case diverges: {c['optimizer']} {c['options']} on {c['function']}"
        traj.append(c)
    data = {"generator": "tools/reference/generate_beyond.py", "torch": torch.__version__, "trajectories": traj, "wrapped": wrapper_cases()}
    path = os.path.join(OUT, "beyond_reference.json")
    with open(path, "w") as fh:
        json.dump(data, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(traj)} trajectories")


if __name__ == "__main__":
    main()
