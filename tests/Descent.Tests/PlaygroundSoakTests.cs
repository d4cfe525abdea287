using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Descent.Tests;

/// <summary>
/// The real <c>descent playground</c> process under a bounded burst of parallel requests on loopback:
/// its resident memory must stay bounded and come back near where it started once the burst is over.
/// </summary>
public sealed class PlaygroundSoakTests(ITestOutputHelper output)
{
    private static long Rss(Process p)
    {
        foreach (var line in File.ReadLines($"/proc/{p.Id}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) << 10;
        throw new InvalidOperationException("no VmRSS");
    }

    private static async Task<JsonElement> Post(HttpClient http, string path, string json)
    {
        var r = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{path}: {r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Waits up to <paramref name="seconds"/> for the resident memory to fall to <paramref name="target"/>; returns the last reading.</summary>
    private static async Task<long> Settle(Process p, long target, int seconds)
    {
        long rss = Rss(p);
        for (var clock = Stopwatch.StartNew(); rss > target && clock.Elapsed.TotalSeconds < seconds; rss = Rss(p)) await Task.Delay(500);
        return rss;
    }

    [Fact]
    public async Task Memory_stays_bounded_and_returns_near_its_baseline_after_a_burst()
    {
        string exe = Path.Combine(AppContext.BaseDirectory, "Descent.Cli");
        using var server = Process.Start(new ProcessStartInfo(exe, ["playground", "--port", "0", "--no-browser"])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        try
        {
            string line = (await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!;
            string url = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            Assert.StartsWith("http://127.0.0.1:", url);
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(120) };

            const string Big = "{\"n\":2000,\"hidden\":[256,256,256,256],\"noise\":0.1,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":2000,\"seed\":1}";
            const string Small = "{\"n\":200,\"hidden\":[16],\"noise\":0.1,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":32,\"seed\":1}";
            string formula = string.Join(" + ", Enumerable.Repeat("0.1*sin(x*y)", 18)) + " + x^2 + y^2";
            string trajectory = $$"""{"function":"{{formula}}","start":[1,1],"steps":5000,"optimizers":[{{string.Join(",", Enumerable.Repeat("""{"optimizer":"adam"}""", 8))}}]}""";

            // Warm up every route once, then let the server go quiet: that is the baseline.
            await http.GetStringAsync("/");
            await Post(http, "/api/surface", """{"function":"rosenbrock","resolution":50}""");
            await Post(http, "/api/trajectory", """{"function":"rosenbrock","start":[-1.5,2],"steps":100,"optimizers":[{"optimizer":"adam"}]}""");
            var warm = await Post(http, "/api/train", Small);
            await Post(http, $"/api/train/{warm.GetProperty("id").GetString()}/step", "{\"steps\":25}");
            await http.DeleteAsync($"/api/train/{warm.GetProperty("id").GetString()}");
            await Task.Delay(TimeSpan.FromSeconds(12));
            long baseline = Rss(server);

            long peak = baseline;
            using var stop = new CancellationTokenSource();
            var watch = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested) { peak = Math.Max(peak, Rss(server)); await Task.Delay(100); }
            });
            var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
            for (int round = 0; round < 3; round++)
            {
                await Task.WhenAll(Enumerable.Range(0, 9).Select(async i =>
                {
                    switch (i % 3)
                    {
                        case 0:
                            var s = await Post(http, "/api/train", Big);
                            string id = s.GetProperty("id").GetString()!;
                            ids.Add(id);
                            var r = await http.PostAsync($"/api/train/{id}/step", new StringContent("{\"steps\":5}", Encoding.UTF8, "application/json"));
                            Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest); // BadRequest: displaced by a newer session
                            break;
                        case 1:
                            await Post(http, "/api/trajectory", trajectory);
                            break;
                        default:
                            await Post(http, "/api/surface", $$"""{"function":"{{formula}}","resolution":200}""");
                            break;
                    }
                }));
            }
            foreach (var id in ids) await http.DeleteAsync($"/api/train/{id}");
            long after = await Settle(server, baseline + (48L << 20), 40);
            stop.Cancel();
            await watch;
            output.WriteLine($"resident memory: baseline {baseline >> 20} MB, peak {peak >> 20} MB, {after >> 20} MB after the burst");
            Assert.True(peak < 900L << 20, $"peak resident memory {peak >> 20} MB (baseline {baseline >> 20} MB)");
            Assert.True(after <= baseline + (48L << 20), $"resident memory {after >> 20} MB after the burst, baseline {baseline >> 20} MB, peak {peak >> 20} MB");
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
        }
    }
}
