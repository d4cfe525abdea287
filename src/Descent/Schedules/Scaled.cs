namespace Descent.Schedules;

/// <summary>
/// Another schedule's values times a fixed factor: the rate of a parameter group whose own rate is <c>factor</c> times
/// the one the schedule was written for, as PyTorch's <c>LambdaLR</c> scales each group's initial rate by one factor.
/// Its state is the inner schedule's, saved and observed through that schedule, so it keeps none of its own.
/// </summary>
public class Scaled(Schedule schedule, double factor) : Schedule
{
    /// <summary>The schedule scaled.</summary>
    public Schedule Inner { get; } = schedule ?? throw new ArgumentNullException(nameof(schedule));

    /// <summary>The factor on its values.</summary>
    public double Factor { get; } = double.IsFinite(factor) ? factor : throw new ArgumentException($"Invalid factor {factor}: must be a finite number.");

    /// <inheritdoc/>
    public override double At(long step) => Inner.At(step) * Factor;
}
