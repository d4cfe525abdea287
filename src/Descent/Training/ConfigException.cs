namespace Descent.Training;

/// <summary>
/// A <see cref="TrainingConfig"/> setting that cannot be used; the message says why and what to choose, and
/// <see cref="Setting"/> names the config property (and <see cref="ConflictsWith"/> the other of two that cannot be combined), so a
/// front end (the command line, the playground) can name its own control for it.
/// </summary>
public sealed class ConfigException(string message, string setting, string? conflictsWith = null) : ArgumentException(message)
{
    /// <summary>The <see cref="TrainingConfig"/> property to change, e.g. <c>Warmup</c>.</summary>
    public string Setting { get; } = setting;

    /// <summary>When the problem is <see cref="Setting"/> combined with another property, that property (drop either); otherwise null.</summary>
    public string? ConflictsWith { get; } = conflictsWith;
}
