namespace Descent.Playground;

/// <summary>Caps on what one request may ask for, so no request can tie up the server.</summary>
public static class Limits
{
    /// <summary>Most updates in one trajectory.</summary>
    public const int MaxSteps = 5000;

    /// <summary>Most optimizers in one request.</summary>
    public const int MaxOptimizers = 8;

    /// <summary>Largest surface grid side.</summary>
    public const int MaxResolution = 200;

    /// <summary>Longest expression.</summary>
    public const int MaxExpressionLength = 300;

    /// <summary>Largest request body in bytes.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Largest coordinate magnitude of a start point or a view.</summary>
    public const double MaxCoordinate = 1e6;
}
