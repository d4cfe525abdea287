using Descent.Numerics;

namespace Descent.Data;

/// <summary>
/// Labelled examples for classification: <see cref="Count"/> rows of <see cref="Dimensions"/> float
/// features (row-major) and an integer label in <c>[0, Classes)</c> for each, or <see cref="LabelsPerExample"/>
/// labels for each when every position of a sequence is classified (next-token prediction).
/// </summary>
public sealed class Dataset
{
    /// <summary>
    /// Creates a dataset, checking that the shapes agree and every label is in range; <paramref name="shape"/> is the
    /// shape of one example (such as <c>[1, 28, 28]</c> for images), <c>[dimensions]</c> when not given;
    /// <paramref name="labels"/> holds <paramref name="labelsPerExample"/> labels per example, example after example.
    /// </summary>
    public Dataset(string name, float[] features, int[] labels, int dimensions, int classes, IReadOnlyList<int>? shape = null, int labelsPerExample = 1)
    {
        if (labelsPerExample < 1 || labels.Length % labelsPerExample != 0)
            throw new ArgumentException($"{name}: {labels.Length} labels are not a whole number of examples of {labelsPerExample} label(s) each.");
        if (shape is not null && shape.Aggregate(1L, (n, d) => n * d) != dimensions)
            throw new ArgumentException($"{name}: an example of shape [{string.Join(", ", shape)}] does not hold {dimensions} features.");
        if (dimensions < 1) throw new ArgumentException($"{name}: examples need at least one feature.");
        int count = labels.Length / labelsPerExample;
        if (features.Length != (long)count * dimensions)
            throw new ArgumentException($"{name}: {count} examples need {(long)count * dimensions} feature values ({dimensions} each), got {features.Length}.");
        if (classes < 2) throw new ArgumentException($"{name}: classification needs at least 2 classes, got {classes}.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentException($"{name}: label {labels[i]} of example {i} is out of range [0, {classes - 1}].");
        Name = name;
        Features = features;
        Labels = labels;
        Dimensions = dimensions;
        Classes = classes;
        Shape = shape is null ? [dimensions] : [.. shape];
        LabelsPerExample = labelsPerExample;
    }

    /// <summary>Where the data came from.</summary>
    public string Name { get; }

    /// <summary>Features, <c>[Count, Dimensions]</c> row-major.</summary>
    public float[] Features { get; }

    /// <summary>Labels, <c>[Count, LabelsPerExample]</c> row-major.</summary>
    public int[] Labels { get; }

    /// <summary>Labels per example: 1 for classification, the sequence length for a label at every position.</summary>
    public int LabelsPerExample { get; }

    /// <summary>Features per example.</summary>
    public int Dimensions { get; }

    /// <summary>The shape of one example: <c>[C, H, W]</c> for images (row-major, as PyTorch's <c>(N, C, H, W)</c> without N), <c>[Dimensions]</c> otherwise.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Labels.Length / LabelsPerExample;

    /// <summary>
    /// Copies the features and labels of examples <paramref name="rows"/> into consecutive rows of <paramref name="features"/>
    /// (<see cref="Dimensions"/> each) and <paramref name="labels"/> (<see cref="LabelsPerExample"/> each).
    /// </summary>
    public void Gather(ReadOnlySpan<int> rows, Span<float> features, Span<int> labels)
    {
        Kernels.Gather<float>(Features, rows, Dimensions, features);
        GatherLabels(rows, labels);
    }

    /// <summary>Copies the labels of examples <paramref name="rows"/> into <paramref name="labels"/> (<see cref="LabelsPerExample"/> each).</summary>
    public void GatherLabels(ReadOnlySpan<int> rows, Span<int> labels) => Kernels.Gather<int>(Labels, rows, LabelsPerExample, labels);

    /// <summary>The features of example <paramref name="i"/>.</summary>
    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Dimensions, Dimensions);

    /// <summary>
    /// The examples whose label is one of <paramref name="classes"/>, in their order, as a new dataset with the same
    /// <see cref="Classes"/> (labels keep their values, so a model's output layer still covers every class and an
    /// accuracy on these examples counts a prediction of any other class as wrong).
    /// </summary>
    public Dataset OfClasses(IReadOnlyCollection<int> classes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (LabelsPerExample != 1)
            throw new ArgumentException($"{Name}: examples with a label at every position ({LabelsPerExample} labels each) cannot be selected by class.");
        if (classes.Count == 0) throw new ArgumentException($"{Name}: choose at least one class to keep.");
        foreach (int c in classes)
            if ((uint)c >= (uint)Classes) throw new ArgumentException($"{Name}: class {c} is out of range; its classes are 0 to {Classes - 1}.");
        var keep = new bool[Classes];
        foreach (int c in classes) keep[c] = true;
        var rows = Enumerable.Range(0, Count).Where(i => keep[Labels[i]]).ToArray();
        if (rows.Length == 0) throw new ArgumentException($"{Name}: no example has class {string.Join(", ", classes)}.");
        var features = FeatureMemory.Allocate(rows.Length * Dimensions);
        for (int r = 0; r < rows.Length; r++) Row(rows[r]).CopyTo(features.AsSpan(r * Dimensions, Dimensions));
        return new Dataset(name ?? Name, features, [.. rows.Select(i => Labels[i])], Dimensions, Classes, Shape);
    }

    /// <summary>Examples <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> - 1 as a new dataset.</summary>
    public Dataset Slice(int start, int count, string? name = null) =>
        new(name ?? Name, Features.AsSpan(start * Dimensions, count * Dimensions).ToArray(),
            Labels.AsSpan(start * LabelsPerExample, count * LabelsPerExample).ToArray(), Dimensions, Classes, Shape, LabelsPerExample);
}
