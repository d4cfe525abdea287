using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

/// <summary>The matrix kernels against naive triple loops, on sizes that are not multiples of the vector width.</summary>
public class KernelTests
{
    public static IEnumerable<object[]> Shapes =>
        from batch in new[] { 1, 7, 63, 65, 500 }
        from shape in new[] { (n: 2, m: 64), (n: 64, m: 64), (n: 13, m: 37), (n: 784, m: 10), (n: 65, m: 3), (n: 9, m: 130) }
        select new object[] { batch, shape.n, shape.m };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Linear_forward_and_backward_match_naive_loops(int batch, int n, int m)
    {
        var rng = new Rng((ulong)(batch * 1000 + n * 10 + m));
        double[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => rng.NextNormal())];
        double[] x = R(batch * n), w = R(m * n), bias = R(m), dy = R(batch * m), dw0 = R(m * n), db0 = R(m);

        var y = new double[batch * m];
        Kernels.LinearForward<double>(x, w, bias, y, batch, n, m, new double[n * m]);
        var dw = (double[])dw0.Clone();
        var db = (double[])db0.Clone();
        var dx = new double[batch * n];
        Kernels.LinearBackward<double>(x, w, dy, dw, db, dx, batch, n, m);

        for (int b = 0; b < batch; b++)
            for (int o = 0; o < m; o++)
            {
                double s = bias[o];
                for (int i = 0; i < n; i++) s += x[b * n + i] * w[o * n + i];
                Assert.Equal(s, y[b * m + o], 1e-10 * (1 + Math.Abs(s)));
            }
        for (int o = 0; o < m; o++)
        {
            double sb = db0[o];
            for (int b = 0; b < batch; b++) sb += dy[b * m + o];
            Assert.Equal(sb, db[o], 1e-10 * (1 + Math.Abs(sb)));
            for (int i = 0; i < n; i++)
            {
                double s = dw0[o * n + i];
                for (int b = 0; b < batch; b++) s += dy[b * m + o] * x[b * n + i];
                Assert.Equal(s, dw[o * n + i], 1e-10 * (1 + Math.Abs(s)));
            }
        }
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int o = 0; o < m; o++) s += dy[b * m + o] * w[o * n + i];
                Assert.Equal(s, dx[b * n + i], 1e-10 * (1 + Math.Abs(s)));
            }
    }

    [Theory]
    [InlineData(7, 65)]
    [InlineData(64, 64)]
    [InlineData(1, 13)]
    public void The_float_kernels_agree_with_the_double_ones(int batch, int n)
    {
        var rng = new Rng(5);
        int m = 37;
        double[] xd = [.. Enumerable.Range(0, batch * n).Select(_ => rng.NextNormal())];
        double[] wd = [.. Enumerable.Range(0, m * n).Select(_ => rng.NextNormal())];
        double[] bd = new double[m];
        var yd = new double[batch * m];
        var yf = new float[batch * m];
        Kernels.LinearForward<double>(xd, wd, bd, yd, batch, n, m, new double[n * m]);
        Kernels.LinearForward<float>([.. xd.Select(v => (float)v)], [.. wd.Select(v => (float)v)], new float[m], yf, batch, n, m, new float[n * m]);
        for (int i = 0; i < yd.Length; i++) Assert.Equal(yd[i], yf[i], 1e-4 * (1 + Math.Abs(yd[i])));
    }
}
