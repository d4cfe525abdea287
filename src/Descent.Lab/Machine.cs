using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace Descent.Lab;

/// <summary>What the numbers of a run depend on: the processor and the vector width the kernels ran at.</summary>
public static class Machine
{
    /// <summary>For example "AMD EPYC, 512-bit vectors (AVX-512)" or "Intel Xeon, 256-bit vectors (AVX2)".</summary>
    public static string Describe()
    {
        string isa = Avx512F.IsSupported ? "AVX-512" : Avx2.IsSupported ? "AVX2" : "no AVX2";
        return $"{Processor()}, {Vector<float>.Count * 32}-bit vectors ({isa} enabled)";
    }

    private static string Processor()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
