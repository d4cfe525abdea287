using System.IO.Compression;

namespace Descent.Data;

/// <summary>
/// Character-level text for next-token prediction. The vocabulary is the text's distinct characters in
/// ordinal order (token <c>k</c> is the <c>k</c>-th smallest); the first 90% of the text is for training,
/// the rest for testing (a split by position, so no test sentence is seen in training). Each part is cut
/// into windows of <c>context</c> tokens, one after another, each with the next <c>context</c> tokens as its
/// labels: an example is <c>x = t[i .. i+T)</c>, <c>y = t[i+1 .. i+T]</c>, so the loss is the mean
/// cross-entropy over every position of every window.
/// </summary>
public static class CharText
{
    /// <summary>The share of the text (from its start) used for training.</summary>
    public const double TrainFraction = 0.9;

    private const string Resource = "Descent.Data.fortunes.txt.gz";

    /// <summary>
    /// The embedded corpus: five files of Debian's <c>fortunes</c> package (306,828 characters, BSD licence,
    /// see <c>data/fortunes</c>), as windows of <paramref name="context"/> characters.
    /// </summary>
    public static (Dataset Train, Dataset Test) Embedded(int context)
    {
        using var resource = typeof(CharText).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException("The embedded text corpus is missing from the build.");
        using var gz = new GZipStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(gz, System.Text.Encoding.UTF8);
        return Split(reader.ReadToEnd(), context, "fortunes");
    }

    /// <summary>Reads the UTF-8 text file <paramref name="path"/> (gzipped when it starts with gzip's magic bytes).</summary>
    public static (Dataset Train, Dataset Test) Load(string path, int context)
    {
        byte[] bytes = Gzip.ReadMaybeGzipped(path);
        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new InvalidDataException($"{path}: not UTF-8 text; convert it first (e.g. iconv -t UTF-8).");
        }
        return Split(text, context, Path.GetFileName(path));
    }

    /// <summary>The vocabulary of <paramref name="text"/> and its training and test windows of <paramref name="context"/> tokens.</summary>
    public static (Dataset Train, Dataset Test) Split(string text, int context, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (context < 1) throw new ArgumentException($"Invalid context length {context}: must be at least 1.");
        var vocabulary = Vocabulary(text);
        if (vocabulary.Length < 2) throw new InvalidDataException($"{name}: the text has {vocabulary.Length} distinct character(s); a language model needs at least 2.");
        var index = new Dictionary<char, int>();
        for (int k = 0; k < vocabulary.Length; k++) index[vocabulary[k]] = k;
        var tokens = new int[text.Length];
        for (int i = 0; i < text.Length; i++) tokens[i] = index[text[i]];
        int trainLength = (int)(text.Length * TrainFraction);
        // Both parts need one window of context inputs plus the label after the last of them.
        int needed = (int)Math.Ceiling((context + 1) / (1 - TrainFraction));
        if (text.Length < needed)
            throw new InvalidDataException($"{name}: {text.Length} characters are too few for windows of {context}: the last 10% (the test part) needs {context + 1}, so the text needs at least {needed}; use a longer text or a shorter context.");
        return (Windows(tokens.AsSpan(0, trainLength), context, vocabulary.Length, name + "-train"),
                Windows(tokens.AsSpan(trainLength), context, vocabulary.Length, name + "-test"));
    }

    /// <summary>The distinct characters of <paramref name="text"/> in ordinal order: token <c>k</c> is character <c>k</c> of this string.</summary>
    public static string Vocabulary(string text)
    {
        var chars = text.Distinct().ToArray();
        Array.Sort(chars);
        return new string(chars);
    }

    /// <summary>
    /// The test loss of a unigram model, the baseline a language model must beat: the cross-entropy (nats per
    /// token) of the training labels' frequencies on the test labels, <c>-mean log p(y)</c>, with one extra count
    /// for every class (add-one smoothing) so a class never seen in training costs a finite amount.
    /// </summary>
    public static double UnigramLoss(Dataset train, Dataset test)
    {
        var counts = new double[train.Classes];
        foreach (int y in train.Labels) counts[y]++;
        double total = train.Labels.Length + train.Classes;
        double loss = 0;
        foreach (int y in test.Labels) loss -= Math.Log((counts[y] + 1) / total);
        return loss / test.Labels.Length;
    }

    private static Dataset Windows(ReadOnlySpan<int> tokens, int context, int classes, string name)
    {
        int count = (tokens.Length - 1) / context;
        var features = FeatureMemory.Allocate(count * context);
        var labels = new int[count * context];
        for (int i = 0; i < count * context; i++)
        {
            features[i] = tokens[i];
            labels[i] = tokens[i + 1];
        }
        return new Dataset(name, features, labels, context, classes, [context], labelsPerExample: context);
    }
}
