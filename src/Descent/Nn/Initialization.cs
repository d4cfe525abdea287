namespace Descent.Nn;

/// <summary>How a dense layer's weights and biases are drawn at the start.</summary>
public enum Initialization
{
    /// <summary>PyTorch's <c>nn.Linear</c> default: weights and biases uniform in <c>(-1/sqrt(fan_in), 1/sqrt(fan_in))</c>.</summary>
    Torch,

    /// <summary>He (Kaiming) normal for ReLU: weights <c>N(0, 2 / fan_in)</c>, biases 0.</summary>
    He,

    /// <summary>Xavier (Glorot) uniform: weights uniform in <c>(-a, a)</c>, <c>a = sqrt(6 / (fan_in + fan_out))</c>, biases 0.</summary>
    Xavier,
}

/// <summary>Parsing of <see cref="Initialization"/> names.</summary>
public static class Initializations
{
    /// <summary>Parses <c>torch</c>, <c>he</c> or <c>xavier</c>.</summary>
    public static Initialization Parse(string name) => TryParse(name, out var initialization) ? initialization
        : throw new ArgumentException($"Unknown initialization '{name}': choose torch, he or xavier.");

    /// <summary>Parses <c>torch</c>, <c>he</c> or <c>xavier</c>; false for any other name.</summary>
    public static bool TryParse(string name, out Initialization initialization)
    {
        ArgumentNullException.ThrowIfNull(name);
        Initialization? parsed = name.Trim().ToLowerInvariant() switch
        {
            "torch" or "default" => Initialization.Torch,
            "he" or "kaiming" => Initialization.He,
            "xavier" or "glorot" => Initialization.Xavier,
            _ => null,
        };
        initialization = parsed ?? Initialization.Torch;
        return parsed is not null;
    }
}
