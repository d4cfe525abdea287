using System.CommandLine;
using System.Diagnostics;
using System.Net;
using Descent.Playground;

namespace Descent.Cli;

/// <summary><c>descent playground</c>: serves the interactive page on the loopback address and opens it in a browser.</summary>
internal static class PlaygroundCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var port = new Option<string>("--port") { Description = "port to listen on (0 picks a free one) [default: 8350]", HelpName = "P" };
        var bind = new Option<string>("--bind") { Description = "address to listen on; anything but the loopback address exposes the page to the network [default: 127.0.0.1]", HelpName = "ADDRESS" };
        var noBrowser = new Option<bool>("--no-browser") { Description = "do not open a browser" };
        var command = new Command("playground", "Serve the interactive optimizer playground on http://127.0.0.1 and open it.") { port, bind, noBrowser };
        command.SetAction(async (parsed, cancel) =>
        {
            int p = parsed.GetValue(port) is { } text ? Numbers.Whole(text, "--port", 0, 65535) : 8350;
            var address = IPAddress.Loopback;
            if (parsed.GetValue(bind) is { } b && !IPAddress.TryParse(b, out address!))
                throw new UsageException($"Invalid --bind value '{b}': expected an IP address such as 127.0.0.1.");
            if (!IPAddress.IsLoopback(address))
                stderr.WriteLine($"descent: warning: listening on {address}: anyone who can reach this address can use the playground and the processor time it computes with; it has no authentication.");
            LimitHeap();
            var app = Server.Build(address, p);
            try
            {
                await app.StartAsync(cancel);
            }
            catch (IOException e)
            {
                throw new UsageException($"Cannot listen on {address}:{p} ({e.Message}); choose another --port.");
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressNotAvailable)
            {
                throw new UsageException($"Cannot listen on {address}: this machine has no such address ({e.Message}); give --bind one of its own addresses, such as 127.0.0.1.");
            }
            string url = Server.Url(app);
            // A wildcard address is where the server listens, not a place to open: the browser goes to the loopback one.
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) url = $"http://127.0.0.1:{new Uri(url).Port}";
            stdout.WriteLine($"playground: {url}  (Ctrl+C to stop)");
            stdout.Flush();
            if (!parsed.GetValue(noBrowser)) OpenBrowser(url, stderr);
            try
            {
                await Task.Delay(Timeout.Infinite, cancel);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Caps the managed heap while serving: the playground is a local tool beside the user's other work,
    /// and its requests and sessions are bounded well below this (see <see cref="TrainingSessions.MaxBytes"/>),
    /// so a heap that would grow past it is a fault to report, not memory to take from the machine.
    /// </summary>
    private static void LimitHeap()
    {
        AppContext.SetData("GCHeapHardLimit", (ulong)Server.HeapLimitBytes);
        GC.RefreshMemoryLimit();
    }

    private static void OpenBrowser(string url, TextWriter stderr)
    {
        foreach (var opener in new[] { "xdg-open", "sensible-browser", "chromium" })
        {
            string? path = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, opener)).FirstOrDefault(File.Exists);
            if (path is null) continue;
            try
            {
                Process.Start(new ProcessStartInfo(path, url) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true });
                return;
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        stderr.WriteLine("descent: no browser found; open the address above yourself.");
    }
}
