namespace Descent.Cli;

/// <summary>A command-line mistake: the message names the problem and the fix, and the exit code is 2.</summary>
public sealed class UsageException(string message) : Exception(message);
