#!/usr/bin/env python3
"""Reference vectors for Descent's optimizer, schedule and landscape tests, computed with PyTorch.

Run with Debian's PyTorch (python3-torch, 1.13) from the repository root:

    /usr/bin/python3 tools/reference/generate.py

It writes tests/Descent.Tests/Reference/*.json. The tests read those files and never need Python.

Everything runs in float64. Where torch.optim has the rule, torch.optim computes it. Where PyTorch 1.13
lacks an option Descent offers (maximize on NAdam/RAdam, decoupled decay on every optimizer but AdamW,
L2 decay on Lion and AdamW, independent weight decay, eps inside the square root, optax's NAdam, Lion),
the rule is written below with torch tensor operations, directly from its published formula. The options that
reproduce Keras's and optax's conventions are checked against transcriptions of those libraries' own code (Convention).

Adafactor (torch.optim.Adafactor, PyTorch 2.5+) and Muon (torch.optim.Muon, PyTorch 2.9) are not in torch 1.13
either: class Manual transcribes their algorithm boxes and the single-tensor functions of torch/optim/_adafactor.py
and torch/optim/_muon.py op by op with torch 1.13 tensor operations in float64. Muon's Newton-Schulz iteration runs
in bfloat16 in PyTorch; here each of its operations is computed in float64 and rounded to bfloat16 with torch's own
conversion (torch 1.13's CPU bfloat16 addmm accumulates in bfloat16 between products, unlike PyTorch 2.9's, so it is
not used). Their matrix cases (least squares with a 2-D weight, both orientations) are in "matrices".

NAdam uses foreach=True: PyTorch 1.13's default single-tensor NAdam multiplies mu_product by mu twice
in its last term (fixed in PyTorch 2.0, pytorch/pytorch#92699); the foreach path has the correct rule.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Descent.Tests", "Reference")

NAMED = {
    "rosenbrock": "(1 - x)**2 + 100*(y - x**2)**2",
    "pathological": "torch.tanh(x)**2 + 0.01*torch.abs(x) + torch.sigmoid(y)",
    "beale": "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "saddle": "x**2 - y**2",
    "ravine": "0.5*(x**2 + 100*y**2)",
}
FUNCS = {name: getattr(torch, name) for name in ["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "abs"]}
FUNCS.update(pi=math.pi, e=math.e, torch=torch)


def loss_fn(function):
    """A callable (x, y) -> loss for a named landscape or a Descent expression (^ means power)."""
    source = NAMED.get(function, function.replace("^", "**"))
    code = compile(source, "<expression>", "eval")
    return lambda x, y: eval(code, {"__builtins__": {}}, dict(FUNCS, x=x, y=y))


TORCH = {
    "sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam, "adamax": torch.optim.Adamax, "adadelta": torch.optim.Adadelta,
    "asgd": torch.optim.ASGD, "rprop": torch.optim.Rprop, "lbfgs": torch.optim.LBFGS,
}
DEFAULT_LR = {"sgd": 1e-3, "adagrad": 1e-2, "rmsprop": 1e-2, "adam": 1e-3, "adamw": 1e-3,
              "nadam": 2e-3, "radam": 1e-3, "adamax": 2e-3, "lion": 1e-4, "adadelta": 1.0, "asgd": 1e-2, "rprop": 1e-2, "lbfgs": 1.0,
              "adafactor": 1e-2, "muon": 1e-3}


class Manual:
    """Rules PyTorch 1.13 does not have, written from their formulas with torch tensor operations."""

    def __init__(self, name, params, o):
        self.name, self.params, self.o, self.t = name, params, o, 0
        self.state = [dict(m=torch.zeros_like(p), v=torch.zeros_like(p), vmax=torch.zeros_like(p),
                           g=torch.zeros_like(p), buf=None, mu_product=1.0, eta=o["lr"], mu=1.0,
                           sum=torch.full_like(p, o.get("initial_accumulator_value", 0.0)))
                      for p in params]
        beta2 = o.get("beta2", 0.99 if name == "lion" else 0.999)
        self.param_groups = [dict(lr=o["lr"], betas=(o.get("beta1", 0.9), beta2))]

    @torch.no_grad()
    def step(self):
        self.t += 1
        t, o = self.t, self.o
        lr = self.param_groups[0]["lr"]
        b1, b2 = self.param_groups[0]["betas"]
        eps, wd = o.get("eps", 1e-8), o.get("weight_decay", 0.0)
        inside = o.get("eps_inside_sqrt")
        for p, s in zip(self.params, self.state):
            g = -p.grad if o.get("maximize") else p.grad.clone()
            if self.name in ("adafactor", "muon"):
                if self.name == "adafactor":
                    self.adafactor(p, g, s, t, lr, o)
                else:
                    self.muon(p, g, s, lr, o)
                continue
            # Weight decay, the same for every rule: decoupled shrinking before the step (torch's AdamW form), or an L2 term.
            if o.get("decoupled_weight_decay", self.name in ("adamw", "lion")):
                p.mul_(1 - (wd if o.get("independent_weight_decay") else lr * wd))
            elif wd:
                g = g.add(p, alpha=wd)
            if self.name == "lion":
                p.add_(torch.sign(s["m"].mul(b1).add_(g, alpha=1 - b1)), alpha=-lr)
                s["m"].mul_(b2).add_(g, alpha=1 - b2)
            elif self.name == "sgd":  # torch.optim.SGD's rule
                mom, damp = o.get("momentum", 0.0), o.get("dampening", 0.0)
                if mom:
                    if s["buf"] is None:
                        s["buf"] = g.clone()
                    else:
                        s["buf"].mul_(mom).add_(g, alpha=1 - damp)
                    g = g.add(s["buf"], alpha=mom) if o.get("nesterov") else s["buf"]
                p.add_(g, alpha=-lr)
            elif self.name == "adagrad":
                clr = lr / (1 + (t - 1) * o.get("lr_decay", 0.0))
                s["sum"].addcmul_(g, g)
                e = o.get("eps", 1e-10)
                p.addcdiv_(g, torch.sqrt(s["sum"] + e) if inside else s["sum"].sqrt().add_(e), value=-clr)
            elif self.name == "rmsprop":
                a = o.get("alpha", 0.99)
                if t == 1:
                    s["v"].fill_(o.get("initial_square_avg", 0.0))
                s["v"].mul_(a).addcmul_(g, g, value=1 - a)
                v = s["v"]
                if o.get("centered"):
                    s["g"].mul_(a).add_(g, alpha=1 - a)
                    v = v.addcmul(s["g"], s["g"], value=-1)
                d = torch.sqrt(v + eps) if inside else v.sqrt().add_(eps)
                if o.get("momentum", 0) > 0:
                    s["buf"] = torch.zeros_like(p) if s["buf"] is None else s["buf"]
                    s["buf"].mul_(o["momentum"]).addcdiv_(g, d)
                    p.add_(s["buf"], alpha=-lr)
                else:
                    p.addcdiv_(g, d, value=-lr)
            elif self.name == "adadelta":  # torch.optim.Adadelta's rule
                rho, e = o.get("rho", 0.9), o.get("eps", 1e-6)
                s["v"].mul_(rho).addcmul_(g, g, value=1 - rho)
                delta = s["vmax"].add(e).sqrt_().div_(s["v"].add(e).sqrt_()).mul_(g)
                s["vmax"].mul_(rho).addcmul_(delta, delta, value=1 - rho)
                p.add_(delta, alpha=-lr)
            elif self.name == "asgd":  # torch.optim.ASGD's rule
                lambd, alpha, t0 = o.get("lambd", 1e-4), o.get("alpha", 0.75), o.get("t0", 1e6)
                p.mul_(1 - lambd * s["eta"])
                p.add_(g, alpha=-s["eta"])
                if s["mu"] != 1:
                    s["g"].add_(p.sub(s["g"]).mul(s["mu"]))
                else:
                    s["g"].copy_(p)
                s["eta"] = lr / math.pow(1 + lambd * lr * t, alpha)
                s["mu"] = 1 / max(1, t - t0)
            elif self.name == "adamax":  # torch.optim.Adamax's rule
                s["m"].mul_(b1).add_(g, alpha=1 - b1)
                torch.maximum(s["v"].mul_(b2), g.abs().add_(eps), out=s["v"])
                p.addcdiv_(s["m"], s["v"], value=-lr / (1 - b1 ** t))
            else:  # adam / adamw / nadam / radam with the variants torch 1.13 lacks
                s["m"].mul_(b1).add_(g, alpha=1 - b1)
                s["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                bc2 = 1 - b2 ** t
                if self.name == "nadam":
                    md = o.get("momentum_decay", 4e-3)
                    mu_of = (lambda k: b1) if o.get("constant_momentum") else (lambda k: b1 * (1 - 0.5 * 0.96 ** (k * md)))
                    mu, mu_next = mu_of(t), mu_of(t + 1)
                    s["mu_product"] *= mu
                    d = torch.sqrt(s["v"] / bc2 + eps) if o.get("eps_inside_sqrt") else s["v"].sqrt() / math.sqrt(bc2) + eps
                    p.addcdiv_(g, d, value=-lr * (1 - mu) / (1 - s["mu_product"]))
                    p.addcdiv_(s["m"], d, value=-lr * mu_next / (1 - s["mu_product"] * mu_next))
                elif self.name == "radam":
                    bc1 = 1 - b1 ** t
                    rho_inf = 2 / (1 - b2) - 1
                    rho_t = rho_inf - 2 * t * b2 ** t / bc2
                    corrected = s["m"] / bc1
                    if rho_t > 5:
                        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                        if inside:
                            p.sub_(corrected * lr / torch.sqrt(s["v"] / bc2 + eps) * rect)
                        else:
                            p.sub_(corrected * lr * (math.sqrt(bc2) / (s["v"].sqrt() + eps)) * rect)
                    else:
                        p.sub_(corrected * lr)
                else:
                    v = s["v"]
                    if o.get("amsgrad"):
                        torch.maximum(s["vmax"], v, out=s["vmax"])
                        v = s["vmax"]
                    if o.get("eps_before_bias_correction"):  # Keras/TensorFlow's epsilon-hat
                        p.addcdiv_(s["m"], v.sqrt().add_(eps), value=-(lr * math.sqrt(bc2) / (1 - b1 ** t)))
                    else:
                        d = torch.sqrt(v / bc2 + eps) if o.get("eps_inside_sqrt") else v.sqrt() / math.sqrt(bc2) + eps
                        p.addcdiv_(s["m"], d, value=-lr / (1 - b1 ** t))

    @staticmethod
    def adafactor(p, g, s, t, lr, o):
        """torch.optim.Adafactor's _single_tensor_adafactor (PyTorch 2.5+); eps1 0 stands for its None."""
        eps1 = o.get("eps1", 0.0) or torch.finfo(p.dtype).eps
        eps2, d, wd = o.get("eps2", 1e-3), o.get("d", 1.0), o.get("weight_decay", 0.0)
        assert d >= 1 and o.get("beta2_decay", -0.8) <= 0, "torch.optim.Adafactor refuses d < 1 and beta2_decay > 0"
        one_minus_beta2_t = float(t) ** o.get("beta2_decay", -0.8)
        rho_t = min(lr, 1 / (float(t) ** 0.5))
        alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho_t
        if wd != 0:
            p.mul_(1 - lr * wd)
        if g.dim() > 1:
            if "row_var" not in s:
                s["row_var"] = g.new_zeros(list(g.shape[:-1]) + [1])
                s["col_var"] = g.new_zeros(list(g.shape[:-2]) + [1, g.shape[-1]])
            row_mean = torch.linalg.vector_norm(g, dim=-1, keepdim=True).square_().div_(g.size(-1))
            s["row_var"].lerp_(row_mean, one_minus_beta2_t)
            col_mean = torch.linalg.vector_norm(g, dim=-2, keepdim=True).square_().div_(g.size(-2))
            s["col_var"].lerp_(col_mean, one_minus_beta2_t)
            var_estimate = s["row_var"] @ s["col_var"]
            var_estimate.div_(s["row_var"].mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            s["v"].lerp_(g * g, one_minus_beta2_t)
            var_estimate = s["v"].clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
        update.mul_(g)
        denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))
        p.add_(update, alpha=-alpha / denom)

    @staticmethod
    def muon(p, g, s, lr, o):
        """torch.optim.Muon's _single_tensor_muon and _zeropower_via_newtonschulz (PyTorch 2.9), bfloat16 emulated per operation."""
        assert p.dim() == 2, "Muon takes 2-D parameters only"
        bf16 = lambda x: x.to(torch.float32).to(torch.bfloat16).to(torch.float64)   # torch's rounding of .bfloat16()
        momentum = o.get("momentum", 0.95)
        a, b, c = o.get("ns_a", 3.4445), o.get("ns_b", -4.7750), o.get("ns_c", 2.0315)
        eps, wd = o.get("eps", 1e-7), o.get("weight_decay", 0.1)
        s["g"].lerp_(g, 1 - momentum)                            # the momentum buffer
        update = g.lerp(s["g"], momentum) if o.get("nesterov", True) else s["g"]
        x = bf16(update)
        if update.size(0) > update.size(1):
            x = x.T
        norm = bf16(x.norm())
        x = bf16(x / (norm if norm.item() >= eps else bf16(torch.tensor(eps))))
        for _ in range(int(o.get("ns_steps", 5))):
            gram = bf16(x @ x.T)
            gram_update = bf16(b * gram + c * (gram @ gram))    # addmm(gram, gram, gram, beta=b, alpha=c)
            x = bf16(a * x + gram_update @ x)                   # addmm(x, gram_update, x, beta=a)
        if update.size(0) > update.size(1):
            x = x.T
        rows, cols = p.shape
        ratio = 0.2 * math.sqrt(max(rows, cols)) if o.get("match_rms_adamw") else math.sqrt(max(1, rows / cols))
        p.mul_(1 - lr * wd)
        p.add_(x, alpha=-lr * ratio)


