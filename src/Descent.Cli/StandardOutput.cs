using System.Runtime.InteropServices;
using System.Text;

namespace Descent.Cli;

/// <summary>Standard output's reader went away (a closed pipe, as in <c>descent trajectory ... | head</c>): stop quietly.</summary>
public sealed class ReaderGoneException() : Exception("The reader of standard output went away.");

/// <summary>
/// Standard output as a buffered writer that notices when its reader goes away. .NET's console stream
/// ignores a broken pipe (EPIPE) and keeps accepting text, so a command streaming millions of rows into
/// <c>| head -2</c> would run to its end; this one calls write(2) on descriptor 1 itself and throws
/// <see cref="ReaderGoneException"/> on EPIPE. It writes at the descriptor's shared offset, as the console
/// does, so <c>&gt; log 2&gt;&amp;1</c> interleaves with standard error instead of overwriting it.
/// </summary>
public static partial class StandardOutput
{
    /// <summary>A writer on descriptor 1 (on Windows, the console's own stream).</summary>
    public static TextWriter Open() => OperatingSystem.IsWindows()
        ? Console.Out
        : new StreamWriter(new DescriptorStream(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };

    private const int EINTR = 4, EPIPE = 32;

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, ref byte buffer, nint count);

    private sealed class DescriptorStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (buffer.Length > 0)
            {
                nint written = StandardOutput.Write(1, ref MemoryMarshal.GetReference(buffer), buffer.Length);
                if (written >= 0)
                {
                    buffer = buffer[(int)written..];
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == EPIPE) throw new ReaderGoneException();
                throw new IOException($"Cannot write to standard output (error {errno}).");
            }
        }
    }
}
