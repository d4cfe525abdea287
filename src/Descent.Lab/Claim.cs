namespace Descent.Lab;

/// <summary>A published claim, the number that tests it, the threshold it is judged by, and whether it held.</summary>
/// <param name="Experiment">The experiment's name.</param>
/// <param name="Published">The published claim or expectation under test.</param>
/// <param name="Measure">The statistic measured.</param>
/// <param name="Value">The measured value: the median with its range over seeds when there are several.</param>
/// <param name="Criterion">The threshold in words; a wrong result would miss it.</param>
/// <param name="Held">Whether the threshold was met in every seed.</param>
public sealed record Claim(string Experiment, string Published, string Measure, string Value, string Criterion, bool Held);

/// <summary>A measured number reported beside the claims, testing none.</summary>
/// <param name="Experiment">The experiment's name.</param>
/// <param name="Measure">What was measured.</param>
/// <param name="Value">The measured value, formatted.</param>
public sealed record Measurement(string Experiment, string Measure, string Value);

/// <summary>An experiment that stopped with an error.</summary>
/// <param name="Experiment">The experiment's name.</param>
/// <param name="Reason">The error's message.</param>
public sealed record Failure(string Experiment, string Reason);