class Convention:
    """Other libraries' rules, transcribed line by line from their own source with torch tensor operations (float64),
    as the references for the options that reproduce them: Keras 3 (keras-team/keras, keras/src/optimizers/*.py,
    whose weight_decay is applied to every optimizer as p -= p * wd * lr before the step) and optax
    (google-deepmind/optax, optax/_src/transform.py and tree_utils/_tree_math.py; scale_by_learning_rate(lr) is -lr).
    A case names its library's rule in "convention"; its "options" are Descent's names for the same settings."""

    def __init__(self, convention, params, o):
        self.convention, self.params, self.o, self.t = convention, params, o, 0
        self.state = [dict(m=torch.zeros_like(p), v=torch.zeros_like(p), vmax=torch.zeros_like(p), u_product=1.0,
                           nu=torch.full_like(p, o.get("initial_square_avg", 0.0))) for p in params]

    @torch.no_grad()
    def step(self):
        self.t += 1
        t, o = self.t, self.o
        lr, b1, b2 = o["lr"], o.get("beta1", 0.9), o.get("beta2", 0.999)
        eps, wd = o.get("eps", 1e-8), o.get("weight_decay", 0.0)
        for p, s in zip(self.params, self.state):
            g = p.grad.clone()
            if self.convention.startswith("keras.") and wd:   # optimizer.py _apply_weight_decay
                p.sub_(p * wd * lr)
            if self.convention == "keras.Adamax":  # adamax.py update_step
                s["m"].add_((g - s["m"]) * (1 - b1))
                s["v"] = torch.maximum(b2 * s["v"], g.abs())
                p.sub_((lr * s["m"]) / ((1 - b1 ** t) * (s["v"] + eps)))
            elif self.convention == "keras.Nadam":  # nadam.py _backend_update_step and update_step
                s["u_product"] *= b1 * (1.0 - 0.5 * 0.96 ** t)
                u_t, u_t_1 = b1 * (1.0 - 0.5 * 0.96 ** t), b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
                u_product_t_1 = s["u_product"] * u_t_1
                s["m"].add_((g - s["m"]) * (1 - b1))
                s["v"].add_((g * g - s["v"]) * (1 - b2))
                m_hat = u_t_1 * s["m"] / (1 - u_product_t_1) + (1 - u_t) * g / (1 - s["u_product"])
                v_hat = s["v"] / (1 - b2 ** t)
                p.sub_((m_hat * lr) / (torch.sqrt(v_hat) + eps))
            else:
                # optax: eps_root is Descent's eps with eps_inside_sqrt (and optax's eps is then 0).
                eps_root, eps = (eps, 0.0) if o.get("eps_inside_sqrt") else (0.0, eps)
                if self.convention == "optax.scale_by_rms":  # with initial_scale (nu starts there), eps_in_sqrt per eps_inside_sqrt
                    decay = o.get("alpha", 0.99)
                    s["nu"] = (1 - decay) * g ** 2 + decay * s["nu"]
                    scaling = torch.rsqrt(s["nu"] + eps_root) if o.get("eps_inside_sqrt") else 1 / (torch.sqrt(s["nu"]) + eps)
                    p.add_(-lr * (scaling * g))
                    continue
                s["m"] = (1 - b1) * g + b1 * s["m"]
                s["v"] = (1 - b2) * g ** 2 + b2 * s["v"]
                mu_hat = s["m"] / (1 - b1 ** t)
                nu_hat = s["v"] / (1 - b2 ** t)
                if self.convention == "optax.scale_by_adam(nesterov=True)":  # optax.nadam
                    mu_hat = b1 * (s["m"] / (1 - b1 ** (t + 1))) + (1 - b1) * (g / (1 - b1 ** t))
                    p.add_(-lr * (mu_hat / (torch.sqrt(nu_hat + eps_root) + eps)))
                elif self.convention == "optax.scale_by_amsgrad":
                    s["vmax"] = torch.maximum(s["vmax"], nu_hat)
                    p.add_(-lr * (mu_hat / (torch.sqrt(s["vmax"] + eps_root) + eps)))
                elif self.convention == "optax.scale_by_radam":
                    ro_inf = 2.0 / (1.0 - b2) - 1.0
                    ro = ro_inf - 2 * t * b2 ** t / (1 - b2 ** t)
                    if ro >= o.get("threshold", 5.0):
                        r = math.sqrt((ro - 4.0) * (ro - 2.0) * ro_inf / ((ro_inf - 4.0) * (ro_inf - 2.0) * ro))
                        p.add_(-lr * (r * mu_hat / (torch.sqrt(nu_hat + eps_root) + eps)))
                    else:
                        p.add_(-lr * mu_hat)
                else:
                    raise ValueError(self.convention)


