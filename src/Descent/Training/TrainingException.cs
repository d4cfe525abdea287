namespace Descent.Training;

/// <summary>A run that cannot go on (a diverged loss, an unusable checkpoint); the message says why and what to do.</summary>
public class TrainingException(string message) : Exception(message);
