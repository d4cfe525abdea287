namespace Descent.Training;

/// <summary>One parameter group of a <see cref="TrainingConfig"/>: a name pattern and the hyperparameters it overrides.</summary>
public sealed record ParameterGroupConfig
{
    /// <summary>A glob over parameter names (<c>*</c> any run of characters, <c>?</c> one character), e.g. <c>layers.0.*</c>.</summary>
    public string Pattern { get; init; } = "";

    /// <summary>Hyperparameters by PyTorch name (<c>lr</c>, <c>weight_decay</c>, ...); the rest are the run's.</summary>
    public Dictionary<string, double> Hyperparameters { get; init; } = [];
}
