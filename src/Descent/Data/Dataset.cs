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

    /// <summary>The features of example <paramref name="i"/>.</summary>
    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Dimensions, Dimensions);

    /// <summary>Examples <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> - 1 as a new dataset.</summary>
    public Dataset Slice(int start, int count, string? name = null) =>
        new(name ?? Name, Features.AsSpan(start * Dimensions, count * Dimensions).ToArray(),
            Labels.AsSpan(start * LabelsPerExample, count * LabelsPerExample).ToArray(), Dimensions, Classes, Shape, LabelsPerExample);
}
