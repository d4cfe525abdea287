namespace Descent.Training;

/// <summary>A suggested learning rate and the point of the loss curve it was read from (where a figure marks it).</summary>
/// <param name="LearningRate">The suggested learning rate.</param>
/// <param name="PointLr">The learning rate of the marked point (the minimum's suggestion is a tenth of it).</param>
/// <param name="PointLoss">The smoothed loss at the marked point.</param>
public sealed record LearningRateSuggestion(double LearningRate, double PointLr, double PointLoss);

/// <summary>What a range test measured and suggests.</summary>
/// <param name="LearningRates">The learning rate of each iteration run.</param>
/// <param name="Losses">The minibatch loss of each iteration, before its update.</param>
/// <param name="SmoothedLosses">The debiased exponential moving average of <paramref name="Losses"/>.</param>
/// <param name="Stop">Why the test ended: <c>end</c> (all iterations run), <c>diverged</c> (the smoothed loss passed the stop factor times its minimum) or <c>not finite</c> (a minibatch loss was NaN or infinite; that iteration is not recorded).</param>
/// <param name="Steepest">The rate where the smoothed loss falls fastest against log10 of the rate.</param>
/// <param name="Minimum">A tenth of the rate at the smoothed loss's minimum.</param>
public sealed record LearningRateFinderResult(double[] LearningRates, double[] Losses, double[] SmoothedLosses, string Stop,
    LearningRateSuggestion Steepest, LearningRateSuggestion Minimum);