def make_optimizer(name, params, options):
    """torch.optim where it has the rule, else the Manual rule. Returns (optimizer, pre_step hook)."""
    o = dict(options)
    o.setdefault("lr", DEFAULT_LR[name])
    if name == "adamw":
        o.setdefault("weight_decay", 1e-2)
    manual = (name in ("lion", "adafactor", "muon") or o.get("eps_inside_sqrt") or o.get("eps_before_bias_correction") or o.get("initial_square_avg") or o.get("constant_momentum") or o.get("independent_weight_decay")
              or ("decoupled_weight_decay" in o and name != "adam")
              or (name in ("nadam", "radam") and o.get("maximize")))
    if name == "adam" and o.get("decoupled_weight_decay") and not manual:
        name, o = "adamw", {k: v for k, v in o.items() if k != "decoupled_weight_decay"}
    if manual:
        return Manual(name, params, o)
    pairs = {"betas": ("beta1", "beta2", 0.9, 0.999), "etas": ("etaminus", "etaplus", 0.5, 1.2),
             "step_sizes": ("step_size_min", "step_size_max", 1e-6, 50.0)}
    kwargs = {k: v for k, v in o.items() if not any(k in pair[:2] for pair in pairs.values())}
    for name_, (a, b, da, db) in pairs.items():   # torch takes these as pairs
        if a in o or b in o:
            kwargs[name_] = (o.get(a, da), o.get(b, db))
    if name == "nadam":
        kwargs["foreach"] = True
    if name == "lbfgs":  # maximize is applied in the closure (torch's LBFGS has no such option)
        kwargs.pop("maximize", None)
        if kwargs.pop("strong_wolfe", False):
            kwargs["line_search_fn"] = "strong_wolfe"
        for k in ("max_iter", "history_size", "max_eval"):
            if k in kwargs:
                kwargs[k] = int(kwargs[k])
        if kwargs.get("max_eval") == 0:
            del kwargs["max_eval"]
    return TORCH[name](params, **kwargs)


def trajectory(function, optimizer, options, start, steps, schedule=None, convention=None):
    f = loss_fn(function)
    xy = torch.tensor(start, requires_grad=True)
    opt = Convention(convention, [xy], dict(options, lr=options.get("lr", DEFAULT_LR[optimizer]))) if convention else make_optimizer(optimizer, [xy], options)
    sched = schedule(opt) if schedule else None
    path = []
    trajectory.last_optimizer = opt
    for k in range(steps + 1):
        opt.zero_grad() if hasattr(opt, "zero_grad") else None
        xy.grad = None
        loss = f(xy[0], xy[1])
        loss.backward()
        path.append([xy[0].item(), xy[1].item(), loss.item()])
        if k == steps:
            break
        if optimizer == "lbfgs":
            sign = -1 if options.get("maximize") else 1

            def closure():
                xy.grad = None
                loss = sign * f(xy[0], xy[1])
                loss.backward()
                return loss
            opt.step(closure)
        else:
            opt.step()
        if sched:
            sched.step()
    return path


EXPRESSIONS = [
    "x^2 + 3*sin(y)^2 + 0.1*x*y",
    "exp(0.1*x) + log(1 + y^2) + sqrt(x^2 + 1)",
    "tan(0.2*x)*cos(y) + abs(x - y) + 2^(0.3*y)",
    "-(x - 1)^2/2 - tanh(y)^2 + sigmoid(x*y)",
    "(x^2 + 1)^(0.5 + 0.1*y^2) + cos(x)/(2 + sin(y))",
]


