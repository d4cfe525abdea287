using System.Runtime.InteropServices;

namespace Descent.Data;

/// <summary>
/// Memory for large feature arrays. A minibatch gathers its rows at random from the whole training set, and with the
/// usual 4 KiB pages nearly every row of a large set (MNIST: 188 MB of 3 KiB rows) costs a miss of the address
/// translation cache besides its cache misses. On Linux, arrays of at least <see cref="HugeFrom"/> bytes are therefore
/// allocated pinned and their 2 MiB-aligned interior is advised for transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>)
/// before anything is written, so the kernel backs them with 2 MiB pages where transparent huge pages are enabled
/// <c>always</c> or <c>madvise</c> (many distributions' default). Elsewhere, or when the advice is refused, they are
/// ordinary arrays; the values are the same either way.
/// </summary>
public static partial class FeatureMemory
{
    /// <summary>The size from which an array is advised for huge pages: a few of them.</summary>
    public const long HugeFrom = 4 << 20;

    private const long Huge = 2 << 20;
    private const int MadviseHugePage = 14;

    /// <summary>A zeroed array of <paramref name="length"/> floats, backed by huge pages where the system allows.</summary>
    public static float[] Allocate(int length)
    {
        if (!OperatingSystem.IsLinux() || (long)length * sizeof(float) < HugeFrom) return new float[length];
        // Pinned (the pinned object heap never moves it) and not cleared by the runtime, so no page is touched before the advice.
        var array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            long start = handle.AddrOfPinnedObject(), end = start + (long)length * sizeof(float);
            long first = (start + Huge - 1) & ~(Huge - 1), last = end & ~(Huge - 1);
            if (last > first) _ = Madvise((nint)first, (nuint)(last - first), MadviseHugePage);   // advice only: refused is fine
        }
        finally
        {
            handle.Free();
        }
        Array.Clear(array);
        return array;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
