using Descent.Numerics;
using System.Globalization;

namespace Descent.Schedules;

/// <summary>
/// Schedules written as text, for the command line and configuration files: <c>NAME[:key=value,...]</c>
/// with the initial value supplied by the caller (the learning rate). Names and keys:
/// <c>constant</c>; <c>power:tau=T,alpha=A</c>; <c>step:size=S,gamma=G</c>;
/// <c>multistep:milestones=M1;M2;...,gamma=G</c>; <c>exponential:gamma=G</c>;
/// <c>polynomial:power=P,final=F,steps=T</c>; <c>cosine:final=F,steps=T</c>; <c>wsd:decay=D,final=F,steps=T</c> and <c>wsd-sqrt</c>;
/// <c>restarts:period=T0,mult=M,final=F</c>; <c>onecycle:pct=P,div=D,final-div=F,steps=T,anneal=cos|linear,three-phase=0|1,cycle-momentum=1,base-momentum=B,max-momentum=M</c>
/// and <c>cyclic:div=D,up=U,down=D,mode=triangular|triangular2|exp_range,gamma=G,cycle-momentum=1,base-momentum=B,max-momentum=M</c>
/// (which also move momentum or beta1, see <see cref="Momentum"/>);
/// <c>plateau:factor=F,patience=P,threshold=T,threshold-mode=rel|abs,cooldown=C,min=M,eps=E</c>. <c>steps</c> defaults to the run's length.
/// </summary>
public static class ScheduleSpec
{
    /// <summary>
    /// A key of a schedule: its default is <paramref name="Default"/>, or, when <paramref name="RunDivisor"/> is
    /// above 0, the run's length after warmup divided by it (whole steps, at least 1), or the value of key
    /// <paramref name="As"/>; a key with <paramref name="Choices"/> takes one of those words, the first by default.
    /// </summary>
    private sealed record Key(string Name, double Default = 0, long RunDivisor = 0, string? As = null, string[]? Choices = null)
    {
        public string DefaultText => Choices?[0] ?? As ?? RunDivisor switch
        {
            0 => Default.ToString(CultureInfo.InvariantCulture),
            1 => "run length",
            _ => $"run length / {RunDivisor}",
        };
    }

    /// <summary>
    /// One schedule: its name, its value at update t in words, its keys, how it is built from them, and the momentum (or
    /// beta1) schedule its torch class sets beside the rate, if any (the keys decide; null for none).
    /// </summary>
    private sealed record Form(string Name, string Value, Key[] Keys, Func<Arguments, Schedule> Create, Func<Arguments, Schedule?>? Momentum = null);

    /// <summary>The values given (or defaulted) for one schedule.</summary>
    private sealed class Arguments(string spec, double initial, long span, Dictionary<string, string> given, Key[] keys)
    {
        public double Initial => initial;

        public double D(string key)
        {
            var k = keys.Single(k => k.Name == key);
            if (!given.TryGetValue(key, out var text)) return k.As is not null ? D(k.As) : k.RunDivisor > 0 ? Math.Max(1, span / k.RunDivisor) : k.Default;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                throw new ArgumentException($"Invalid schedule '{spec}': {key}={text} is not a number.");
            // Values that would make the learning rate negative or infinite, refused here rather than at the update that meets them.
            string? domain = key switch
            {
                "gamma" or "final" when v < 0 => "at least 0 (a negative value makes the learning rate negative)",
                "div" or "final-div" when v <= 0 => "above 0 (the learning rate is divided by it)",
                "cycle-momentum" when v is not (0 or 1) => "0 or 1 (1 moves momentum or beta1 against the rate, as torch's cycle_momentum=True)",
                "three-phase" when v is not (0 or 1) => "0 or 1 (1 is torch's three_phase=True)",
                "base-momentum" or "max-momentum" when v is < 0 or >= 1 => "in [0, 1) (it becomes the optimizer's momentum or beta1)",
                _ => null,
            };
            return domain is null ? v : throw new ArgumentException($"Invalid schedule '{spec}': {key}={text} must be {domain}.");
        }

