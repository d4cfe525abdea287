namespace Descent.Lab;

/// <summary>A headline number of an experiment beside the published claim it tests, and whether it held.</summary>
/// <param name="Experiment">The experiment's name.</param>
/// <param name="Measure">What was measured.</param>
/// <param name="Value">The measured value, formatted.</param>
/// <param name="Published">The published figure or expectation it is compared with.</param>
/// <param name="Held">Whether the claim held in this run; null where nothing is claimed.</param>
public sealed record Claim(string Experiment, string Measure, string Value, string Published, bool? Held);
