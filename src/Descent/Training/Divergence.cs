using System.Globalization;

namespace Descent.Training;

/// <summary>
/// Where and how a run diverged, as <see cref="TrainingLoop"/> defines it: a minibatch loss that is not finite or above
/// the loop's <see cref="TrainingLoop.DivergenceThreshold"/>, or weights that stopped being finite.
/// </summary>
/// <param name="Step">
/// The step whose minibatch loss exploded, counted from 1: a loss is computed before its step's update, on the weights
/// the previous update left. For <paramref name="Weights"/>, the update that left weights that are not finite.
/// </param>
/// <param name="Loss">The minibatch loss (NaN for <paramref name="Weights"/>).</param>
/// <param name="Weights">Whether the weights, not the loss, stopped being finite (batch norm can keep the loss finite a while).</param>
/// <param name="LearningRate">The learning rate of the last update before it was seen.</param>
/// <param name="Data">The name of the training set.</param>
public sealed record Divergence(long Step, double Loss, bool Weights, double LearningRate, string Data)
{
    /// <summary>The remedy the library's message gives; a front end words its own (its flag names) through <see cref="Describe"/>.</summary>
    public const string DefaultRemedy = "lower the learning rate or clip the gradients' global norm";

    /// <summary>
    /// One sentence saying what diverged and where, ending with <paramref name="remedy"/> when the learning rate is to
    /// blame. A loss that is not finite before any update comes from the data or the initial weights, not the learning rate.
    /// </summary>
    public string Describe(string remedy = DefaultRemedy)
    {
        string value = Loss.ToString(CultureInfo.InvariantCulture);
        if (Step == 1 && !Weights && !double.IsFinite(Loss))
            return $"The loss is {value} at the start, before any update: the data or the initial weights give a non-finite loss, " +
                $"so no learning rate can help; check {Data} for huge or missing values.";
        string what = Weights ? $"Some weights stopped being finite in update {Step} at learning rate {MetricsRow.Format(LearningRate)}"
            : $"The loss became {value} at step {Step}, after update {Step - 1} at learning rate {MetricsRow.Format(LearningRate)}";
        return $"{what}: the learning rate is probably too high for this model; {remedy}.";
    }
}

/// <summary>A run stopped because it diverged; <see cref="Divergence"/> says where, so a front end can word its own advice.</summary>
public sealed class DivergenceException(Divergence divergence, string note = "") : TrainingException(divergence.Describe() + note)
{
    /// <summary>Where and how the run diverged.</summary>
    public Divergence Divergence { get; } = divergence;

    /// <summary>What was kept (the last good checkpoint), as a sentence starting with a space; empty when nothing was written.</summary>
    public string Note { get; } = note;
}
