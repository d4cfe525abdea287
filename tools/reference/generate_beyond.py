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
- Prodigy: konstmish/prodigy, prodigyopt/prodigy.py's step (slice_p 1, one parameter group);
- Shampoo: facebookresearch/optimizers' DistributedShampoo on one device (see the class below);
- SOAP: nikhilvyas/SOAP, soap.py (December 2024): SOAP.step, update_preconditioner, project/project_back and
  get_orthogonal_matrix(_QR). The reference converts the preconditioner matrices to float32 for eigh and the QR step;
  here they stay float64 (with those conversions removed, soap.py itself gives this transcription's numbers exactly).

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


def rotate_first_to_last(y):
    return y.permute(*range(1, y.dim()), 0)


class Soap:
    """nikhilvyas/SOAP, soap.py (its December 2024 state): Adam on the gradient rotated into the eigenbases of the
    per-dimension moving averages GG_k of the gradient's outer products. The first step only starts GG and the bases."""

    def __init__(self, p, o):
        self.p, self.o, self.t = p, o, None
        self.sb = o.get("shampoo_beta", -1.0)
        if self.sb < 0:
            self.sb = o.get("beta2", 0.95)

    @staticmethod
    def merged(shape, largest):
        out, run = [], 1
        for d in shape:
            if run * d > largest:
                if run > 1:
                    out.append(run)
                    run = d
                else:
                    out.append(d)
                    run = 1
            else:
                run *= d
        if run > 1 or not out:
            out.append(run)
        return out

    def start(self, g):
        o, shape = self.o, list(self.p.shape)
        largest = o.get("max_precond_dim", 10000)
        if len(shape) == 1:
            self.dims, wanted = shape, [o.get("precondition_1d", False) and shape[0] <= largest]
        else:
            self.dims = self.merged(shape, largest) if o.get("merge_dims") else shape
            wanted = [d <= largest for d in self.dims]
        self.gg = [torch.zeros(d, d) if w else None for d, w in zip(self.dims, wanted)]
        self.accumulate(g)
        # eigh sorts ascending; the reference flips the columns to put the largest eigenvalue first.
        self.q = [None if m is None else torch.flip(torch.linalg.eigh(m + 1e-30 * torch.eye(m.shape[0]))[1], [1]) for m in self.gg]
        self.m, self.v = torch.zeros_like(self.p), torch.zeros_like(self.p)

    def accumulate(self, g):
        y = g.reshape(self.dims)
        for k, m in enumerate(self.gg):
            if m is not None:
                rest = [i for i in range(len(self.dims)) if i != k]
                m.lerp_(torch.tensordot(y, y, dims=(rest, rest)), 1 - self.sb)

    def project(self, x, back=False):
        """x rotated by Q_k^T along each preconditioned dimension k (back: by Q_k), by tensordot over the leading
        dimension, which moves it last, so that after every dimension the order is restored."""
        y = x.reshape(self.dims)
        for q in self.q:
            y = rotate_first_to_last(y) if q is None else torch.tensordot(y, q, dims=([0], [1 if back else 0]))
        return y.reshape(self.p.shape)

    def refresh(self):
        v = self.v.reshape(self.dims)
        for k, (m, q) in enumerate(zip(self.gg, self.q)):
            if m is None:
                continue
            order = torch.argsort(torch.diag(q.T @ m @ q), descending=True)
            v = v.index_select(k, order)
            self.q[k] = torch.linalg.qr(m @ q[:, order])[0]
        self.v = v.reshape(self.p.shape).clone()

    def step(self):
        o, p = self.o, self.p
        with torch.no_grad():
            g = -p.grad if o.get("maximize") else p.grad.clone()
            if self.t is None:
                self.start(g)
                self.t = 0
                return
            self.t += 1
            t, lr = self.t, o.get("lr", 3e-3)
            b1, b2 = o.get("beta1", 0.95), o.get("beta2", 0.95)
            gp = self.project(g)
            self.m.mul_(b1).add_(gp, alpha=1 - b1)
            self.v.mul_(b2).add_(gp.square(), alpha=1 - b2)
            step = lr
            if o.get("correct_bias", True):
                step = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
            u = self.project(self.m / self.v.sqrt().add_(o.get("eps", 1e-8)), back=True)
            if o.get("normalize_grads"):
                u = u / (1e-30 + torch.mean(u ** 2) ** 0.5)
            p.add_(u, alpha=-step)
            wd = o.get("weight_decay", 0.01)
            if wd > 0:
                p.add_(p, alpha=-lr * wd)
            self.m = self.project(self.m, back=True)
            self.accumulate(g)
            if t % o.get("precondition_frequency", 10) == 0:
                self.refresh()
            self.m = self.project(self.m)


class Shampoo:
    """facebookresearch/optimizers' DistributedShampoo (August 2026) on one device: distributed_shampoo.py's
    _group_step_body and _compute_search_directions, RootInvShampooPreconditionerList with EigenConfig (matrix_functions.py's
    matrix_inverse_root with the default PerturbationConfig), AdagradPreconditionerList for grafting, and
    shampoo_utils.py's merge_small_dims (target dimensionality 1) and multi_dim_split for the blocks. Factor matrices
    and roots in float64 (factor_matrix_dtype and inv_factor_matrix_dtype torch.float64); grafting on, as
    grafting_config=AdamPreconditionerConfig(beta2, epsilon), or AdaGradPreconditionerConfig(epsilon) at grafting_beta2 1."""

    def __init__(self, p, o):
        self.p, self.o, self.t = p, o, 0
        self.largest = o.get("max_preconditioner_dim", 1024)
        self.dims = self.merge_small_dims(list(p.shape), self.largest)
        self.factors = [[torch.zeros(d, d) for d in b.shape] for b in self.split(p.detach())]
        self.roots = [[torch.eye(d) for d in b.shape] for b in self.split(p.detach())]
        self.filtered, self.v = torch.zeros_like(p), torch.zeros_like(p)

    @staticmethod
    def merge_small_dims(shape, threshold):
        if 0 in shape:
            return [0]
        squeezed = [d for d in reversed(shape) if d != 1] or [1]
        out = [squeezed[0]]
        for i, d in enumerate(squeezed[1:], start=1):
            if len(out) + len(squeezed) - i > 1 and out[-1] * d <= threshold:
                out[-1] *= d
            else:
                out.append(d)
        return list(reversed(out))

    def split(self, x):
        blocks = (x.view(self.dims),)
        for dim in range(len(self.dims)):
            blocks = tuple(s for b in blocks for s in torch.split(b, self.largest, dim=dim))
        return blocks

    @staticmethod
    def inverse_root(a, root, epsilon):
        values, vectors = torch.linalg.eigh(a.add(torch.eye(a.shape[0]), alpha=epsilon))
        smallest = torch.min(values).item()
        if smallest < epsilon:
            values = values + -smallest
            values = values + epsilon
        return vectors * values.pow(-1.0 / root).unsqueeze(0) @ vectors.T

    def step(self):
        o, p = self.o, self.p
        self.t += 1
        t, lr = self.t, o.get("lr", 1e-2)
        b1, b2 = o.get("beta1", 0.9), o.get("beta2", 1.0)
        b3 = o.get("beta3", -1.0)
        b3 = b1 if b3 == -1.0 else b3
        eps, wd = o.get("epsilon", 1e-12), o.get("weight_decay", 0.0)
        decoupled, correct = o.get("decoupled_weight_decay", True), o.get("use_bias_correction", True)
        frequency = o.get("precondition_frequency", 1)
        start = o.get("start_preconditioning_step", -1)
        start = frequency if start == -1 else start
        grafting, gb2, geps = o.get("grafting", True), o.get("grafting_beta2", 0.999), o.get("grafting_epsilon", 1e-10)
        with torch.no_grad():
            g = -p.grad if o.get("maximize") else p.grad.clone()
            if wd != 0 and not decoupled:
                g.add_(p, alpha=wd)
            for gb, factors in zip(self.split(g), self.factors):
                for k, factor in enumerate(factors):
                    rest = [i for i in range(gb.dim()) if i != k]
                    if b2 != 1.0:
                        factor.mul_(b2)
                    factor.add_(torch.tensordot(gb, gb, dims=(rest, rest)), alpha=1.0 if b2 == 1.0 else 1 - b2)
            if grafting:
                if gb2 != 1.0:
                    self.v.mul_(gb2)
                self.v.addcmul_(g, g, value=1.0 if gb2 == 1.0 else 1 - gb2)
            bc2 = 1 - b2 ** t if correct and b2 < 1.0 else 1.0
            if (t % frequency == 0 and t > start) or t == start:
                for factors, roots in zip(self.factors, self.roots):
                    for k, factor in enumerate(factors):
                        roots[k] = self.inverse_root(factor / bc2, 2 * len(factors), eps)
            if b1 != 0.0:
                gbar = torch.lerp(self.filtered, g, 1 - b3) if b3 != b1 else self.filtered
                self.filtered.lerp_(g, 1 - b1)
                if correct:
                    gbar = gbar / (1.0 - b3 * b1 ** (t - 1))
            else:
                gbar = g
            graft = gbar / (self.v / (1.0 if gb2 == 1.0 else 1 - gb2 ** t)).sqrt().add_(geps) if grafting else None
            graft_blocks = self.split(graft) if grafting else [None] * len(self.factors)
            directions = []
            for gb, graft_b, roots in zip(self.split(gbar), graft_blocks, self.roots):
                if t < start and grafting:
                    direction = graft_b.clone()
                else:
                    direction = gb
                    for root in roots:
                        direction = torch.tensordot(direction, root, dims=([0], [0]))
                    if grafting:
                        direction = direction * (torch.linalg.norm(graft_b) / (torch.linalg.norm(direction) + 1e-16))
                directions.append(direction)
            for direction, pb in zip(directions, self.split(p.detach())):
                if decoupled and wd != 0:
                    direction.add_(pb, alpha=wd)
                direction.mul_(-lr)
                pb.add_(direction)


def make(name, p, o):
    if name == "schedule-free-sgd":
        return ScheduleFree("sgd", p, o)
    if name == "schedule-free-adamw":
        return ScheduleFree("adamw", p, o)
    return {"adopt": Adopt, "lamb": Lamb, "lars": Lars, "prodigy": Prodigy, "soap": Soap, "shampoo": Shampoo}[name](p, o)


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
    # SOAP on a point: a vector, so Adam with the first step skipped unless precondition_1d gives it a 2 x 2 preconditioner
    # (rank one after the first gradient, whose two eigenvalues still differ, so the eigenbasis is defined up to signs).
    for f, start in [("rosenbrock", S), ("beale", [1.0, 1.5]), ("himmelblau", [0.5, -0.5]), ("x^2 + 3*sin(y)^2 + 0.1*x*y", [1.5, -1.0])]:
        add(f, "soap", {"lr": 0.02}, start)
        add(f, "soap", {"lr": 0.02, "precondition_1d": True, "precondition_frequency": 3, "eps": 1e-4}, start)
    add(R, "soap", {"lr": 0.02, "precondition_1d": True, "precondition_frequency": 4, "shampoo_beta": 0.5, "beta1": 0.9, "beta2": 0.99,
                    "eps": 1e-3, "weight_decay": 0.1, "correct_bias": False, "normalize_grads": True}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "soap", {"lr": 0.01, "precondition_1d": True, "eps": 1e-4, "maximize": True}, [1.5, -1.0])
    # Shampoo on a point: one block of 2 with a 2 x 2 factor and root 2. The first factor has rank one, and epsilon 1e-12
    # would weigh the rounding noise in its null space by 1e6; so either preconditioning starts at step 2 or epsilon is 1e-6.
    for f, start in [("rosenbrock", S), ("beale", [1.0, 1.5]), ("himmelblau", [0.5, -0.5]), ("x^2 + 3*sin(y)^2 + 0.1*x*y", [1.5, -1.0])]:
        add(f, "shampoo", {"lr": 0.05, "start_preconditioning_step": 2}, start)
        add(f, "shampoo", {"lr": 0.05, "epsilon": 1e-6}, start)
    add(R, "shampoo", {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "beta3": 0.3, "epsilon": 1e-6, "weight_decay": 0.1, "precondition_frequency": 3,
                       "start_preconditioning_step": 5, "grafting_beta2": 0.99, "grafting_epsilon": 1e-6}, S)
    add(R, "shampoo", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": False, "epsilon": 1e-6}, S)
    add(R, "shampoo", {"lr": 0.001, "grafting": False, "start_preconditioning_step": 2}, S)
    add(R, "shampoo", {"lr": 0.05, "grafting_beta2": 1.0, "start_preconditioning_step": 2}, S)
    add(R, "shampoo", {"lr": 0.05, "beta1": 0.0, "use_bias_correction": False, "beta2": 0.99, "epsilon": 1e-6}, S)
    add(R, "shampoo", {"lr": 0.05, "max_preconditioner_dim": 1}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "shampoo", {"lr": 0.01, "epsilon": 1e-6, "maximize": True}, [1.5, -1.0])
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


def least_squares_cases():
    """The matrix optimizers on least squares, loss = mean((x @ W^T + b - y)^2), batched over W's leading dimensions,
    with an optional bias b. Every preconditioned dimension's first Gram matrix has distinct eigenvalues (square
    weights, or a long dimension left unpreconditioned, or merged dimensions that make a square unfolding), so SOAP's
    eigenbases are defined up to the signs of their columns, which its update does not depend on."""
    torch.manual_seed(15)
    cases = []

    def add(optimizer, options, shape, bias=False, steps=30):
        *batch, rows, cols = shape
        x = torch.randn(*batch, 8, cols)
        y = x @ torch.randn(*batch, rows, cols).transpose(-1, -2) + 0.1 * torch.randn(*batch, 8, rows)
        params = [(0.5 * torch.randn(*shape)).requires_grad_(True)]
        if bias:
            params.append((0.1 * torch.randn(rows)).requires_grad_(True))
        init = [t.detach().clone().flatten().tolist() for t in params]
        steppers = [make(optimizer, t, options) for t in params]
        losses = []
        for k in range(steps + 1):
            for t in params:
                t.grad = None
            prediction = x @ params[0].transpose(-1, -2)
            if bias:
                prediction = prediction + params[1]
            loss = ((prediction - y) ** 2).mean()
            loss.backward()
            losses.append(loss.item())
            if k == steps:
                break
            for s in steppers:
                s.step()
        case = dict(optimizer=optimizer, options=options, shape=list(shape), inputs=x.flatten().tolist(), targets=y.flatten().tolist(),
                    init=init[0], steps=steps, losses=losses, final=params[0].detach().flatten().tolist())
        if bias:
            case["bias_init"], case["final_bias"] = init[1], params[1].detach().flatten().tolist()
        cases.append(case)

    # SOAP's first update divides by eps the rotated gradient's entries that are zero in exact arithmetic (the first
    # update's gradient is the one the bases were built from, so Q_L^T G Q_R is diagonal) and hold rounding noise of
    # about 1e-16 |G|: with the default eps 1e-8 that noise reaches the weights at about 1e-9 relative, whatever computes
    # the bases. The cases below use eps 1e-4, where it stays below 1e-12; the first keeps the defaults (checked to 1e-7).
    add("soap", {}, (4, 4), bias=True)
    add("soap", {"eps": 1e-4}, (4, 4), bias=True)
    add("soap", {"lr": 0.01, "precondition_frequency": 3, "eps": 1e-4}, (4, 4))
    add("soap", {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "shampoo_beta": 0.8, "eps": 1e-3, "weight_decay": 0.1, "precondition_frequency": 4}, (4, 4))
    add("soap", {"lr": 0.01, "correct_bias": False, "normalize_grads": True, "weight_decay": 0.0, "eps": 1e-4}, (4, 4))
    add("soap", {"lr": 0.01, "max_precond_dim": 4, "precondition_frequency": 5}, (3, 8), bias=True)
    add("soap", {"lr": 0.01, "merge_dims": True, "max_precond_dim": 4, "precondition_frequency": 5, "eps": 1e-4}, (2, 2, 4))
    add("soap", {"lr": 0.01, "precondition_1d": True, "precondition_frequency": 4, "eps": 1e-4}, (2, 2), bias=True)
    add("soap", {"lr": 0.01, "eps": 1e-4, "maximize": True}, (4, 4), steps=10)
    # Shampoo merges the 4 x 4 weight into one block of 16 by default (its target is one dimension): a 16 x 16 factor
    # of rank one at the first step, whose null space carries rounding noise weighed by epsilon^(-1/2) = 1e6: rounding-size
    # changes to its eigendecompositions move this reference's final weights by up to 4e-4 relative
    # (tools/reference/eigh_sensitivity.py), so the default case is checked to 1e-3. The others keep every factor's
    # inverse root well conditioned (epsilon 1e-6 or 1e-4; square blocks or blocks that accumulate full rank first).
    add("shampoo", {}, (4, 4), bias=True)
    add("shampoo", {"max_preconditioner_dim": 4, "epsilon": 1e-4}, (4, 4), bias=True)
    add("shampoo", {"max_preconditioner_dim": 4, "precondition_frequency": 3, "start_preconditioning_step": 3, "epsilon": 1e-6}, (3, 8), bias=True)
    add("shampoo", {"max_preconditioner_dim": 4, "epsilon": 1e-6}, (2, 6))
    add("shampoo", {"max_preconditioner_dim": 12, "epsilon": 1e-6}, (2, 3, 4))
    add("shampoo", {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "beta3": 0.3, "epsilon": 1e-6, "weight_decay": 0.1, "grafting_beta2": 0.99,
                    "grafting_epsilon": 1e-6, "max_preconditioner_dim": 4}, (4, 4))
    add("shampoo", {"grafting": False, "lr": 0.01, "epsilon": 1e-6, "max_preconditioner_dim": 4}, (4, 4))
    add("shampoo", {"epsilon": 1e-4, "weight_decay": 0.1, "decoupled_weight_decay": False, "max_preconditioner_dim": 4}, (4, 4), bias=True)
    add("shampoo", {"lr": 0.01, "epsilon": 1e-4, "maximize": True}, (4, 4), steps=10)
    return cases


def main():
    traj = []
    for c in cases():
        c["path"], xs = trajectory(c["function"], c["optimizer"], c["options"], c["start"], c["steps"])
        if xs:
            c["x"] = xs
        largest = max(abs(v) for row in c["path"] for v in row)
        assert largest < 1e6, f"case diverges: {c['optimizer']} {c['options']} on {c['function']}"
        traj.append(c)
    data = {"generator": "tools/reference/generate_beyond.py", "torch": torch.__version__, "trajectories": traj, "wrapped": wrapper_cases(),
            "least_squares": least_squares_cases()}
    path = os.path.join(OUT, "beyond_reference.json")
    with open(path, "w") as fh:
        json.dump(data, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(traj)} trajectories")


if __name__ == "__main__":
    main()