def trajectory_cases():
    cases = []

    def add(function, optimizer, options, start, steps=120, convention=None):
        cases.append(dict(function=function, optimizer=optimizer, options=options, start=start, steps=steps,
                          **({"convention": convention} if convention else {})))

    # Every optimizer on every named landscape, at learning rates sized for the landscape: (start, rate for
    # rules whose step is lr * gradient, rate for rules whose step is about lr, rate for Lion). RAdam's first
    # steps are plain momentum SGD (its variance estimate is not yet rectified), so it takes the first rate.
    starts = {"rosenbrock": ([-1.5, 2.0], 1e-3, 0.05, 0.01), "pathological": ([7.0, 7.0], 10.0, 1.0, 0.1),
              "beale": ([1.0, 1.5], 1e-3, 0.05, 0.01), "himmelblau": ([-1.0, -1.0], 5e-3, 0.25, 0.05),
              "saddle": ([1.0, 1e-3], 0.05, 0.05, 0.01), "ravine": ([5.0, 1.0], 5e-3, 0.25, 0.05)}
    for fn, (start, lr_gradient, lr_adaptive, lr_sign) in starts.items():
        for opt in ["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "radam", "adamax", "lion", "adadelta", "asgd", "rprop", "adafactor"]:
            lr = (lr_gradient if opt in ("sgd", "radam", "asgd") else lr_sign if opt in ("lion", "rprop")
                  else 20 * lr_adaptive if opt == "adadelta" else lr_adaptive)
            add(fn, opt, {"lr": lr}, start, 40 if (fn, opt) == ("saddle", "rprop") else 120)   # Rprop's growing steps leave the saddle fast
    # Defaults exactly as the library states them (no lr given).
    for opt in ["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "radam", "adamax", "lion", "adadelta", "asgd", "rprop", "adafactor"]:
        add("himmelblau", opt, {}, [0.5, -0.5], 60)

    # Each option of each optimizer.
    R, S = "rosenbrock", [-1.5, 2.0]
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.9}, S)
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.9, "dampening": 0.9}, S)
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.5, "dampening": 0.3}, S)
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}, S)
    add(R, "sgd", {"lr": 1e-3, "weight_decay": 0.1}, S)
    add(R, "sgd", {"lr": 1e-3, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "sgd", {"lr": 0.05, "maximize": True, "momentum": 0.5}, [1.5, -1.0])
    add("ravine", "adagrad", {"lr": 0.5, "lr_decay": 0.01}, [5.0, 1.0])
    add("ravine", "adagrad", {"lr": 0.5, "weight_decay": 0.1}, [5.0, 1.0])
    add("ravine", "adagrad", {"lr": 0.5, "initial_accumulator_value": 0.3}, [5.0, 1.0])
    add("ravine", "adagrad", {"lr": 0.5, "eps": 0.5}, [5.0, 1.0])
    add("ravine", "adagrad", {"lr": 0.5, "eps": 0.5, "eps_inside_sqrt": True, "lr_decay": 0.01}, [5.0, 1.0])
    add("-(x^2 + 2*y^2)", "adagrad", {"lr": 0.3, "maximize": True}, [1.5, -1.0])
    add("beale", "rmsprop", {"lr": 1e-2, "alpha": 0.9}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-2, "eps": 1e-3}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-2, "weight_decay": 0.1}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-3, "momentum": 0.9}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-2, "centered": True}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-3, "centered": True, "momentum": 0.7, "weight_decay": 0.01}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-2, "eps": 1e-4, "eps_inside_sqrt": True}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-3, "eps": 1e-4, "eps_inside_sqrt": True, "centered": True, "momentum": 0.5}, [1.0, 1.5])
    add("-(x^2 + 2*y^2)", "rmsprop", {"lr": 0.05, "maximize": True}, [1.5, -1.0])
    for opt in ["adam", "adamw"]:
        add(R, opt, {"lr": 0.05}, S, 200)
        add(R, opt, {"lr": 0.05, "beta1": 0.5, "beta2": 0.9}, S)
        add(R, opt, {"lr": 0.05, "eps": 1e-2}, S)
        add(R, opt, {"lr": 0.05, "weight_decay": 0.1}, S)
        add(R, opt, {"lr": 0.05, "amsgrad": True}, S, 200)
        add(R, opt, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.05, "beta1": 0.8}, S)
        add("-(x^2 + 2*y^2) + 0.3*sin(x)", opt, {"lr": 0.05, "maximize": True, "weight_decay": 0.02}, [1.5, -1.0])
        add(R, opt, {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "independent_weight_decay": True}, S)
        add(R, opt, {"lr": 0.05, "eps": 1e-3, "eps_inside_sqrt": True}, S)
    add(R, "adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}, S)
    for opt, lr in [("nadam", 0.05), ("radam", 2e-3)]:
        add(R, opt, {"lr": lr}, S, 200)
        add(R, opt, {"lr": lr, "beta1": 0.8, "beta2": 0.99, "eps": 1e-4}, S)
        add(R, opt, {"lr": lr, "weight_decay": 0.1}, S)
        add(R, opt, {"lr": lr, "weight_decay": 0.1, "decoupled_weight_decay": True}, S)
        add(R, opt, {"lr": lr, "weight_decay": 0.1, "decoupled_weight_decay": True, "independent_weight_decay": True}, S)
        add("-(x^2 + 2*y^2) + 0.3*sin(x)", opt, {"lr": 0.05, "maximize": True}, [1.5, -1.0])
    add(R, "nadam", {"lr": 0.05, "momentum_decay": 0.02}, S)
    add(R, "nadam", {"lr": 0.05, "constant_momentum": True}, S)
    add(R, "nadam", {"lr": 0.05, "eps": 1e-3, "eps_inside_sqrt": True}, S)
    add(R, "adamax", {"lr": 0.05, "beta1": 0.8, "beta2": 0.99}, S)
    add(R, "adamax", {"lr": 0.05, "eps": 1e-2, "weight_decay": 0.1}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "adamax", {"lr": 0.05, "maximize": True}, [1.5, -1.0])
    # Decoupled weight decay on every optimizer (Keras 3's weight_decay, optax's adamaxw), L2 on Lion and AdamW,
    # and eps inside the square root for RAdam: the shared decay and denominator pieces in every rule.
    for opt, lr, extra in [("sgd", 1e-3, {"momentum": 0.9}), ("adagrad", 0.05, {}), ("rmsprop", 1e-2, {"momentum": 0.5}),
                           ("adamax", 0.05, {}), ("lion", 0.01, {}), ("adamw", 0.05, {})]:
        add(R, opt, dict(lr=lr, weight_decay=0.2, decoupled_weight_decay=True, **extra), S)
        add(R, opt, dict(lr=lr, weight_decay=0.2, decoupled_weight_decay=True, independent_weight_decay=True, **extra), S)
        add(R, opt, dict(lr=lr, weight_decay=0.2, decoupled_weight_decay=False, **extra), S)
    add(R, "radam", {"lr": 2e-3, "eps": 1e-3, "eps_inside_sqrt": True}, S, 200)
    # Keras/TensorFlow's eps-hat Adam and optax's RMSProp initial_scale.
    for opt in ["adam", "adamw"]:
        add(R, opt, {"lr": 0.05, "eps": 1e-2, "eps_before_bias_correction": True}, S)
        add(R, opt, {"lr": 0.05, "eps": 1e-3, "eps_before_bias_correction": True, "amsgrad": True}, S)
    add("beale", "rmsprop", {"lr": 1e-2, "initial_square_avg": 1.0}, [1.0, 1.5])
    add("beale", "rmsprop", {"lr": 1e-2, "initial_square_avg": 0.5, "centered": True, "momentum": 0.5, "eps": 1e-3, "eps_inside_sqrt": True}, [1.0, 1.5])
    add(R, "lion", {"lr": 0.01, "beta1": 0.8, "beta2": 0.95}, S)
    add(R, "adadelta", {"lr": 1.0, "rho": 0.5, "eps": 1e-4}, S)
    add(R, "adadelta", {"lr": 2.0, "weight_decay": 0.1}, S)
    add(R, "adadelta", {"lr": 2.0, "weight_decay": 0.1, "decoupled_weight_decay": True}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "adadelta", {"lr": 1.0, "maximize": True}, [1.5, -1.0])
    add(R, "asgd", {"lr": 1e-3, "lambd": 0.05, "alpha": 0.5, "t0": 20.0}, S)
    add(R, "asgd", {"lr": 1e-3, "weight_decay": 0.1, "t0": 0.0}, S)
    add(R, "asgd", {"lr": 1e-3, "weight_decay": 0.1, "decoupled_weight_decay": True, "t0": 5.0}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "asgd", {"lr": 0.05, "maximize": True}, [1.5, -1.0])
    add(R, "rprop", {"lr": 0.01, "etaminus": 0.3, "etaplus": 1.5}, S)
    add(R, "rprop", {"lr": 0.01, "step_size_min": 1e-3, "step_size_max": 0.05}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "rprop", {"lr": 0.01, "maximize": True}, [1.5, -1.0])
    # L-BFGS: each step calls the closure up to max_iter * 5 / 4 times.
    add("ravine", "lbfgs", {}, [5.0, 1.0], 5)
    add(R, "lbfgs", {"strong_wolfe": True}, S, 10)
    add(R, "lbfgs", {"lr": 0.1, "max_iter": 5}, S, 20)
    add("himmelblau", "lbfgs", {"strong_wolfe": True, "history_size": 3}, [-1.0, -1.0], 8)
    add("beale", "lbfgs", {"strong_wolfe": True, "max_iter": 4, "max_eval": 6}, [1.0, 1.5], 10)
    add("himmelblau", "lbfgs", {"lr": 0.05, "tolerance_change": 1e-3}, [-1.0, -1.0], 10)
    add("himmelblau", "lbfgs", {"lr": 0.2, "tolerance_grad": 1e-1, "history_size": 2}, [0.5, -0.5], 10)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "lbfgs", {"lr": 0.1, "maximize": True}, [1.5, -1.0], 10)
    for fn in ["pathological"] + EXPRESSIONS[:3]:
        add(fn, "lbfgs", {"strong_wolfe": True, "max_iter": 5}, [0.7, -0.4] if fn in EXPRESSIONS else [1.0, 0.5], 5)
    add(R, "lion", {"lr": 0.01, "weight_decay": 0.5}, S)
    add(R, "lion", {"lr": 0.01, "weight_decay": 0.05, "independent_weight_decay": True}, S)
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "lion", {"lr": 0.01, "maximize": True}, [1.5, -1.0])
    # Adafactor on a vector (its full second moment); its matrix cases are in matrix_cases().
    add(R, "adafactor", {"lr": 0.05, "beta2_decay": -0.5}, S)
    add(R, "adafactor", {"lr": 0.05, "eps1": 0.3}, S)
    add(R, "adafactor", {"lr": 0.05, "eps2": 3.0}, S)
    add(R, "adafactor", {"lr": 0.05, "d": 1.2}, S)
    add(R, "adafactor", {"lr": 0.05, "weight_decay": 0.2}, S)
    add("saddle", "adafactor", {"lr": 0.05}, [1.0, 1e-3])
    add("-(x^2 + 2*y^2) + 0.3*sin(x)", "adafactor", {"lr": 0.05, "maximize": True}, [1.5, -1.0])
    # Other libraries' conventions, against transcriptions of those libraries' code (class Convention).
    # Each differs from the path without its option by far more than the tests' 1e-6 (eps sized so its placement shows).
    add("ravine", "adamax", {"lr": 0.25, "eps": 0.1, "eps_outside_max": True}, [5.0, 1.0], convention="keras.Adamax")
    add(R, "adamax", {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3, "eps_outside_max": True,
                      "weight_decay": 0.1, "decoupled_weight_decay": True}, S, convention="keras.Adamax")
    add(R, "nadam", {"lr": 0.05, "momentum_decay": 1.0}, S, convention="keras.Nadam")
    add(R, "nadam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-4, "momentum_decay": 1.0,
                     "weight_decay": 0.1, "decoupled_weight_decay": True}, S, convention="keras.Nadam")
    add(R, "nadam", {"lr": 0.05, "beta2": 0.99, "eps": 1e-3, "constant_momentum": True}, S, convention="optax.scale_by_adam(nesterov=True)")
    add(R, "adam", {"lr": 0.05, "amsgrad": True, "amsgrad_bias_corrected": True}, S, 200, convention="optax.scale_by_amsgrad")
    add(R, "adam", {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3, "eps_inside_sqrt": True, "amsgrad": True,
                    "amsgrad_bias_corrected": True}, S, convention="optax.scale_by_amsgrad")
    add(R, "radam", {"lr": 2e-3, "eps": 0.1, "eps_after_bias_correction": True}, S, 200, convention="optax.scale_by_radam")
    add(R, "radam", {"lr": 2e-3, "beta2": 0.99, "threshold": 12.0, "eps_after_bias_correction": True}, S, convention="optax.scale_by_radam")
    add(R, "radam", {"lr": 2e-3, "eps": 1e-3, "eps_inside_sqrt": True, "threshold": 8.0}, S, convention="optax.scale_by_radam")
    add("beale", "rmsprop", {"lr": 1e-2, "alpha": 0.9, "eps": 1e-4, "eps_inside_sqrt": True, "initial_square_avg": 1.0}, [1.0, 1.5],
        convention="optax.scale_by_rms")
    add("beale", "rmsprop", {"lr": 1e-2, "alpha": 0.9, "eps": 1e-3, "initial_square_avg": 0.5}, [1.0, 1.5], convention="optax.scale_by_rms")

    # Arbitrary expressions.
    for i, e in enumerate(EXPRESSIONS):
        for opt, o in [("sgd", {"lr": 0.02, "momentum": 0.9}), ("adam", {"lr": 0.05}), ("rmsprop", {"lr": 0.01, "centered": True}),
                       ("nadam", {"lr": 0.05}), ("lion", {"lr": 0.01}), ("adadelta", {"lr": 1.0}), ("asgd", {"lr": 0.02, "t0": 10.0}),
                       ("rprop", {"lr": 0.01, "step_size_max": 1.0})]:
            add(e, opt, o, [0.7 + 0.1 * i, -0.4 + 0.2 * i], 80)
    # L-BFGS's line search, where torch divides a float by a tensor step length (the reciprocal, then a product): the
    # second case reaches such a division with a different rounding (checked against a true division).
    add(R, "lbfgs", {"strong_wolfe": True, "history_size": 2}, S, 10)
    add("himmelblau", "lbfgs", {"strong_wolfe": True, "max_iter": 5}, [-1.0, -1.0], 10)
    return cases


