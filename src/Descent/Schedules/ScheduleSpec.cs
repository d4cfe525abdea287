using System.Globalization;

namespace Descent.Schedules;

/// <summary>
/// Schedules written as text, for the command line and configuration files: <c>NAME[:key=value,...]</c>
/// with the initial value supplied by the caller (the learning rate). Names and keys:
/// <c>constant</c>; <c>power:tau=T,alpha=A</c>; <c>step:size=S,gamma=G</c>;
/// <c>multistep:milestones=M1;M2;...,gamma=G</c>; <c>exponential:gamma=G</c>;
/// <c>polynomial:power=P,final=F,steps=T</c>; <c>cosine:final=F,steps=T</c>;
/// <c>restarts:period=T0,mult=M,final=F</c>; <c>onecycle:pct=P,div=D,final-div=F,steps=T</c>;
/// <c>plateau:factor=F,patience=P,threshold=T,cooldown=C,min=M</c>. <c>steps</c> defaults to the run's length.
/// </summary>
public static class ScheduleSpec
{
    /// <summary>The schedule names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["constant", "power", "step", "multistep", "exponential", "polynomial", "cosine", "restarts", "onecycle", "plateau"];

    /// <summary>Builds the schedule <paramref name="spec"/> starting from <paramref name="initial"/>, optionally behind a linear warmup of <paramref name="warmup"/> steps.</summary>
    public static Schedule Parse(string spec, double initial, long totalSteps, long warmup = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.IndexOf(':');
        string name = (colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant();
        var args = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (colon >= 0)
        {
            foreach (var part in spec[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"Invalid schedule '{spec}': '{part}' should be key=value.");
                args[part[..eq].Trim()] = part[(eq + 1)..].Trim();
            }
        }
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        long span = Math.Max(1, totalSteps - warmup);
        double D(string key, double fallback)
        {
            used.Add(key);
            if (!args.TryGetValue(key, out var text)) return fallback;
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
                : throw new ArgumentException($"Invalid schedule '{spec}': {key}={text} is not a number.");
        }
        long L(string key, long fallback) => checked((long)D(key, fallback));
        Schedule schedule = name switch
        {
            "constant" => new Constant(initial),
            "power" => new PowerLaw(initial, D("tau", 5e4), D("alpha", 1)),
            "step" => new StepDecay(initial, L("size", Math.Max(1, span / 3)), D("gamma", 0.1)),
            "multistep" => new MultiStep(initial, Milestones(), D("gamma", 0.1)),
            "exponential" => new Exponential(initial, D("gamma", 0.999)),
            "polynomial" => new Polynomial(initial, L("steps", span), D("power", 1), D("final", 0)),
            "cosine" => new CosineDecay(initial, L("steps", span), D("final", 0)),
            "restarts" => new CosineWarmRestarts(initial, L("period", Math.Max(1, span / 4)), L("mult", 1), D("final", 0)),
            "onecycle" => OneCycle.LearningRate(initial, Math.Max(2, L("steps", span)), D("pct", 0.3), D("div", 25), D("final-div", 1e4)),
            "plateau" => new ReduceOnPlateau(initial, PlateauMode.Min, D("factor", 0.1), L("patience", 10), D("threshold", 1e-4),
                ThresholdMode.Relative, L("cooldown", 0), D("min", 0)),
            _ => throw new ArgumentException($"Unknown schedule '{name}': choose one of {string.Join(", ", Names)}."),
        };
        var unknown = args.Keys.Where(k => !used.Contains(k) && !(name == "multistep" && k.Equals("milestones", StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Invalid schedule '{spec}': {name} has no parameter '{unknown[0]}'.");
        return warmup > 0 ? new Warmup(warmup, schedule) : schedule;

        IEnumerable<long> Milestones()
        {
            if (!args.TryGetValue("milestones", out var text))
                throw new ArgumentException($"Invalid schedule '{spec}': multistep needs milestones=M1;M2;...");
            return text.Split(';').Select(m => long.TryParse(m, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v
                : throw new ArgumentException($"Invalid schedule '{spec}': milestone '{m}' is not a whole number."));
        }
    }
}
