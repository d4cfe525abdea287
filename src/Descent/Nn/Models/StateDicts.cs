using System.Numerics;
using Descent.State;

namespace Descent.Nn;

/// <summary>
/// Loading a model's weights by name, as PyTorch's <c>load_state_dict(state_dict, strict=True)</c>: every
/// parameter and buffer of the model must be in the file with its shape, and the file holds nothing else.
/// This is how training starts from given weights (fine-tuning, or torch's own initial weights).
/// </summary>
public static class StateDicts
{
    /// <summary>Loads the tensors of the safetensors file <paramref name="path"/> into <paramref name="model"/> (see <see cref="LoadStateDict{T}"/>).</summary>
    public static void LoadSafeTensors<T>(this Layer<T> model, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such weights file; give a .safetensors file, such as a run's model.safetensors.");
        model.LoadStateDict(SafeTensors.Load(path), path);
    }

    /// <summary>
    /// Copies <paramref name="tensors"/> (name to shape and values) into the parameters and buffers of
    /// <paramref name="model"/> of the same names. Nothing is changed unless every name matches (missing or
    /// unexpected names are listed) and every shape agrees (the tensor and both shapes are named);
    /// <paramref name="source"/> names where the tensors came from in those messages.
    /// </summary>
    public static void LoadStateDict<T>(this Layer<T> model, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors, string source = "state dict")
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        var targets = model.Parameters.Select(p => (p.Name, p.Shape, p.Value)).Concat(model.Buffers()).ToList();
        var missing = targets.Where(t => !tensors.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"{source}: missing {Names(missing)} that the model has; the file was saved from a different model (compare the model spec).");
        var known = targets.Select(t => t.Name).ToHashSet();
        var unexpected = tensors.Keys.Where(k => !known.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new ArgumentException($"{source}: unexpected {Names(unexpected)} that the model does not have; the file was saved from a different model (compare the model spec).");
        foreach (var (name, shape, _) in targets)
            if (!tensors[name].Shape.SequenceEqual(shape))
                throw new ArgumentException($"{source}: tensor '{name}' has shape [{string.Join(", ", tensors[name].Shape)}] but the model's is [{string.Join(", ", shape)}]; the file was saved from a different model (compare the model spec).");
        foreach (var (name, _, value) in targets)
        {
            var from = tensors[name].Data;
            var to = value.Span;
            for (int i = 0; i < to.Length; i++) to[i] = T.CreateTruncating(from[i]);
        }
    }

    private static string Names(List<string> names) =>
        (names.Count == 1 ? "tensor " : $"{names.Count} tensors ") + string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + (names.Count > 5 ? ", ..." : "");
}
