namespace Descent.Lab;

/// <summary>A figure written by an experiment: its file stem (PNG and SVG beside each other) and caption.</summary>
public sealed record Figure(string Experiment, string Name, string Caption, string PngPath, string SvgPath);