def matrix_cases():
    """Adafactor and Muon on least squares with a weight of 2 or 3 dimensions: loss = mean((x @ W^T - y)^2), batched over
    leading dimensions, for W of shape [rows, cols] in both orientations (Muon transposes a tall matrix) and [2, 3, 4]."""
    torch.manual_seed(12)
    cases = []

    def add(optimizer, options, shape, steps=30):
        *batch, rows, cols = shape
        x = torch.randn(*batch, 8, cols)
        y = x @ torch.randn(*batch, rows, cols).transpose(-1, -2) + 0.1 * torch.randn(*batch, 8, rows)
        init = 0.5 * torch.randn(*shape)
        w = init.clone().requires_grad_(True)
        opt = make_optimizer(optimizer, [w], options)
        losses = []
        for k in range(steps + 1):
            w.grad = None
            loss = ((x @ w.transpose(-1, -2) - y) ** 2).mean()
            loss.backward()
            losses.append(loss.item())
            if k == steps:
                break
            opt.step()
        cases.append(dict(optimizer=optimizer, options=options, shape=list(shape), inputs=x.flatten().tolist(), targets=y.flatten().tolist(),
                          init=init.flatten().tolist(), steps=steps, losses=losses, final=w.detach().flatten().tolist()))

    for shape in [(3, 5), (5, 3)]:
        add("muon", {}, shape)
        add("muon", {"lr": 0.02}, shape)
        add("muon", {"lr": 0.02, "match_rms_adamw": True}, shape)
        add("muon", {"lr": 0.02, "nesterov": False, "momentum": 0.9, "weight_decay": 0.0}, shape)
        add("muon", {"lr": 0.02, "weight_decay": 2.0, "ns_steps": 3}, shape)
        add("muon", {"lr": 0.02, "ns_a": 2.0, "ns_b": -1.5, "ns_c": 0.5, "eps": 5.0}, shape)
        add("muon", {"lr": 0.01, "maximize": True}, shape, 10)
        add("adafactor", {}, shape)
        add("adafactor", {"lr": 0.02, "beta2_decay": -0.5, "d": 1.2}, shape)
        add("adafactor", {"lr": 0.05, "eps1": 0.05, "eps2": 0.5, "weight_decay": 0.1}, shape)
        add("adafactor", {"lr": 0.05, "maximize": True}, shape, 10)
    add("muon", {"lr": 0.02, "match_rms_adamw": True}, (4, 4))
    add("adafactor", {"lr": 0.05}, (2, 3, 4))
    return cases


