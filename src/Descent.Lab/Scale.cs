namespace Descent.Lab;

/// <summary>How much work an experiment does.</summary>
public enum Scale
{
    /// <summary>Seconds in all: what the tests run.</summary>
    Quick,

    /// <summary>The default: minutes in all, enough to show each finding.</summary>
    Default,

    /// <summary>The published scale (for example 1.5 million steps per batch size).</summary>
    Full,
}
