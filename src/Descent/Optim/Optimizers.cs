using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// One optimizer as the library, the command line, the playground and the documentation know it: its
/// name, its default options (whose type carries the hyperparameter table and builds the optimizer), and
/// the line the README's optimizer table shows for it.
/// </summary>
/// <param name="Name">The name on the command line and in saved state (<c>sgd</c>, <c>adam</c>, ...).</param>
/// <param name="Defaults">Creates the default options (PyTorch's defaults).</param>
/// <param name="Rule">The update rule in one line, as the README's optimizer table shows it.</param>
public sealed record OptimizerRegistration(string Name, Func<OptimizerOptions> Defaults, string Rule);

/// <summary>
/// The registry of optimizers: adding one is its rule and options (with their hyperparameter table) plus one
/// <see cref="OptimizerRegistration"/> here. Creates optimizers by name, for the command line and for configuration files.
/// </summary>
public static class Optimizers
{
    /// <summary>Every optimizer, in the order they are documented.</summary>
    public static IReadOnlyList<OptimizerRegistration> All { get; } =
    [
        new("sgd", () => new SgdOptions(),
            "`g += wd p`; `buf = g` (first step) or `momentum buf + (1 - dampening) g`; `g = g + momentum buf` if nesterov else `buf`; `p -= lr g`"),
        new("adagrad", () => new AdagradOptions(),
            "`sum += g^2`; `p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(sum) + eps)`"),
        new("rmsprop", () => new RmsPropOptions(),
            "`v = alpha v + (1-alpha) g^2`; centered: `v -= gbar^2`; `d = sqrt(v) + eps`; `buf = momentum buf + g/d; p -= lr buf` or `p -= lr g/d`"),
        new("adam", () => new AdamOptions(),
            "`m = b1 m + (1-b1) g`; `v = b2 v + (1-b2) g^2`; amsgrad: `v = max(vmax, v)`; `p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)`"),
        new("adamw", () => new AdamWOptions(),
            "`p *= 1 - lr wd`, then the Adam step without L2"),
        new("nadam", () => new NAdamOptions(),
            "`mu_t = b1 (1 - 0.5 * 0.96^(t psi))`, `P_t = mu_1...mu_t`; `p -= lr (1-mu_t)/(1-P_t) g/d + lr mu_{t+1}/(1-P_t mu_{t+1}) m/d`"),
        new("radam", () => new RAdamOptions(),
            "rectified Adam: while `rho_t <= threshold`, `p -= lr m/(1-b1^t)`; after, Adam's step times the rectification `r_t`"),
        new("adamax", () => new AdamaxOptions(),
            "`u = max(b2 u, abs(g) + eps)`; `p -= lr/(1-b1^t) * m/u`"),
        new("lion", () => new LionOptions(),
            "`p *= 1 - lr wd`; `p -= lr sign(b1 m + (1-b1) g)`; `m = b2 m + (1-b2) g`"),
        new("adadelta", () => new AdadeltaOptions(),
            "`v = rho v + (1-rho) g^2`; `delta = sqrt(u + eps)/sqrt(v + eps) g`; `u = rho u + (1-rho) delta^2`; `p -= lr delta`"),
        new("asgd", () => new AsgdOptions(),
            "`p *= 1 - lambd eta`; `p -= eta g`; `ax += mu (p - ax)`; `eta = lr/(1 + lambd lr t)^alpha`, `mu = 1/max(1, t - t0)`"),
        new("rprop", () => new RpropOptions(),
            "`step *= etaplus` while `g` keeps its sign, `etaminus` when it flips (then `g = 0`), clamped to the step-size range; `p -= sign(g) step`"),
        new("lbfgs", () => new LbfgsOptions(),
            "per step (a closure): up to `max_iter` quasi-Newton iterations `d = -H g` from the last `history_size` pairs, step `lr` or a strong-Wolfe line search"),
        new("schedule-free-sgd", () => new ScheduleFreeSgdOptions(),
            "`y = lerp(y, z, c_t) + lr (momentum (1 - c_t) - 1) g`; `z -= lr g`; evaluate at `x = y + (1 - 1/momentum)(z - y)`; `c_t = w_t / sum w`, `w_t = t^r lr_max^weight_lr_power`"),
        new("schedule-free-adamw", () => new ScheduleFreeAdamWOptions(),
            "schedule-free SGD on `n = g / (sqrt(v / (1-b2^t)) + eps) + wd y`, with `beta1` as the interpolation"),
        new("adopt", () => new AdoptOptions(),
            "`n = clip(g / max(sqrt(v_prev), eps), t^0.25)`; `v = b2 v + (1-b2) g^2`; `m = b1 m + (1-b1) n`; `p -= lr m` (the first step only sets `v = g^2`)"),
        new("lamb", () => new LambOptions(),
            "`u = m_hat / (sqrt(v_hat + eps_root) + eps) + wd p`; `p -= lr norm(p)/norm(u) u` per tensor"),
        new("lars", () => new LarsOptions(),
            "`u = g + wd p`; `s = lr tc norm(p)/(norm(u) + eps) u` per tensor; `buf = momentum buf + s`; `p -= buf`"),
        new("prodigy", () => new ProdigyOptions(),
            "Adam with step `d lr`: `m = b1 m + d(1-b1) g`, `v = b2 v + d^2(1-b2) g^2`; `d` grows to `d_coef sum (d/d0) dlr g.(p0 - p) / sum abs(s)`, `s = b3 s + (d/d0) dlr g`; `p -= d lr m/(sqrt(v) + d eps)`"),
        new("adafactor", () => new AdafactorOptions(),
            "`p *= 1 - lr wd`; second moment `v` (row and column averages for matrices, `v = r c / mean(r)`; in full for vectors) moved by `t^beta2_decay`; `u = g / sqrt(max(v, eps1^2))`; `p -= max(eps2, RMS(p)) min(lr, 1/sqrt(t)) u / max(1, RMS(u)/d)`; eps1 0 is torch's None (machine epsilon)"),
        new("muon", () => new MuonOptions(),
            "2-D weights only: `buf = lerp(buf, g, 1 - momentum)`; `u = lerp(g, buf, momentum)` (nesterov); `O` = 5 bfloat16 Newton-Schulz steps on `u/max(norm(u), eps)`; `p *= 1 - lr wd`; `p -= lr sqrt(max(1, rows/cols)) O` (match_rms_adamw: `lr 0.2 sqrt(max(rows, cols))`)"),
        new("soap", () => new SoapOptions(),
            "Adam in the eigenbasis of Shampoo's preconditioner: `GG_k = lerp(GG_k, G_(k) G_(k)^T, 1 - shampoo_beta)` per dimension, `Q_k` its eigenvectors (eigh, then every `precondition_frequency` steps one power iteration and QR); `g' = Q^T g Q`; Adam's `m`, `v` on `g'`; `p -= lr sqrt(1-b2^t)/(1-b1^t) Q (m/(sqrt(v) + eps)) Q^T`; `p -= lr wd p`; the first step only starts `GG`"),
        new("shampoo", () => new ShampooOptions(),
            "per block (dimensions merged up to, and split at, `max_preconditioner_dim`): `L_k = beta2 L_k + (1-beta2) G_(k) G_(k)^T` per dimension (a sum at beta2 1); every `precondition_frequency` steps `X_k = (L_k/(1-beta2^t) + epsilon I)^(-1/(2 order))` by eigh; `gbar = F/(1-b1^t)`, `F = lerp(F, g, 1-b1)`; `P = gbar x_k X_k` rescaled to the norm of Adam's `gbar/(sqrt(v_hat) + grafting_epsilon)` (that direction itself before `start_preconditioning_step`); `p -= lr (P + wd p)`"),
    ];