def scheduled_trajectory_cases():
    """Optimizer + schedule, including a schedule on a hyperparameter other than lr (OneCycle cycles beta1)."""
    cases = []
    lam = lambda k: 1 / (1 + (k + 1) / 20.0) ** 1.0
    path = trajectory("rosenbrock", "sgd", {"lr": 1.5e-3, "momentum": 0.9}, [-1.5, 2.0], 150,
                      lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lam))
    cases.append(dict(function="rosenbrock", optimizer="sgd", options={"lr": 1.5e-3, "momentum": 0.9}, start=[-1.5, 2.0],
                      steps=150, schedules=[dict(hyperparameter="lr", kind="power_law", initial=1.5e-3, tau=20.0, alpha=1.0)], path=path))
    path = trajectory("rosenbrock", "adam", {"lr": 0.05}, [-1.5, 2.0], 100,
                      lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=100))
    cases.append(dict(function="rosenbrock", optimizer="adam", options={"lr": 0.05}, start=[-1.5, 2.0], steps=100,
                      schedules=[dict(hyperparameter="lr", kind="one_cycle", initial=0.2 / 25, peak=0.2, final=0.2 / 25 / 1e4, total=100),
                                 dict(hyperparameter="beta1", kind="one_cycle", initial=0.95, peak=0.85, final=0.95, total=100)],
                      path=path))
    return cases


