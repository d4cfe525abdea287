using Descent.State;
using Xunit;

namespace Descent.Tests;

public class StateDictTests
{
    [Fact]
    public void Round_trips_every_kind_of_value_exactly()
    {
        var s = new StateDict();
        s.Set("f", [1.5f, float.Epsilon, -0f, float.NaN]);
        s.Set("d", [Math.PI, double.MaxValue, 1e-310]);
        s.Set("l", long.MinValue);
        s.Set("r", 0.1 + 0.2);
        s.Set("s", "adam ✓");
        var back = StateDict.Read(Serialize(s));
        var f = new float[4];
        back.CopyTo<float>("f", f);
        Assert.Equal(new[] { 1.5f, float.Epsilon, -0f, float.NaN }.Select(BitConverter.SingleToInt32Bits), f.Select(BitConverter.SingleToInt32Bits));
        var d = new double[3];
        back.CopyTo<double>("d", d);
        Assert.Equal([Math.PI, double.MaxValue, 1e-310], d);
        Assert.Equal(long.MinValue, back.GetLong("l"));
        Assert.Equal(0.1 + 0.2, back.GetDouble("r"));
        Assert.Equal("adam ✓", back.GetString("s"));
    }

    [Fact]
    public void Damaged_files_are_rejected_with_the_file_name_and_the_problem()
    {
        var s = new StateDict();
        s.Set("w", new double[100]);
        byte[] bytes = Serialize(s).ToArray();
        string dir = Directory.CreateTempSubdirectory("descent-state").FullName;
        try
        {
            string truncated = Path.Combine(dir, "truncated.state");
            File.WriteAllBytes(truncated, bytes[..(bytes.Length - 10)]);
            var e = Assert.Throws<InvalidDataException>(() => StateDict.Load(truncated));
            Assert.Contains("truncated.state", e.Message);
            Assert.Contains("truncated", e.Message);

            string garbage = Path.Combine(dir, "garbage.state");
            File.WriteAllText(garbage, "this is not a state file at all");
            e = Assert.Throws<InvalidDataException>(() => StateDict.Load(garbage));
            Assert.Contains("bad magic number", e.Message);

            var wrong = new double[3];
            e = Assert.Throws<InvalidDataException>(() => StateDict.Read(new MemoryStream(bytes)).CopyTo<double>("w", wrong));
            Assert.Contains("holds 100 values but 3 are expected", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Save_replaces_the_file_atomically_and_leaves_no_temporary_files()
    {
        string dir = Directory.CreateTempSubdirectory("descent-state").FullName;
        try
        {
            string path = Path.Combine(dir, "opt.state");
            var s = new StateDict();
            s.Set("step", 1L);
            s.Save(path);
            s.Set("step", 2L);
            s.Save(path);
            Assert.Equal(2, StateDict.Load(path).GetLong("step"));
            Assert.Equal(["opt.state"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static MemoryStream Serialize(StateDict s)
    {
        var m = new MemoryStream();
        s.Write(m);
        m.Position = 0;
        return m;
    }
}
