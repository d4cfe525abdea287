namespace Descent.Optim;

/// <summary>
/// Hyperparameters shared by the schedule-free optimizers (Defazio et al. 2024, "The Road Less Scheduled";
/// the reference is facebookresearch/schedule_free): the averaging weights, the built-in warmup and weight decay.
/// </summary>
public abstract class ScheduleFreeOptions : OptimizerOptions
{
    /// <summary>Weight decay <c>weight_decay</c>, evaluated at <c>y</c> and added to the (normalized) gradient, so both <c>y</c> and <c>z</c> shrink.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Linear warmup <c>warmup_steps</c>: update <c>k</c> (from 1) uses <c>lr * min(1, k / warmup_steps)</c> (a whole number).</summary>
    public double WarmupSteps { get; set; }

    /// <summary>Polynomial weighting <c>r</c> of the average: update <c>k</c> weighs <c>k^r lr_max^weight_lr_power</c>.</summary>
    public double R { get; set; }

    /// <summary>Power <c>weight_lr_power</c> of the largest learning rate so far in the averaging weight (0: no weighting).</summary>
    public double WeightLrPower { get; set; } = 2;

    /// <summary>The interpolation <c>y = (1 - beta) z + beta x</c>: SGD's <c>momentum</c>, AdamW's <c>beta1</c>.</summary>
    internal abstract double Interpolation { get; }

    /// <summary>The averaging hyperparameters: <c>weight_decay</c>, <c>warmup_steps</c>, <c>r</c>, <c>weight_lr_power</c>.</summary>
    protected static IEnumerable<Hyperparameter> Averaging() =>
    [
        Hyperparameter.Real<ScheduleFreeOptions>("weight_decay", Interval.NonNegative,
            "weight decay at y, added to the (normalized) gradient", o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Count<ScheduleFreeOptions>("warmup_steps", Interval.NonNegative,
            "updates of linear warmup inside the optimizer", o => o.WarmupSteps, (o, v) => o.WarmupSteps = v),
        Hyperparameter.Real<ScheduleFreeOptions>("r", Interval.NonNegative,
            "power of the step number in the averaging weight", o => o.R, (o, v) => o.R = v),
        Hyperparameter.Real<ScheduleFreeOptions>("weight_lr_power", Interval.NonNegative,
            "power of the largest learning rate so far in the averaging weight", o => o.WeightLrPower, (o, v) => o.WeightLrPower = v),
    ];

    /// <summary>The interpolation entry's interval: <c>(0, 1)</c>, because evaluation divides by it.</summary>
    protected static Interval OpenUnit => new(0, false, 1, false);

}