def schedule_cases():
    """lr values torch uses at updates 1..N (index k = completed steps) for each scheduler."""
    S = torch.optim.lr_scheduler
    base = 0.1

    def values(make, n, metrics=None, lr=base):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=lr)
        sched = make(opt)
        out = []
        for k in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[k])
        return out

    cases = []

    def add(spec, make, n, metrics=None, lr=base):
        cases.append(dict(spec=spec, values=values(make, n, metrics, lr), metrics=metrics))

    add(dict(kind="step", initial=base, step_size=7, gamma=0.5), lambda o: S.StepLR(o, 7, 0.5), 40)
    add(dict(kind="multi_step", initial=base, milestones=[5, 12, 30], gamma=0.3), lambda o: S.MultiStepLR(o, [5, 12, 30], 0.3), 40)
    add(dict(kind="exponential", initial=base, gamma=0.95), lambda o: S.ExponentialLR(o, 0.95), 60)
    add(dict(kind="polynomial", initial=base, total=20, power=2.0), lambda o: S.PolynomialLR(o, 20, 2.0), 30)
    add(dict(kind="polynomial", initial=base, total=15, power=1.0), lambda o: S.PolynomialLR(o, 15, 1.0), 20)
    # LinearLR alone holds the last value of its ramp, which can be an ulp from lr; Warmup goes on to lr itself.
    add(dict(kind="warmup", steps=10, start_factor=0.25, then=dict(kind="constant", initial=base), exact_updates=10),
        lambda o: S.LinearLR(o, 0.25, 1.0, 10), 20)
    # Long runs with factors that are not powers of two: torch computes these step by step, each value from the one
    # before, and the last bits show whether the same recurrence is walked.
    add(dict(kind="step", initial=base, step_size=3, gamma=0.3), lambda o: S.StepLR(o, 3, 0.3), 100)
    add(dict(kind="multi_step", initial=base, milestones=[2, 3, 7, 50], gamma=0.7), lambda o: S.MultiStepLR(o, [2, 3, 7, 50], 0.7), 60)
    add(dict(kind="exponential", initial=0.03, gamma=0.999), lambda o: S.ExponentialLR(o, 0.999), 2000, lr=0.03)
    add(dict(kind="cosine", initial=base, total=1000, final=1e-4), lambda o: S.CosineAnnealingLR(o, 1000, 1e-4), 1001)
    add(dict(kind="cosine", initial=0.003, total=7, final=0.0), lambda o: S.CosineAnnealingLR(o, 7), 8, lr=0.003)
    add(dict(kind="polynomial", initial=base, total=500, power=0.7), lambda o: S.PolynomialLR(o, 500, 0.7), 501)
    add(dict(kind="warmup", steps=37, start_factor=0.013, then=dict(kind="exponential", initial=base, gamma=0.99)),
        lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.013, 1.0, 37), S.ExponentialLR(o, 0.99)], milestones=[37]), 300)
    # SequentialLR starts a later scheduler with step(0), its closed form at 0, which for a cosine with eta_min can round off lr.
    odd = 0.11352682075954025
    add(dict(kind="warmup", steps=6, start_factor=0.1, then=dict(kind="cosine", initial=odd, total=30, final=0.028957175566429884)),
        lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 6), S.CosineAnnealingLR(o, 30, 0.028957175566429884)], milestones=[6]), 37, lr=odd)
    add(dict(kind="sequence", milestones=[4], parts=[dict(kind="exponential", initial=odd, gamma=0.9),
                                                      dict(kind="cosine", initial=odd, total=20, final=0.028957175566429884)]),
        lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.CosineAnnealingLR(o, 20, 0.028957175566429884)], milestones=[4]), 25, lr=odd)
    add(dict(kind="warmup", steps=9, start_factor=0.0, then=dict(kind="cosine", initial=base, total=40, final=0.0)),
        lambda o: S.SequentialLR(o, [S.LambdaLR(o, lambda k: k / 9), S.CosineAnnealingLR(o, 40)], milestones=[9]), 49)
    add(dict(kind="cosine", initial=base, total=30, final=0.001), lambda o: S.CosineAnnealingLR(o, 30, 0.001), 31)
    add(dict(kind="cosine_restarts", initial=base, period=5, multiplier=2, final=0.01),
        lambda o: S.CosineAnnealingWarmRestarts(o, 5, 2, 0.01), 60)
    add(dict(kind="cosine_restarts", initial=base, period=7, multiplier=1, final=0.0),
        lambda o: S.CosineAnnealingWarmRestarts(o, 7, 1, 0.0), 30)
    for anneal in ["cos", "linear"]:
        for three in [False, True]:
            add(dict(kind="one_cycle", initial=base / 25, peak=base, final=base / 25 / 1e4, total=50, anneal=anneal, three_phase=three),
                lambda o, a=anneal, t=three: S.OneCycleLR(o, max_lr=base, total_steps=50, anneal_strategy=a, three_phase=t), 50)
    add(dict(kind="one_cycle", initial=base / 10, peak=base, final=base / 10 / 100, total=37, pct_start=0.4, anneal="cos", three_phase=False),
        lambda o: S.OneCycleLR(o, max_lr=base, total_steps=37, pct_start=0.4, div_factor=10, final_div_factor=100), 37)
    add(dict(kind="warmup", steps=5, start_factor=0.1, then=dict(kind="cosine", initial=base, total=20, final=0.0)),
        lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5), S.CosineAnnealingLR(o, 20)], milestones=[5]), 25)
    add(dict(kind="sequence", milestones=[10], parts=[dict(kind="exponential", initial=base, gamma=0.9),
                                                       dict(kind="step", initial=base, step_size=5, gamma=0.5)]),
        lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.StepLR(o, 5, 0.5)], milestones=[10]), 30)
    add(dict(kind="power_law", initial=base, tau=10.0, alpha=0.5),
        lambda o: S.LambdaLR(o, lambda k: 1 / (1 + (k + 1) / 10.0) ** 0.5), 40)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.49999, 0.5, 0.51, 0.52, 0.53, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47]
    add(dict(kind="plateau", initial=base, mode="min", factor=0.5, patience=2, threshold=0.01, threshold_mode="rel", cooldown=1, min=0.01),
        lambda o: S.ReduceLROnPlateau(o, "min", 0.5, 2, 0.01, "rel", 1, 0.01), len(metrics), metrics)
    acc = [0.5, 0.6, 0.6, 0.6, 0.62, 0.7, 0.7, 0.7, 0.7, 0.71, 0.71, 0.71, 0.71, 0.71]
    add(dict(kind="plateau", initial=base, mode="max", factor=0.1, patience=1, threshold=0.05, threshold_mode="abs", cooldown=0, min=0.0),
        lambda o: S.ReduceLROnPlateau(o, "max", 0.1, 1, 0.05, "abs", 0, 0.0), len(acc), acc)
    # LambdaLR and MultiplicativeLR with factors the test writes the same way; ConstantLR with its defaults and not.
    add(dict(kind="constant_lr", initial=base, factor=1 / 3, total=5), lambda o: S.ConstantLR(o), 12)
    add(dict(kind="constant_lr", initial=odd, factor=0.7, total=3), lambda o: S.ConstantLR(o, 0.7, 3), 8, lr=odd)
    add(dict(kind="constant_lr", initial=base, factor=0.5, total=0), lambda o: S.ConstantLR(o, 0.5, 0), 4)
    add(dict(kind="multiplicative", initial=odd, gamma=0.97, every=3),
        lambda o: S.MultiplicativeLR(o, lambda k: 0.97 if k % 3 == 0 else 1.0), 40, lr=odd)
    add(dict(kind="lambda", initial=odd, base=0.7, every=4), lambda o: S.LambdaLR(o, lambda k: 0.7 ** (k // 4)), 30, lr=odd)
    # After a handover ConstantLR starts from its closed form, which with total_iters=0 is lr itself.
    add(dict(kind="sequence", milestones=[3], parts=[dict(kind="constant_lr", initial=base, factor=0.5, total=2),
                                                      dict(kind="constant_lr", initial=base, factor=0.7, total=0)]),
        lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.5, 2), S.ConstantLR(o, 0.7, 0)], milestones=[3]), 8)
    # LinearLR step by step: a decay to a tenth, a rise that stops short of lr, its defaults, total_iters 0, and after a handover.
    add(dict(kind="linear_lr", initial=base, start=1.0, end=0.1, total=10), lambda o: S.LinearLR(o, 1.0, 0.1, 10), 14)
    add(dict(kind="linear_lr", initial=odd, start=0.25, end=0.9, total=7), lambda o: S.LinearLR(o, 0.25, 0.9, 7), 10, lr=odd)
    add(dict(kind="linear_lr", initial=base, start=1 / 3, end=1.0, total=5), lambda o: S.LinearLR(o), 8)
    add(dict(kind="linear_lr", initial=base, start=0.5, end=1.0, total=0), lambda o: S.LinearLR(o, 0.5, 1.0, 0), 4)
    add(dict(kind="sequence", milestones=[6], parts=[dict(kind="exponential", initial=odd, gamma=0.9),
                                                      dict(kind="linear_lr", initial=odd, start=1.0, end=0.3, total=9)]),
        lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.LinearLR(o, 1.0, 0.3, 9)], milestones=[6]), 20, lr=odd)
    # MultiStepLR with a milestone given twice multiplies by gamma ** 2 there.
    add(dict(kind="multi_step", initial=odd, milestones=[3, 3, 8], gamma=0.7), lambda o: S.MultiStepLR(o, [3, 3, 8], 0.7), 12, lr=odd)
    # ReduceLROnPlateau on a loss with an absolute threshold (the command line's threshold-mode=abs).
    loss = [1.0, 0.97, 0.9, 0.89, 0.88, 0.8, 0.79, 0.785, 0.7, 0.69, 0.689, 0.688, 0.5]
    add(dict(kind="plateau", initial=base, mode="min", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs", cooldown=0, min=0.0),
        lambda o: S.ReduceLROnPlateau(o, "min", 0.5, 1, 0.05, "abs", 0, 0.0), len(loss), loss)
    return cases


def one_cycle_momentum_cases():
    """OneCycleLR with its default cycle_momentum=True: the rate and the momentum (SGD, switched on from 0) or beta1
    (Adam) torch uses at updates 1..total."""
    cases = []
    for name, options, key in [("sgd", {"lr": 0.1}, "momentum"), ("adam", {"lr": 0.01}, "beta1")]:
        lrs, momenta = rates_and_momenta(name, options, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=options["lr"], total_steps=40))
        cases.append(dict(optimizer=name, lr=options["lr"], steps=40, hyperparameter=key, lrs=lrs, momenta=momenta))
    return cases


def rates_and_momenta(name, options, make, steps=40):
    """The rate and the momentum (SGD) or beta1 (the Adam family) of the first param_group at updates 1..steps under
    the scheduler make(optimizer) builds."""
    p = torch.zeros(1, requires_grad=True)
    opt = TORCH[name]([p], **options)
    sched = make(opt)
    lrs, momenta = [], []
    for _ in range(steps):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        p.grad = torch.ones(1)
        opt.step()
        sched.step()
    return lrs, momenta