        /// <summary>A count of steps or evaluations: a whole number, refused otherwise (torch's step counts are too).</summary>
        public long L(string key)
        {
            double v = D(key);
            return v == Math.Floor(v) && Math.Abs(v) <= 1e15 ? (long)v
                : throw new ArgumentException($"Invalid schedule '{spec}': {key}={(given.TryGetValue(key, out var text) ? text : RoundTrip.Format(v))} must be a whole number (of at most 10^15).");
        }

        /// <summary>The word given for a key with choices, or its first choice.</summary>
        public string Word(string key)
        {
            var choices = keys.Single(k => k.Name == key).Choices!;
            if (!given.TryGetValue(key, out var text)) return choices[0];
            return choices.FirstOrDefault(c => c.Equals(text, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"Invalid schedule '{spec}': {key}={text} must be one of {string.Join(", ", choices)}.");
        }

        /// <summary>The value of <paramref name="key"/> as text that parses back to it (milestones as given).</summary>
        public string Text(string key) => key == "milestones" ? given[key]
            : keys.Single(k => k.Name == key).Choices is not null ? Word(key) : RoundTrip.Format(D(key));

        /// <summary>The interpolation of <c>onecycle</c>.</summary>
        public Anneal Anneal() => Word("anneal") == "linear" ? Schedules.Anneal.Linear : Schedules.Anneal.Cosine;

        /// <summary>The mode of <c>cyclic</c>.</summary>
        public CyclicMode Mode() => Word("mode") switch
        {
            "triangular" => CyclicMode.Triangular,
            "triangular2" => CyclicMode.Triangular2,
            _ => CyclicMode.ExpRange,
        };

        public IEnumerable<long> Milestones()
        {
            if (!given.TryGetValue("milestones", out var text))
                throw new ArgumentException($"Invalid schedule '{spec}': multistep needs milestones=M1;M2;...");
            return text.Split(';').Select(m => long.TryParse(m, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v
                : throw new ArgumentException($"Invalid schedule '{spec}': milestone '{m}' is not a whole number."));
        }
    }

    private static readonly Form[] Forms =
    [
        new("constant", "lr", [], a => new Constant(a.Initial)),
        new("power", "lr / (1 + t/tau)^alpha", [new("tau", 5e4), new("alpha", 1)], a => new PowerLaw(a.Initial, a.D("tau"), a.D("alpha"))),
        new("step", "lr gamma^floor((t-1)/size)", [new("size", RunDivisor: 3), new("gamma", 0.1)], a => new StepDecay(a.Initial, a.L("size"), a.D("gamma"))),
        new("multistep", "lr gamma^(milestones passed)", [new("milestones"), new("gamma", 0.1)], a => new MultiStep(a.Initial, a.Milestones(), a.D("gamma"))),
        new("exponential", "lr gamma^(t-1)", [new("gamma", 0.999)], a => new Exponential(a.Initial, a.D("gamma"))),
        new("polynomial", "from lr to final as (1 - (t-1)/steps)^power", [new("power", 1), new("final", 0), new("steps", RunDivisor: 1)],
            a => new Polynomial(a.Initial, a.L("steps"), a.D("power"), a.D("final"))),
        new("cosine", "half a cosine from lr to final over steps, then final (where torch's CosineAnnealingLR would rise again)", [new("final", 0), new("steps", RunDivisor: 1)], a => new CosineDecay(a.Initial, a.L("steps"), a.D("final"))),
        new("restarts", "cosine from lr to final, restarting after period, period x mult, ...", [new("period", RunDivisor: 4), new("mult", 1), new("final", 0)],
            a => new CosineWarmRestarts(a.Initial, a.L("period"), a.L("mult"), a.D("final"))),
        new("onecycle", "from lr/div up to lr over pct of steps, then down to lr/(div final-div) (three-phase=1: back to lr/div over as many steps first), along half cosines (anneal=linear: straight lines); momentum (or beta1) from max-momentum down to base-momentum and back, unless cycle-momentum=0",
            [new("pct", 0.3), new("div", 25), new("final-div", 1e4), new("steps", RunDivisor: 1), new("anneal", Choices: ["cos", "linear"]), new("three-phase", 0),
             new("cycle-momentum", 1), new("base-momentum", 0.85), new("max-momentum", 0.95)],
            a => OneCycle.LearningRate(a.Initial, Math.Max(2, a.L("steps")), a.D("pct"), a.D("div"), a.D("final-div"), a.Anneal(), a.D("three-phase") == 1),
            a => a.D("cycle-momentum") == 0 ? null : new OneCycle(a.D("max-momentum"), a.D("base-momentum"), a.D("max-momentum"), Math.Max(2, a.L("steps")), a.D("pct"),
                a.Anneal(), a.D("three-phase") == 1)),
        new("cyclic", "in a straight line from lr/div up to lr over up steps and back over down, cycle after cycle (mode triangular: every cycle alike; triangular2: each cycle half as high; exp_range: the height times gamma^(t-1)); momentum (or beta1) from max-momentum down to base-momentum and back, unless cycle-momentum=0",
            [new("div", 4), new("up", RunDivisor: 8), new("down", As: "up"), new("mode", Choices: ["triangular", "triangular2", "exp_range"]), new("gamma", 1),
             new("cycle-momentum", 1), new("base-momentum", 0.8), new("max-momentum", 0.9)],
            a => new Cyclic(a.Initial / a.D("div"), a.Initial, a.L("up"), a.L("down"), a.Mode(), a.D("gamma")),
            a => a.D("cycle-momentum") == 0 ? null : new Cyclic(a.D("max-momentum"), a.D("base-momentum"), a.L("up"), a.L("down"), a.Mode(), a.D("gamma"))),
        new("wsd", "lr until the last decay fraction of steps, then linearly to final (put --warmup in front)", [new("decay", 0.2), new("final", 0), new("steps", RunDivisor: 1)],
            a => new WarmupStableDecay(a.Initial, a.L("steps"), a.D("decay"), Cooldown.Linear, a.D("final"))),
        new("wsd-sqrt", "as wsd, cooling down as 1 - sqrt of the cooldown's progress", [new("decay", 0.2), new("final", 0), new("steps", RunDivisor: 1)],
            a => new WarmupStableDecay(a.Initial, a.L("steps"), a.D("decay"), Cooldown.OneMinusSqrt, a.D("final"))),
        new("plateau", "lr factor^reductions, reduced when the test loss stalls for patience evaluations (no lower by threshold, relative or, with threshold-mode=abs, absolute); a reduction smaller than eps is skipped",
            [new("factor", 0.1), new("patience", 10), new("threshold", 1e-4), new("threshold-mode", Choices: ["rel", "abs"]), new("cooldown", 0), new("min", 0), new("eps", 1e-8)],
            a => new ReduceOnPlateau(a.Initial, PlateauMode.Min, a.D("factor"), a.L("patience"), a.D("threshold"),
                a.Word("threshold-mode") == "abs" ? ThresholdMode.Absolute : ThresholdMode.Relative, a.L("cooldown"), a.D("min"), a.D("eps"))),
    ];

    /// <summary>The schedule names.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Forms.Select(f => f.Name)];

    /// <summary>
    /// One line per schedule: its syntax with every key's default, and its value at update t, e.g.
    /// <c>exponential:gamma=0.999  lr gamma^(t-1)</c>.
    /// </summary>
    public static IReadOnlyList<string> Syntax { get; } =
        [.. Forms.Select(f => (f.Keys.Length == 0 ? f.Name : $"{f.Name}:{string.Join(',', f.Keys.Select(k => k.Name == "milestones" ? "milestones=M1;M2;..." : $"{k.Name}={k.DefaultText}"))}") + "  " + f.Value)];

    /// <summary>Builds the schedule <paramref name="spec"/> starting from <paramref name="initial"/>, optionally behind a linear warmup of <paramref name="warmup"/> steps.</summary>
    public static Schedule Parse(string spec, double initial, long totalSteps, long warmup = 0)
    {
        var (form, arguments) = Read(spec, initial, totalSteps, warmup);
        var schedule = form.Create(arguments);
        return warmup > 0 ? new Warmup(warmup, schedule) : schedule;
    }

    /// <summary>
    /// The schedule that <paramref name="spec"/> gives momentum (beta1 for the Adam family) beside the learning rate, or
    /// null: <c>onecycle</c> and <c>cyclic</c> move it as torch's <c>OneCycleLR</c> and <c>CyclicLR</c> do by default
    /// (<c>cycle_momentum=True</c>), from <c>max-momentum</c> down to <c>base-momentum</c> while the rate rises and back
    /// while it falls, replacing the optimizer's own value (an SGD at momentum 0 gets momentum); behind a warmup it
    /// holds <c>max-momentum</c>, which torch's scheduler sets when it is built. (torch 1.13's <c>CyclicLR</c> cycles momentum only; beta1 follows the
    /// cycle as in later versions.)
    /// </summary>
    public static Schedule? Momentum(string spec, long totalSteps, long warmup = 0)
    {
        var (form, arguments) = Read(spec, 0, totalSteps, warmup);
        if (form.Momentum?.Invoke(arguments) is not { } momentum) return null;
        return warmup > 0 ? new Sequence([new Constant(momentum.At(1)), momentum], [warmup]) : momentum;
    }

    /// <summary>
    /// A resolved schedule as an earlier version wrote it into a run's configuration, read as that version ran it:
    /// <c>onecycle</c> written without <c>cycle-momentum</c> moved no momentum then, so it reads as <c>cycle-momentum=0</c>
    /// (a run resumed keeps its momentum). Every other spec is returned as it is.
    /// </summary>
    public static string FromEarlierVersion(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.IndexOf(':');
        bool oneCycle = colon > 0 && spec[..colon].Trim().Equals("onecycle", StringComparison.OrdinalIgnoreCase);
        return oneCycle && !spec.Contains("cycle-momentum", StringComparison.OrdinalIgnoreCase) ? spec + ",cycle-momentum=0" : spec;
    }

    /// <summary>
    /// <paramref name="spec"/> with every key written out, defaults included (<c>cosine</c> for a run of 1,000
    /// steps is <c>cosine:final=0,steps=1000</c>): the same schedule whatever the run's length becomes, so a
    /// resumed, extended run keeps the schedule it started with and its saved configuration says which.
    /// </summary>
    public static string Resolve(string spec, long totalSteps, long warmup = 0)
    {
        var (form, arguments) = Read(spec, 0, totalSteps, warmup);
        form.Create(arguments);   // validates the values
        return form.Keys.Length == 0 ? form.Name
            : $"{form.Name}:{string.Join(',', form.Keys.Select(k => $"{k.Name}={arguments.Text(k.Name)}"))}";
    }

    /// <summary>
    /// For a name holding a ',' or '=' (there is no ':' before them, or they would be keys): the keys follow the name after
    /// a ':' (<c>cosine,final=0</c> is <c>cosine:final=0</c>); empty for any other unknown name.
    /// </summary>
    private static string SeparatorHint(string name)
    {
        int cut = name.IndexOfAny([',', '=']);
        if (cut < 0) return "";
        string example = name[cut] == ',' && cut > 0 ? $"{name[..cut].Trim()}:{name[(cut + 1)..].Trim()}" : "cosine:final=0";
        return $"a schedule's name and its keys are separated by ':', as in {example}; ";
    }

    private static (Form Form, Arguments Arguments) Read(string spec, double initial, long totalSteps, long warmup)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.IndexOf(':');
        string name = (colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant();
        var given = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (colon >= 0)
        {
            foreach (var part in spec[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"Invalid schedule '{spec}': '{part}' should be key=value.");
                given[part[..eq].Trim()] = part[(eq + 1)..].Trim();
            }
        }
        var form = Forms.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"Unknown schedule '{name}': {SeparatorHint(name)}choose one of {string.Join(", ", Names)}.");
        var unknown = given.Keys.FirstOrDefault(k => !form.Keys.Any(key => key.Name.Equals(k, StringComparison.OrdinalIgnoreCase)));
        if (unknown is not null)
            throw new ArgumentException($"Invalid schedule '{spec}': {name} has no parameter '{unknown}'" +
                (form.Keys.Length == 0 ? "." : $"; its parameters are {string.Join(", ", form.Keys.Select(k => k.Name))}."));
        return (form, new Arguments(spec, initial, Math.Max(1, totalSteps - warmup), given, form.Keys));
    }
}
