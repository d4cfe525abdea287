using System.IO.Compression;
using Descent.Data;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

public sealed class DataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-data").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Large_feature_arrays_are_zeroed_and_advised_for_huge_pages_on_linux()
    {
        var small = FeatureMemory.Allocate(1000);
        Assert.Equal(1000, small.Length);
        Assert.All(small, v => Assert.Equal(0f, v));
        int length = 12 << 20;   // 48 MiB: whole 2 MiB pages inside
        var large = FeatureMemory.Allocate(length);
        Assert.Equal(length, large.Length);
        Assert.True(large.AsSpan().IndexOfAnyExcept(0f) < 0);
        // Where the kernel has no transparent huge pages the advice is refused, which the allocation takes as fine.
        string thp = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(thp) || File.ReadAllText(thp).Contains("[never]")) return;
        // The advised part of the array is a mapping of its own whose flags include "hg" (MADV_HUGEPAGE).
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(large, System.Runtime.InteropServices.GCHandleType.Pinned);
        long middle = handle.AddrOfPinnedObject() + (long)length * 2;
        handle.Free();
        string? flags = null;
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-'))
            {
                var range = line[..line.IndexOf(' ')].Split('-');
                inside = Convert.ToInt64(range[0], 16) <= middle && middle < Convert.ToInt64(range[1], 16);
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal)) flags = line;
        }
        GC.KeepAlive(large);
        Assert.NotNull(flags);
        Assert.Contains(" hg", flags);
    }

    [Fact]
    public void Moons_are_two_interleaved_half_circles_with_the_requested_flips_and_stretch()
    {
        var clean = Moons.Generate(500, 0, 0, 1, 1, new Rng(3));
        Assert.Equal(250, clean.Labels.Count(l => l == 0));
        for (int i = 0; i < clean.Count; i++)
        {
            double x = clean.Row(i)[0], y = clean.Row(i)[1];
            double r = clean.Labels[i] == 0 ? Math.Sqrt(x * x + y * y) : Math.Sqrt((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5));
            Assert.Equal(1, r, 5);
        }
        var noisy = Moons.Generate(20000, 0.1, 0.1, 1, 1, new Rng(3));
        var reference = Moons.Generate(20000, 0.1, 0, 1, 1, new Rng(3));
        double flipped = noisy.Labels.Zip(reference.Labels).Count(p => p.First != p.Second) / 20000.0;
        Assert.InRange(flipped, 0.09, 0.11);
        var stretched = Moons.Generate(500, 0, 0, 0.1, 10, new Rng(3));
        Assert.Equal(clean.Row(7)[0] * 0.1f, stretched.Row(7)[0], 5);
        Assert.Equal(clean.Row(7)[1] * 10f, stretched.Row(7)[1], 4);
        Assert.Equal(Moons.Generate(100, 0.1, 0.1, 1, 1, new Rng(9)).Features, Moons.Generate(100, 0.1, 0.1, 1, 1, new Rng(9)).Features);
    }

    [Fact]
    public void Embedded_mnist_holds_10000_real_digits_split_8000_2000_and_balanced()
    {
        var (train, test) = Mnist.Embedded();
        Assert.Equal(8000, train.Count);
        Assert.Equal(2000, test.Count);
        Assert.Equal(784, train.Dimensions);
        Assert.All(Enumerable.Range(0, 10), d => Assert.InRange(train.Labels.Count(l => l == d), 780, 820));
        Assert.InRange(train.Features.Average(), 0.1, 0.15); // MNIST's mean pixel is about 0.13
        Assert.Equal(1f, train.Features.Max());
    }

    [Fact]
    public void Idx_reads_raw_and_gzipped_files_and_writes_them_back()
    {
        var pixels = Enumerable.Range(0, 3 * 2 * 2).Select(i => (byte)(i * 20)).ToArray();
        Idx.Write(Path.Combine(_dir, "a.idx"), [3, 2, 2], pixels);
        Idx.Write(Path.Combine(_dir, "a.idx.gz"), [3, 2, 2], pixels);
        foreach (var name in new[] { "a.idx", "a.idx.gz" })
        {
            var (shape, data) = Idx.Read(Path.Combine(_dir, name));
            Assert.Equal([3, 2, 2], shape);
            Assert.Equal(pixels, data);
        }
    }

    [Fact]
    public void Full_fashion_mnist_loads_from_the_debian_package()
    {
        Assert.True(Directory.Exists(Mnist.FashionMnistDirectory), "Fashion-MNIST is missing: ./test installs it (apt-get install dataset-fashion-mnist).");
        var (train, test) = Mnist.Load(Mnist.FashionMnistDirectory, "fashion-mnist");
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
    }

    [Theory]
    [InlineData("bad magic", "bad magic number 0x12345678")]
    [InlineData("truncated data", "truncated: the header announces 2 x 2 x 2 = 8 bytes of data but the file holds 5")]
    [InlineData("truncated header", "truncated: the header announces 3 dimensions")]
    [InlineData("trailing bytes", "3 unexpected bytes")]
    [InlineData("label out of range", "label 12 of example 1 is out of range [0, 9]")]
    [InlineData("count mismatch", "holds 2 images but")]
    [InlineData("missing file", "missing t10k-images-idx3-ubyte")]
    [InlineData("damaged gzip", "")]
    public void Malformed_idx_directories_are_rejected_with_the_file_and_the_problem(string damage, string message)
    {
        string dir = Path.Combine(_dir, damage.Replace(' ', '-'));
        Directory.CreateDirectory(dir);
        byte[] Header(uint magic, params uint[] sizes) =>
            [.. BitConverter.GetBytes(magic).Reverse(), .. sizes.SelectMany(s => BitConverter.GetBytes(s).Reverse())];
        byte[] images = [.. Header(0x803, 2, 2, 2), .. new byte[8]];
        byte[] labels = [.. Header(0x801, 2), 3, 4];
        switch (damage)
        {
            case "bad magic": images = [.. Header(0x12345678, 2, 2, 2), .. new byte[8]]; break;
            case "truncated data": images = images[..^3]; break;
            case "truncated header": images = Header(0x803, 2)[..8]; break;
            case "trailing bytes": images = [.. images, 1, 2, 3]; break;
            case "label out of range": labels = [.. Header(0x801, 2), 3, 12]; break;
            case "count mismatch": labels = [.. Header(0x801, 3), 1, 2, 3]; break;
        }
        foreach (var set in new[] { "train", "t10k" })
        {
            if (damage == "missing file" && set == "t10k") continue;
            File.WriteAllBytes(Path.Combine(dir, $"{set}-images-idx3-ubyte"), images);
            File.WriteAllBytes(Path.Combine(dir, $"{set}-labels-idx1-ubyte"), labels);
        }
        if (damage == "damaged gzip")
        {
            var gz = new MemoryStream();
            using (var z = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true)) z.Write(images);
            var bytes = gz.ToArray();
            File.Delete(Path.Combine(dir, "train-images-idx3-ubyte"));
            File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte.gz"), bytes[..(bytes.Length / 2)]);
        }
        var e = Assert.ThrowsAny<Exception>(() => Mnist.Load(dir));
        Assert.True(e is InvalidDataException or FileNotFoundException, e.GetType().Name + ": " + e.Message);
        Assert.Contains(dir, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("x,y,label\n1,2,0\n3,4,1\n", null)]
    [InlineData("label,x,y\n0,1,2\n1,3,4\n", null)]
    [InlineData("1,2,0\n3,4,1\n", null)]
    public void Csv_files_give_features_and_labels(string text, string? labelColumn)
    {
        string path = Path.Combine(_dir, "d.csv");
        File.WriteAllText(path, text);
        var d = Csv.Load(path, labelColumn);
        Assert.Equal(2, d.Dimensions);
        Assert.Equal([0, 1], d.Labels);
        Assert.Equal([1f, 2f, 3f, 4f], d.Features);
    }

    [Theory]
    [InlineData("x,y,label\n1,2,0\n3,4\n", "line 3: 2 columns where the first row has 3")]
    [InlineData("x,y,label\n1,2,0\n3,abc,1\n", "line 3, column 2: 'abc' is not a finite number")]
    [InlineData("x,y,label\n1,2,0\n3,4,-1\n", "line 3: label '-1' is not a class number")]
    [InlineData("x,y,label\n1,2,0\n3,4,1.5\n", "label '1.5' is not a class number")]
    [InlineData("", "the file is empty")]
    [InlineData("x,y,label\n", "no data rows")]
    public void Malformed_csv_files_are_rejected_with_the_line_and_the_problem(string text, string message)
    {
        string path = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(path, text);
        var e = Assert.Throws<InvalidDataException>(() => Csv.Load(path));
        Assert.Contains("bad.csv", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Batches_cover_each_epoch_once_reshuffled_and_resume_exactly()
    {
        var data = Moons.Generate(10, 0, 0, 1, 1, new Rng(1));
        var batches = new Batches(data, 4, new Rng(5));
        var x = new float[8];
        var y = new int[4];
        var orders = new List<float[]>();
        for (int e = 0; e < 3; e++)
        {
            var seen = new List<float>();
            foreach (int expected in new[] { 4, 4, 2 })
            {
                int n = batches.Next(x, y);
                Assert.Equal(expected, n);
                for (int i = 0; i < n; i++) seen.Add(x[2 * i]);
            }
            Assert.Equal(data.Features.Where((_, i) => i % 2 == 0).Order(), seen.Order()); // every example exactly once
            orders.Add([.. seen]);
        }
        Assert.Equal(2, batches.Epoch);
        Assert.NotEqual(orders[0], orders[1]); // reshuffled every epoch

        var a = new Batches(data, 3, new Rng(11), dropLast: true);
        var firstX = new List<float>();
        for (int i = 0; i < 3; i++) { a.Next(x, y); firstX.Add(x[0]); }
        Assert.Equal(0, a.Epoch);
        a.Next(x, y); // 10 examples, batches of 3, drop-last: the fourth batch starts epoch 1
        Assert.Equal(1, a.Epoch);

        var state = new Descent.State.StateDict();
        a.SaveState(state, "b");
        var b = new Batches(data, 3, new Rng(999), dropLast: true);
        b.LoadState(state, "b");
        var xa = new float[6];
        var xb = new float[6];
        for (int i = 0; i < 7; i++)
        {
            a.Next(xa, y);
            b.Next(xb, y);
            Assert.Equal(xa, xb);
        }
    }

    [Fact]
    public void Text_is_cut_by_position_into_windows_with_next_character_labels()
    {
        string text = string.Concat(Enumerable.Repeat("abcab", 20)) + "xyzzy" + string.Concat(Enumerable.Repeat("cba", 10));   // 135 characters
        var (train, test) = CharText.Split(text, 4, "t");
        Assert.Equal("abcxyz", CharText.Vocabulary(text));
        Assert.Equal(6, train.Classes);
        int trainLength = (int)(text.Length * 0.9);   // 121: the first 90% for training
        Assert.Equal((trainLength - 1) / 4, train.Count);
        Assert.Equal((text.Length - trainLength - 1) / 4, test.Count);
        Assert.Equal([4], train.Shape);
        Assert.Equal(4, train.LabelsPerExample);
        string Decode(IEnumerable<float> tokens) => new([.. tokens.Select(t => "abcxyz"[(int)t])]);
        // Window i holds characters 4i .. 4i+3 and its labels are the characters one further on.
        Assert.Equal("abca", Decode(train.Row(0).ToArray()));
        Assert.Equal("bcab", new string([.. train.Labels.Take(4).Select(l => "abcxyz"[l])]));
        Assert.Equal(text.Substring(trainLength, 4), Decode(test.Row(0).ToArray()));
        Assert.Equal(text.Substring(trainLength + 1, 4), new string([.. test.Labels.Take(4).Select(l => "abcxyz"[l])]));
        // The sampler hands out all four labels of each window with it.
        var batches = new Batches(train, 3, new Rng(1));
        var x = new float[12];
        var y = new int[12];
        Assert.Equal(3, batches.Next(x, y));
        for (int i = 0; i < 3; i++)
            for (int t = 0; t < 3; t++) Assert.Equal(x[i * 4 + t + 1], y[i * 4 + t]);
    }

    [Fact]
    public void The_unigram_loss_is_the_cross_entropy_of_training_frequencies_on_the_test_labels()
    {
        // Training labels: a a a b (+1 smoothing each: a 4/6, b 2/6); test labels: a b.
        var train = new Dataset("train", new float[4], [0, 0, 0, 1], 2, 2, labelsPerExample: 2);
        var test = new Dataset("test", new float[2], [0, 1], 2, 2, labelsPerExample: 2);
        Assert.Equal(-(Math.Log(4.0 / 6) + Math.Log(2.0 / 6)) / 2, CharText.UnigramLoss(train, test), 1e-15);
    }

    [Fact]
    public void The_embedded_text_is_the_fortunes_corpus()
    {
        var (train, test) = CharText.Embedded(64);
        // 306,828 characters: 276,145 for training (4,314 windows of 64), 30,683 for testing (479 windows).
        Assert.Equal(4314, train.Count);
        Assert.Equal(479, test.Count);
        Assert.Equal(train.Classes, test.Classes);
        Assert.InRange(train.Classes, 80, 100);
        Assert.InRange(CharText.UnigramLoss(train, test), 3.0, 3.4);
    }

    [Fact]
    public void Text_too_short_for_the_context_or_not_utf8_is_refused_with_the_fix()
    {
        var e = Assert.Throws<InvalidDataException>(() => CharText.Split("abcdefghij", 8, "short.txt"));
        Assert.Contains("short.txt: 10 characters are too few for windows of 8", e.Message);
        Assert.Contains("shorter context", e.Message);
        Assert.Contains("at least 2", Assert.Throws<InvalidDataException>(() => CharText.Split(new string('a', 500), 4, "same")).Message);
        string latin1 = Path.Combine(_dir, "latin1.txt");
        File.WriteAllBytes(latin1, [0x63, 0x61, 0x66, 0xE9, 0x20, 0x63, 0x61, 0x66, 0xE9]);
        Assert.Contains("not UTF-8 text", Assert.Throws<InvalidDataException>(() => CharText.Load(latin1, 2)).Message);
    }

    [Fact]
    public void A_gzipped_text_cut_short_is_refused_rather_than_read_in_part()
    {
        // .NET's decompressor returns what it could decode from a truncated stream; gzip's recorded length tells.
        string text = string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i * 7919 % 1000} of a text long enough to compress.\n"));
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true)) z.Write(System.Text.Encoding.UTF8.GetBytes(text));
        byte[] bytes = gz.ToArray();
        string whole = Path.Combine(_dir, "whole.txt.gz"), half = Path.Combine(_dir, "half.txt.gz");
        File.WriteAllBytes(whole, bytes);
        File.WriteAllBytes(half, bytes[..(bytes.Length / 2)]);
        var (train, test) = CharText.Load(whole, 16);
        var (plainTrain, plainTest) = CharText.Split(text, 16, "plain");
        Assert.Equal((plainTrain.Count, plainTest.Count), (train.Count, test.Count));
        var e = Assert.Throws<InvalidDataException>(() => CharText.Load(half, 16));
        Assert.Contains($"{half}: the gzip stream is truncated or damaged", e.Message);
    }
}