def cyclic_cases():
    """CyclicLR: the rate and (with its default cycle_momentum=True) SGD's momentum torch uses at updates 1..steps, for
    `--lr` = max_lr and base_lr = lr / div, as `--schedule` writes it. torch 1.13 cycles momentum only (not Adam's
    beta1), so the Adam case turns it off."""
    S = torch.optim.lr_scheduler
    cases = []
    for name, options, spec, kwargs in [
        ("sgd", {"lr": 0.1}, "cyclic:up=5,down=3", dict(base_lr=0.1 / 4, step_size_up=5, step_size_down=3)),
        ("sgd", {"lr": 0.1, "momentum": 0.5}, "cyclic:up=4,mode=triangular2", dict(base_lr=0.1 / 4, step_size_up=4, mode="triangular2")),
        ("sgd", {"lr": 0.07, "momentum": 0.9}, "cyclic:div=3,up=6,down=2,mode=exp_range,gamma=0.97,base-momentum=0.7,max-momentum=0.95",
         dict(base_lr=0.07 / 3, step_size_up=6, step_size_down=2, mode="exp_range", gamma=0.97, base_momentum=0.7, max_momentum=0.95)),
        ("adam", {"lr": 0.01}, "cyclic:div=10,up=7,cycle-momentum=0", dict(base_lr=0.01 / 10, step_size_up=7, cycle_momentum=False)),
    ]:
        lrs, momenta = rates_and_momenta(name, options, lambda o, kw=kwargs, lr=options["lr"]: S.CyclicLR(o, max_lr=lr, **kw))
        cases.append(dict(optimizer=name, options=options, schedule=spec, steps=40,
                          hyperparameter="momentum" if name == "sgd" else "beta1", lrs=lrs, momenta=momenta))
    return cases


def group_schedule_cases():
    """Two param_groups under one CosineAnnealingLR with eta_min: each group's rates, from its own initial_lr to the shared floor."""
    p, q = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([dict(params=[p]), dict(params=[q], lr=0.01)], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 40, eta_min=0.001)
    rates = [[], []]
    for _ in range(40):
        for g in range(2):
            rates[g].append(opt.param_groups[g]["lr"])
        opt.step()
        sched.step()
    return [dict(lr=0.1, group_lr=0.01, steps=40, schedule="cosine:final=0.001,steps=40", rates=rates)]


def group_case():
    """Several named parameters, parameter groups by name, global-norm clipping, Adam and SGD."""
    torch.manual_seed(0)
    names = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    shapes = [[3, 2], [3], [1, 3], [1]]
    init = [torch.randn(*s) for s in shapes]
    targets = [torch.randn(*s) for s in shapes]
    out = []
    for opt_name, defaults, bias_group, clip in [
        ("adam", {"lr": 0.05, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.0}, 1.0),
        ("sgd", {"lr": 0.05, "momentum": 0.9}, {"lr": 0.2, "nesterov": True}, 0.5),
    ]:
        params = [t.clone().requires_grad_(True) for t in init]
        groups = [dict(params=[params[0], params[2]]), dict(params=[params[1], params[3]], **bias_group)]
        opt = TORCH[opt_name](groups, **defaults)
        norms = []
        for _ in range(60):
            opt.zero_grad()
            loss = sum(((p - t) ** 2 * (i + 1)).sum() + 0.3 * torch.sin(3 * p).sum() for i, (p, t) in enumerate(zip(params, targets)))
            loss.backward()
            norms.append(torch.nn.utils.clip_grad_norm_(params, clip).item())
            opt.step()
        out.append(dict(optimizer=opt_name, defaults=defaults, group_pattern="*.bias", group=bias_group, clip=clip,
                        names=names, shapes=shapes, init=[t.flatten().tolist() for t in init],
                        targets=[t.flatten().tolist() for t in targets], steps=60, norms=norms,
                        final=[p.detach().flatten().tolist() for p in params]))
    return out


def gradient_cases():
    """Values and gradients of every named landscape and the test expressions at a few points."""
    out = []
    points = [(0.3, -0.7), (1.2, 0.4), (-0.5, 1.5), (2.0, -1.0)]
    for fn in list(NAMED) + EXPRESSIONS + ["x^y + y^x", "2^-x^2", "-x^2", "x**3 - 2**y", "1e-1*x + .5*y + 2.5E+1 + 1_000.5e-3"]:
        f = loss_fn(fn)
        for (x0, y0) in points:
            x = torch.tensor(abs(x0) if "x^y" in fn else x0, requires_grad=True)
            y = torch.tensor(abs(y0) if "x^y" in fn else y0, requires_grad=True)
            v = f(x, y)
            v.backward()
            out.append(dict(function=fn, x=x.item(), y=y.item(), value=v.item(), dx=x.grad.item() if x.grad is not None else 0.0,
                            dy=y.grad.item() if y.grad is not None else 0.0))
    return out


def network_cases():
    """Loss and parameter gradients of small MLPs (torch.nn.Sequential of Linear and activations), float64."""
    out = []
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU, "identity": torch.nn.Identity}
    torch.manual_seed(1)
    for act in acts:
        for loss_name in ["cross-entropy", "bce", "mse"]:
            classes = 2 if loss_name == "bce" else 3
            sizes = [4, 6, 5, 1 if loss_name == "bce" else classes]
            layers = []
            for i in range(len(sizes) - 1):
                layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
                if i < len(sizes) - 2:
                    layers.append(acts[act]())
            model = torch.nn.Sequential(*layers).double()
            x = torch.randn(7, sizes[0])
            y = torch.randint(0, classes, (7,))
            z = model(x)
            if loss_name == "cross-entropy":
                loss = torch.nn.functional.cross_entropy(z, y)
            elif loss_name == "bce":
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], y.double())
            else:
                loss = torch.nn.functional.mse_loss(z, torch.nn.functional.one_hot(y, classes).double())
            loss.backward()
            out.append(dict(activation=act, loss=loss_name, sizes=sizes, classes=classes, inputs=x.flatten().tolist(), labels=y.tolist(),
                            value=loss.item(), outputs=z.detach().flatten().tolist(),
                            parameters={f"layers.{k}": v.detach().flatten().tolist() for k, v in model.state_dict().items()},
                            gradients={f"layers.{k}": v.grad.flatten().tolist() for k, v in model.named_parameters()}))
    return out


def erf_cases():
    xs = [-6.5, -3.2, -2.6, -2.5, -1.0, -0.3, 0.0, 1e-8, 0.2, 0.7, 1.5, 2.49, 2.51, 3.7, 5.9, 7.0]
    return [dict(x=x, erf=math.erf(x)) for x in xs]


def main():
    os.makedirs(OUT, exist_ok=True)
    traj = []
    for c in trajectory_cases():
        c["path"] = trajectory(c["function"], c["optimizer"], c["options"], c["start"], c["steps"], convention=c.get("convention"))
        if c["optimizer"] == "asgd":  # the averaged iterate, what ASGD is for
            opt = trajectory.last_optimizer
            c["ax"] = (opt.state[opt.param_groups[0]["params"][0]]["ax"] if not isinstance(opt, Manual) else opt.state[0]["g"]).tolist()
        largest = max(abs(v) for row in c["path"] for v in row)
        assert largest < 1e6, f"case diverges (|value| up to {largest:g}); pick a smaller lr: {c['optimizer']} {c['options']} on {c['function']}"
        traj.append(c)
    data = {
        "generator": "tools/reference/generate.py",
        "torch": torch.__version__,
        "trajectories": traj,
        "scheduled_trajectories": scheduled_trajectory_cases(),
        "matrices": matrix_cases(),
        "schedules": schedule_cases(),
        "one_cycle_momentum": one_cycle_momentum_cases(),
        "group_schedules": group_schedule_cases(),
        "groups": group_case(),
        "gradients": gradient_cases(),
        "networks": network_cases(),
        "erf": erf_cases(),
        "cyclic": cyclic_cases(),
    }
    path = os.path.join(OUT, "torch_reference.json")
    with open(path, "w") as fh:
        json.dump(data, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}: {len(traj)} trajectories, {len(data['schedules'])} schedules")


if __name__ == "__main__":
    main()