    private static readonly Dictionary<string, OptimizerRegistration> ByName = All.ToDictionary(r => r.Name, StringComparer.Ordinal);
    private static readonly Dictionary<Type, string> NameByType = All.ToDictionary(r => r.Defaults().GetType(), r => r.Name);

    /// <summary>The optimizer names, as on the command line.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(r => r.Name)];

    /// <summary>The registration of the optimizer called <paramref name="name"/>, or an error listing the names (<see cref="Unknown"/>).</summary>
    public static OptimizerRegistration Get(string name) => ByName.TryGetValue(name, out var r) ? r : throw Unknown(name, Names);

    /// <summary>
    /// The error for an optimizer name that is not one of <paramref name="choices"/>: it lists them and, when the name is
    /// a few edits from one (a typo such as <c>adma</c>), names that one first.
    /// </summary>
    public static ArgumentException Unknown(string name, IReadOnlyList<string> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        string? nearest = Nearest(name ?? "", choices);
        return new ArgumentException($"Unknown optimizer '{name}'{(nearest is null ? "" : $" (did you mean '{nearest}'?)")}: choose one of {string.Join(", ", choices)}.");
    }

    /// <summary>
    /// The choice fewest edits from <paramref name="name"/> (insertions, deletions, substitutions and swaps of neighbours,
    /// ignoring case, so a name that differs only in case gets its spelling; the first listed on a tie), if it is within a third of the name's length.
    /// </summary>
    private static string? Nearest(string name, IEnumerable<string> choices)
    {
        string? best = null;
        int bestDistance = Math.Max(1, name.Length / 3) + 1;
        foreach (var choice in choices)
        {
            int d = EditDistance(name.ToLowerInvariant(), choice.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (choice, d);
        }
        return best;
    }

    /// <summary>The optimal-string-alignment distance: Levenshtein's, with a swap of two neighbouring characters as one edit.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>Default hyperparameters of the optimizer called <paramref name="name"/>.</summary>
    public static OptimizerOptions DefaultOptions(string name) => Get(name).Defaults();

    /// <summary>Creates the optimizer called <paramref name="name"/> with <paramref name="options"/> (from <see cref="DefaultOptions"/>).</summary>
    public static Optimizer<T> Create<T>(string name, IEnumerable<Parameter<T>> parameters, OptimizerOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var registration = Get(name);
        options ??= registration.Defaults();
        if (options.GetType() != registration.Defaults().GetType())
            throw new ArgumentException($"Options of type {options.GetType().Name} do not belong to optimizer '{name}'.");
        return options.Create(parameters);
    }

    /// <summary>
    /// The README's optimizer table, generated from the registrations and their hyperparameter tables:
    /// each optimizer's real-valued defaults and the switches that are on by default, and its rule.
    /// </summary>
    internal static string MarkdownTable()
    {
        var text = new System.Text.StringBuilder("| name | default hyperparameters | rule |\n|---|---|---|\n");
        foreach (var r in All)
        {
            var o = r.Defaults();
            var defaults = o.Hyperparameters
                .Where(h => h.Kind != HyperparameterKind.Flag || h.Get(o) != 0)
                .Select(h => h.Kind == HyperparameterKind.Flag ? $"{h.Name} on" : $"{h.Name} {Format(h.Get(o))}");
            text.Append($"| `{r.Name}` | {string.Join(", ", defaults)} | {r.Rule} |\n");
        }
        return text.ToString();

        static string Format(double v) => v != 0 && (Math.Abs(v) <= 0.01 || Math.Abs(v) >= 1e5)
            ? v.ToString("0.###e0", System.Globalization.CultureInfo.InvariantCulture)
            : Descent.Numerics.RoundTrip.Format(v);
    }

    /// <summary>The name of the optimizer whose options type <paramref name="options"/> is (or derives from).</summary>
    internal static string NameOf(OptimizerOptions options)
    {
        for (var type = options.GetType(); type is not null; type = type.BaseType)
            if (NameByType.TryGetValue(type, out var name)) return name;
        throw new ArgumentException($"Options of type {options.GetType().Name} belong to no registered optimizer.");
    }
}
