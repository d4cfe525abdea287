using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Descent.Playground;
using Descent.Training;
using Microsoft.AspNetCore.Builder;
using Xunit;

namespace Descent.Tests;

/// <summary>The playground's HTTP API on a real server bound to a free loopback port.</summary>
public sealed class PlaygroundApiTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _app = Server.Build(IPAddress.Loopback, 0);
        await _app.StartAsync();
        _http.BaseAddress = new Uri(Server.Url(_app));
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, string json, string type = "application/json")
    {
        var response = await _http.PostAsync(path, new StringContent(json, Encoding.UTF8, type));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement : default);
    }

    [Fact]
    public async Task Serves_the_page_and_its_scripts_from_the_assembly_and_binds_to_loopback()
    {
        Assert.StartsWith("http://127.0.0.1:", Server.Url(_app));
        Assert.Contains("<canvas id=\"surface\"", await _http.GetStringAsync("/"));
        Assert.Equal(await _http.GetStringAsync("/"), await _http.GetStringAsync("/index.html"));
        Assert.Contains("api(\"/api/trajectory\"", await _http.GetStringAsync("/app.js"));
        Assert.Contains("#controls", await _http.GetStringAsync("/style.css"));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/../../etc/passwd")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/README.md")).StatusCode);
    }

    [Fact]
    public async Task Trajectories_are_the_library_paths()
    {
        var (status, body) = await Post("/api/trajectory", """{"function":"rosenbrock","start":[-1.5,2],"steps":25,"optimizers":[{"optimizer":"adam","hyperparameters":{"lr":0.05,"amsgrad":true}}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var options = Descent.Optim.Optimizers.DefaultOptions("adam");
        options.LearningRate = 0.05;
        options.Set("amsgrad", 1);
        var expected = Descent.Landscapes.Trajectory.Run(Descent.Landscapes.Landscape.Get("rosenbrock"), "adam", options, (-1.5, 2), 25);
        var path = body.GetProperty("runs")[0].GetProperty("path");
        Assert.Equal(26, path.GetArrayLength());
        for (int k = 0; k <= 25; k++)
        {
            Assert.Equal(expected[k].X, path[k][0].GetDouble());
            Assert.Equal(expected[k].Loss, path[k][2].GetDouble());
        }
    }

    [Theory]
    [InlineData("""{"function":"x^2 + * y","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "at character 7", 6)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":20001,"optimizers":[{"optimizer":"adam"}]}""", "steps must be between 0 and 20000", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":-1,"optimizers":[{"optimizer":"adam"}]}""", "steps must be between", null)]
    [InlineData("""{"function":"rosenbrock","start":[1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "start must be two finite numbers", null)]
    [InlineData("""{"function":"rosenbrock","start":[1e300,1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "start must be two finite numbers", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[]}""", "between 1 and 8 optimizers", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adamm"}]}""", "Unknown optimizer 'adamm' (did you mean 'adam'?)", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"muon"}]}""", "muon updates 2-D weight matrices only", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"momentum":0.9}}]}""", "Unknown hyperparameter 'momentum' for adam: valid names are", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"beta1":1.5}}]}""", "Invalid beta1: 1.5", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"lr":"fast"}}]}""", "adam.lr must be a number", null)]
    [InlineData("""{"function":"","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "function is missing", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"sgd","hyperparameters":{"nesterov":true}}]}""", "Nesterov momentum requires", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"eps_outside_max":true}}]}""", "Unknown hyperparameter 'eps_outside_max' for adam: valid names are", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"nadam","hyperparameters":{"threshold":6}}]}""", "Unknown hyperparameter 'threshold' for nadam: valid names are", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"amsgrad_bias_corrected":true}}]}""", "Invalid amsgrad_bias_corrected: it changes AMSGrad's maximum only; also set amsgrad.", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"radam","hyperparameters":{"eps_after_bias_correction":true,"eps_inside_sqrt":true}}]}""", "Invalid eps_after_bias_correction", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"radam","hyperparameters":{"threshold":3}}]}""", "Invalid threshold: 3", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"weight_decay":0.1,"independent_weight_decay":true}}]}""", "Invalid independent_weight_decay", null)]
    [InlineData("""{bad json""", "malformed JSON", null)]
    [InlineData("""[1,2,3]""", "the request must be a JSON object.", null)]
    // A value of the wrong kind is named by its field, in JSON's words, not by the .NET type it is read into.
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":3.5,"optimizers":[{"optimizer":"adam"}]}""", "steps must be a whole number from -2147483648 to 2147483647, without a fraction or exponent.", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,"a"],"steps":3,"optimizers":[{"optimizer":"adam"}]}""", "start[1] must be a finite number.", null)]
    [InlineData("""{"function":"rosenbrock","start":1,"steps":3,"optimizers":[{"optimizer":"adam"}]}""", "start must be a list of finite numbers.", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":3,"optimizers":[{"optimizer":"adam","label":5}]}""", "optimizers[0].label must be a string.", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":3,"optimizers":[{"optimizer":"adam","hyperparameters":[]}]}""", "optimizers[0].hyperparameters must be a JSON object.", null)]
    [InlineData("""{"function":"rosenbrock","start":[1e400,1],"steps":3,"optimizers":[{"optimizer":"adam"}]}""", "start must be two finite numbers", null)]
    public async Task Invalid_trajectory_requests_get_400_with_a_message(string json, string message, int? position)
    {
        var (status, body) = await Post("/api/trajectory", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        string error = body.GetProperty("error").GetString()!;
        Assert.Contains(message, error);
        Assert.DoesNotContain("Descent.", error);
        Assert.DoesNotContain("System.", error);
        if (position is int p) Assert.Equal(p, body.GetProperty("position").GetInt32());
    }

    [Fact]
    public async Task Too_many_optimizers_long_expressions_and_oversized_bodies_are_refused()
    {
        string nine = string.Join(",", Enumerable.Repeat("""{"optimizer":"adam"}""", 9));
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("/api/trajectory", $$"""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{{nine}}]}""")).Status);
        var (status, body) = await Post("/api/trajectory", $$"""{"function":"{{string.Join("+", Enumerable.Repeat("x", 200))}}","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("the limit is 300", body.GetProperty("error").GetString());
        var big = await _http.PostAsync("/api/trajectory", new StringContent(new string(' ', 100_000) + "{}", Encoding.UTF8, "application/json"));
        Assert.True(big.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, big.StatusCode.ToString());
        (status, body) = await Post("/api/trajectory", "{}", "text/plain");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("as JSON", body.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{"function":"rosenbrock","resolution":201}""", "resolution must be between 2 and 200")]
    [InlineData("""{"function":"rosenbrock","resolution":1}""", "resolution must be between")]
    [InlineData("""{"function":"rosenbrock","resolution":50,"view":[1,0,0,1]}""", "xmin < xmax")]
    [InlineData("""{"function":"rosenbrock","resolution":50,"view":[0,1,0]}""", "view must be")]
    [InlineData("""{"function":"sin(","resolution":50}""", "at the end")]
    public async Task Invalid_surface_requests_get_400_with_a_message(string json, string message)
    {
        var (status, body) = await Post("/api/surface", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Surfaces_and_catalogues_answer_and_concurrent_requests_do_not_interfere()
    {
        var (status, body) = await Post("/api/surface", """{"function":"x^2 - y^2","resolution":3,"view":[-1,1,-1,1]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([0.0, -1, 0, 1, 0, 1, 0, -1, 0], body.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()));
        var optimizers = await _http.GetFromJsonAsync<JsonElement>("/api/optimizers");
        Assert.Equal(Descent.Optim.Optimizers.Names.Where(n => n != "muon"), optimizers.EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        var tasks = Enumerable.Range(1, 12).Select(i => Post("/api/trajectory",
            $$$"""{"function":"rosenbrock","start":[-1.5,2],"steps":400,"optimizers":[{"optimizer":"sgd","hyperparameters":{"lr":{{{0.0001 * i}}}}}]}""")).ToArray();
        var answers = await Task.WhenAll(tasks);
        for (int i = 0; i < answers.Length; i++)
        {
            var options = Descent.Optim.Optimizers.DefaultOptions("sgd");
            options.LearningRate = 0.0001 * (i + 1);
            var expected = Descent.Landscapes.Trajectory.Run(Descent.Landscapes.Landscape.Get("rosenbrock"), "sgd", options, (-1.5, 2), 400);
            Assert.Equal(expected[^1].X, answers[i].Body.GetProperty("runs")[0].GetProperty("path")[400][0].GetDouble());
        }
    }

    /// <summary>The playground's catalogue is each optimizer's hyperparameter table, and a convention option set on the page runs the library's rule.</summary>
    [Theory]
    [InlineData("adamax", "eps_outside_max")]
    [InlineData("adam", "amsgrad_bias_corrected")]
    [InlineData("radam", "eps_after_bias_correction")]
    public async Task Convention_options_come_from_the_tables_and_run_the_librarys_rule(string optimizer, string option)
    {
        var catalogue = await _http.GetFromJsonAsync<JsonElement>("/api/optimizers");
        foreach (var entry in catalogue.EnumerateArray())
            Assert.Equal(Descent.Optim.Optimizers.DefaultOptions(entry.GetProperty("name").GetString()!).Hyperparameters.Select(h => h.Name),
                entry.GetProperty("hyperparameters").EnumerateArray().Select(h => h.GetProperty("name").GetString()));
        var settings = new Dictionary<string, object> { ["lr"] = 0.25, ["eps"] = 0.1, [option] = true };
        if (optimizer == "adam") settings["amsgrad"] = true;
        string request = JsonSerializer.Serialize(new { function = "ravine", start = new[] { 5, 1 }, steps = 60, optimizers = new[] { new { optimizer, hyperparameters = settings } } });
        var (status, body) = await Post("/api/trajectory", request);
        Assert.Equal(HttpStatusCode.OK, status);
        var options = Descent.Optim.Optimizers.DefaultOptions(optimizer);
        options.Set("lr", 0.25);
        options.Set("eps", 0.1);
        if (optimizer == "adam") options.Set("amsgrad", 1);
        options.Set(option, 1);
        var expected = Descent.Landscapes.Trajectory.Run(Descent.Landscapes.Landscape.Get("ravine"), optimizer, options, (5, 1), 60);
        var path = body.GetProperty("runs")[0].GetProperty("path");
        Assert.Equal(expected[^1].X, path[60][0].GetDouble());
        Assert.Equal(expected[^1].Y, path[60][1].GetDouble());
        options.Set(option, 0);
        Assert.NotEqual(Descent.Landscapes.Trajectory.Run(Descent.Landscapes.Landscape.Get("ravine"), optimizer, options, (5, 1), 60)[^1].X, path[60][0].GetDouble());
    }

    private const string Moons = "\"noise\":0.1,\"flip\":0.1,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":32,\"seed\":1";

    [Theory]
    [InlineData("{\"n\":5,\"hidden\":[8]," + Moons + "}", "n must be between 10 and 2000")]
    [InlineData("{\"hidden\":[8]," + Moons + "}", "n is missing: give the number of training points, 10 to 2000.")]
    [InlineData("{\"n\":100," + Moons + "}", "hidden is missing")]
    [InlineData("{\"n\":100,\"hidden\":[8],\"noise\":0.1,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"seed\":1}", "batch is missing: give the minibatch size, 1 to 2000.")]
    [InlineData("{\"n\":100,\"hidden\":[8],\"noise\":0.1,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":8,\"seed\":-1}", "seed must be a whole number from 0 to 18446744073709551615, without a fraction or exponent.")]
    [InlineData("{\"n\":100,\"hidden\":8," + Moons + "}", "hidden must be a list of whole numbers from -2147483648 to 2147483647, without fractions or exponents.")]
    [InlineData("{\"n\":100,\"hidden\":[8,8,8,8,8]," + Moons + "}", "at most 4 layer widths")]
    [InlineData("{\"n\":100,\"hidden\":[1000]," + Moons + "}", "each between 1 and 256")]
    [InlineData("{\"n\":100,\"hidden\":[8],\"noise\":5,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":8,\"seed\":1}", "noise must be between 0 and 2")]
    [InlineData("{\"n\":100,\"hidden\":[8],\"stretch\":[0,1]," + Moons + "}", "stretch must be two factors")]
    [InlineData("{\"n\":100,\"hidden\":[8],\"noise\":0.1,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"hyperparameters\":{\"lr\":-1},\"batch\":8,\"seed\":1}", "Invalid lr: -1")]
    [InlineData("{\"n\":100,\"hidden\":[8],\"noise\":0.1,\"flip\":0,\"activation\":\"swish\",\"optimizer\":\"adam\",\"batch\":8,\"seed\":1}", "Unknown activation 'swish'")]
    public async Task Invalid_training_requests_get_400_with_a_message(string json, string message)
    {
        var (status, body) = await Post("/api/train", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Training_sessions_step_independently_and_end_on_request()
    {
        var (s1, a) = await Post("/api/train", "{\"n\":200,\"hidden\":[16]," + Moons + "}");
        var (s2, b) = await Post("/api/train", "{\"n\":200,\"hidden\":[16]," + Moons + "}");
        Assert.Equal(HttpStatusCode.OK, s1);
        Assert.Equal(HttpStatusCode.OK, s2);
        string ia = a.GetProperty("id").GetString()!, ib = b.GetProperty("id").GetString()!;
        Assert.Equal(200, a.GetProperty("points").GetArrayLength());
        var (_, stepped) = await Post($"/api/train/{ia}/step", "{\"steps\":300}");
        Assert.Equal(300, stepped.GetProperty("step").GetInt32());
        Assert.Equal(TrainingSessions.Grid * TrainingSessions.Grid, stepped.GetProperty("probability").GetArrayLength());
        Assert.True(stepped.GetProperty("trainLoss").GetDouble() < a.GetProperty("state").GetProperty("trainLoss").GetDouble());
        var (_, other) = await Post($"/api/train/{ib}/step", "{\"steps\":0}");
        Assert.Equal(0, other.GetProperty("step").GetInt32());
        var (tooMany, message) = await Post($"/api/train/{ia}/step", "{\"steps\":5000}");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany);
        Assert.Contains("steps must be between 0 and 2000", message.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync($"/api/train/{ia}")).StatusCode);
        var (gone, why) = await Post($"/api/train/{ia}/step", "{\"steps\":1}");
        Assert.Equal(HttpStatusCode.BadRequest, gone);
        Assert.Contains("no training session", why.GetProperty("error").GetString());
    }

    [Fact]
    public void A_cancelled_request_stops_its_computation()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var request = new TrajectoryRequest("rosenbrock", [-1.5, 2], 5000, [new OptimizerRequest("adam", null, null)]);
        Assert.ThrowsAny<OperationCanceledException>(() => Api.Trajectories(request, cancelled.Token));
        var sessions = new TrainingSessions();
        var start = JsonSerializer.SerializeToElement(sessions.Start(new TrainStartRequest(100, 0.1, 0, null, [8], "relu", "adam", null, null, 16, 1)));
        Assert.ThrowsAny<OperationCanceledException>(() => sessions.Step(start.GetProperty("id").GetString()!, 1000, cancelled.Token));
    }

    private async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? host = null, string? origin = null, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (host is not null) request.Headers.Host = host;
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return await _http.SendAsync(request);
    }

    [Fact]
    public async Task Only_the_bound_host_names_are_served_and_other_origins_cannot_change_state()
    {
        int port = _http.BaseAddress!.Port;
        string start = "{\"n\":50,\"hidden\":[4]," + Moons + "}";
        // DNS rebinding: a page at evil.example resolved to 127.0.0.1 sends its own name as the Host.
        foreach (var host in new[] { $"evil.example:{port}", "evil.example", $"127.0.0.1:{port + 1}", $"localhost.evil.example:{port}" })
        {
            var page = await Send(HttpMethod.Get, "/", host);
            Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
            Assert.Contains("answers only to", await page.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, "/api/train", host, $"http://{host}", start)).StatusCode);
        }
        foreach (var host in new[] { $"127.0.0.1:{port}", $"localhost:{port}", $"LOCALHOST:{port}", $"[::1]:{port}" })
            Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "/api/optimizers", host)).StatusCode);

        var refused = await Send(HttpMethod.Post, "/api/train", $"127.0.0.1:{port}", $"http://evil.example:{port}", start);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("not from origin 'http://evil.example:", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Post, "/api/train", null, "null", start)).StatusCode);
        var own = await Send(HttpMethod.Post, "/api/train", $"localhost:{port}", $"http://localhost:{port}", start);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        string id = JsonDocument.Parse(await own.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Delete, $"/api/train/{id}", null, "https://evil.example")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/train/{id}", null, $"http://127.0.0.1:{port}")).StatusCode);
    }

    [Fact]
    public async Task The_page_forbids_inline_script_and_carries_none()
    {
        var page = await _http.GetAsync("/");
        string policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", policy);
        Assert.DoesNotContain("unsafe-inline", policy);
        Assert.Contains("nosniff", string.Join(",", page.Headers.GetValues("X-Content-Type-Options")));
        string html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(@"<script[^>]*>\s*[^<\s]", html);        // no inline script body
        Assert.DoesNotMatch(@"\son[a-z]+\s*=", html);                 // no inline event handlers
        Assert.DoesNotMatch(@"\sstyle\s*=", html);                    // no inline styles (the policy forbids them too)
        Assert.DoesNotContain("innerHTML", await _http.GetStringAsync("/app.js"));
        Assert.DoesNotContain("insertAdjacentHTML", await _http.GetStringAsync("/app.js"));
    }

    [Fact]
    public async Task Training_work_is_capped_per_request_and_the_message_says_the_cap()
    {
        using var http = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var started = await http.PostAsync("/api/train", new StringContent("{\"n\":2000,\"hidden\":[256,256,256,256],\"noise\":0.1,\"flip\":0,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":2000,\"seed\":1}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var body = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement;
        string id = body.GetProperty("id").GetString()!;
        // The request that held a core for 145 s is refused at once, naming the cap and what would fit.
        var tooMuch = await http.PostAsync($"/api/train/{id}/step", new StringContent("{\"steps\":2000}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, tooMuch.StatusCode);
        string message = JsonDocument.Parse(await tooMuch.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
        int maxSteps = body.GetProperty("maxSteps").GetInt32();
        long parameters = body.GetProperty("parameters").GetInt64();
        Assert.Equal(198_658, parameters);
        Assert.Equal((int)(Limits.MaxTrainingWork / Limits.TrainingWork(1, 2000, Limits.ExampleCost(parameters, 4 * 256, "relu"))), maxSteps);
        Assert.InRange(maxSteps, 1, 100);
        Assert.Contains("over the cap of 2E+10", message);
        Assert.Contains($"ask for at most {maxSteps} steps", message);
        var fits = await http.PostAsync($"/api/train/{id}/step", new StringContent($"{{\"steps\":{maxSteps}}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        await http.DeleteAsync($"/api/train/{id}");
    }

    [Theory]
    [InlineData("{\"accumulate\":17}", "wrappers.accumulate must be between 1 and 16 minibatches per update, got 17.")]
    [InlineData("{\"accumulate\":0}", "wrappers.accumulate must be between 1 and 16")]
    [InlineData("{\"sam\":0}", "wrappers.sam (rho) must be in (0, 10], e.g. 0.05, got 0")]
    [InlineData("{\"sam\":10.5}", "wrappers.sam (rho) must be in (0, 10]")]
    [InlineData("{\"lookahead\":101}", "wrappers.lookahead (k) must be between 1 and 100 updates, got 101")]
    [InlineData("{\"lookahead\":5,\"lookaheadAlpha\":0}", "wrappers.lookaheadAlpha must be in (0, 1], got 0.")]
    [InlineData("{\"lookahead\":5,\"lookaheadAlpha\":1.5}", "wrappers.lookaheadAlpha must be in (0, 1], got 1.5.")]
    [InlineData("{\"lookaheadAlpha\":0.5}", "wrappers.lookaheadAlpha has no effect without wrappers.lookahead (k).")]
    [InlineData("{\"ema\":1}", "wrappers.ema (decay) must be in [0, 1), e.g. 0.99 (0 is off), got 1.")]
    [InlineData("{\"ema\":-0.5}", "wrappers.ema (decay) must be in [0, 1)")]
    [InlineData("{\"swaStart\":-1}", "wrappers.swaStart must be between 0 and 100000 updates, got -1.")]
    [InlineData("{\"swaStart\":10,\"swaLr\":20}", "wrappers.swaLr must be in (0, 10], got 20.")]
    // The combinations are the library's checks, named by the request field.
    [InlineData("{\"ema\":0.9,\"swaStart\":10}", "Choose one weight average: an EMA or SWA, not both (wrappers.ema).")]
    [InlineData("{\"emaWarmup\":true}", "The EMA warmup needs an EMA decay (wrappers.emaWarmup).")]
    [InlineData("{\"samAdaptive\":true}", "Adaptive SAM needs a SAM radius rho (wrappers.samAdaptive).")]
    [InlineData("{\"swaLr\":0.01}", "(wrappers.swaStart).")]
    [InlineData("{\"swaStart\":10,\"swaLr\":0.01,\"swaAnnealSteps\":100001}", "wrappers.swaAnnealSteps must be between 0 and 100000 updates, got 100001.")]
    [InlineData("{\"swaStart\":10,\"swaLr\":0.01,\"swaAnnealSteps\":-1}", "wrappers.swaAnnealSteps must be between 0 and 100000 updates, got -1.")]
    [InlineData("{\"swaStart\":10,\"swaLr\":0.01,\"swaAnnealSteps\":2.5}", "wrappers.swaAnnealSteps must be a whole number from -9223372036854775808 to 9223372036854775807, without a fraction or exponent.")]
    [InlineData("{\"swaStart\":10,\"swaLr\":0.01,\"swaAnneal\":\"cosine\"}", "wrappers.swaAnneal must be cos or linear, got 'cosine'.")]
    [InlineData("{\"swaStart\":10,\"swaAnnealSteps\":5}", "wrappers.swaAnnealSteps and wrappers.swaAnneal shape the anneal to wrappers.swaLr; give wrappers.swaLr too.")]
    [InlineData("{\"swaAnneal\":\"linear\"}", "shape the anneal to wrappers.swaLr; give wrappers.swaLr and wrappers.swaStart too.")]
    [InlineData("{\"swaLr\":0.01,\"swaAnnealSteps\":5,\"swaAnneal\":\"linear\"}", "(wrappers.swaStart).")]
    [InlineData("{\"sam\":0.05,\"accumulate\":2}", "Choose SAM or gradient accumulation, not both: SAM's second gradient would be taken of one minibatch while the update averages several; drop one of them (wrappers.sam and wrappers.accumulate).")]
    public async Task Wrappers_out_of_range_or_in_refused_combinations_are_refused_naming_the_field(string wrappers, string message)
    {
        var (status, body) = await Post("/api/train", "{\"n\":50,\"hidden\":[4]," + Moons + ",\"wrappers\":" + wrappers + "}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body.GetProperty("error").GetString());
    }

    /// <summary>
    /// SWALR's anneal set in the playground is the trainer's: update by update the same learning rate, losses and, at the
    /// end, the same boundary as <c>descent train</c>'s config; and its length and shape are used (a linear anneal is not the
    /// cosine one, and both reach the SWA rate after the steps asked for, not the default 10).
    /// </summary>
    [Fact]
    public void The_swa_anneal_is_the_trainers_and_its_steps_and_shape_change_the_rates()
    {
        const int Steps = 12, SwaStart = 5, Anneal = 4;
        const double Lr = 0.05, SwaLr = 0.005;
        using var sessions = new TrainingSessions();
        double[] Rates(string shape)
        {
            var request = new TrainStartRequest(100, 0.1, 0, null, [8], "tanh", "adam", new() { ["lr"] = JsonSerializer.SerializeToElement(Lr) }, null, 10, 7,
                new TrainWrappers(SwaStart: SwaStart, SwaLr: SwaLr, SwaAnnealSteps: Anneal, SwaAnneal: shape));
            string id = JsonSerializer.SerializeToElement(sessions.Start(request)).GetProperty("id").GetString()!;
            var trainer = new Trainer(TrainingLoopTests.PlaygroundSession("adam") with { SwaStart = SwaStart, SwaLr = SwaLr, SwaAnnealSteps = Anneal, SwaAnneal = shape });
            var rates = new double[Steps];
            JsonElement state = default;
            for (int k = 0; k < Steps; k++)
            {
                state = JsonSerializer.SerializeToElement(sessions.Step(id, 1, CancellationToken.None));
                trainer.TrainStep();
                rates[k] = state.GetProperty("learningRate").GetDouble();
                Assert.Equal(trainer.LearningRate, rates[k]);
                Assert.Equal(trainer.Evaluate(trainer.Train).Loss, state.GetProperty("trainLoss").GetDouble());
                Assert.Equal(trainer.Evaluate(trainer.Test).Loss, state.GetProperty("testLoss").GetDouble());
            }
            float[] view = [.. state.GetProperty("view").EnumerateArray().Select(v => v.GetSingle())];
            double[] atAverage = [];
            trainer.AtEvaluationPoint(() => atAverage = TrainingLoopTests.Boundary(trainer, view));
            Assert.Equal(atAverage, state.GetProperty("probability").EnumerateArray().Select(p => p.GetDouble()));
            return rates;
        }
        double[] cos = Rates("cos"), linear = Rates("linear");
        for (int update = 1; update <= Steps; update++)
        {
            double x = Math.Clamp((update - SwaStart) / (double)Anneal, 0, 1);
            Assert.Equal(SwaLr * x + Lr * (1 - x), linear[update - 1], 1e-12);
            double alpha = (1 - Math.Cos(Math.PI * x)) / 2;
            Assert.Equal(SwaLr * alpha + Lr * (1 - alpha), cos[update - 1], 1e-12);
        }
        Assert.NotEqual(cos[SwaStart], linear[SwaStart]);   // the first annealed update (they meet half way, at update 7)
        Assert.NotEqual(SwaLr, linear[SwaStart + Anneal - 2]);
        Assert.Equal(SwaLr, linear[SwaStart + Anneal - 1]); // exactly the SWA rate at the anneal's last update, not after the default 10
        Assert.Equal(SwaLr, cos[SwaStart + Anneal - 1]);
    }

    [Fact]
    public void Sam_and_accumulation_count_their_extra_gradients_in_the_work_cap()
    {
        using var sessions = new TrainingSessions();
        int MaxSteps(TrainWrappers? wrappers, out string id)
        {
            var start = JsonSerializer.SerializeToElement(sessions.Start(new TrainStartRequest(1000, 0.1, 0, null, [256, 256], "relu", "adam", null, null, 1000, 1, wrappers)));
            id = start.GetProperty("id").GetString()!;
            long parameters = start.GetProperty("parameters").GetInt64();
            int gradients = wrappers?.GradientsPerUpdate ?? 1;
            Assert.Equal((int)(Limits.MaxTrainingWork / Limits.TrainingWork(1, 1000, Limits.ExampleCost(parameters, 512, "relu"), gradients)), start.GetProperty("maxSteps").GetInt32());
            return start.GetProperty("maxSteps").GetInt32();
        }
        int plain = MaxSteps(null, out _);
        int sam = MaxSteps(new TrainWrappers(Sam: 0.05), out _);
        int accumulated = MaxSteps(new TrainWrappers(Accumulate: 4), out string id);
        Assert.InRange(plain, 100, 1000);
        Assert.InRange(sam, plain / 2 - 1, plain / 2 + 1);
        Assert.InRange(accumulated, plain / 4 - 1, plain / 4 + 1);
        Assert.Equal(plain, MaxSteps(new TrainWrappers(Lookahead: 5, Ema: 0.9), out _)); // one pass over the parameters an update, not a gradient
        var refused = Assert.Throws<BadRequest>(() => sessions.Step(id, accumulated + 1, CancellationToken.None));
        Assert.Contains("x 4 gradients an update", refused.Message);
        Assert.Contains($"ask for at most {accumulated} steps", refused.Message);
    }

    [Theory]
    [InlineData("gelu")]
    [InlineData("tanh")]
    [InlineData("sigmoid")]
    public async Task Costly_activations_count_in_the_cap_and_a_request_stops_at_its_time_budget(string activation)
    {
        // One hidden layer of 256 with GELU had run 140 s in a request the parameter count alone let through.
        using var http = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var started = await http.PostAsync("/api/train", new StringContent($"{{\"n\":2000,\"hidden\":[256],\"noise\":0.1,\"flip\":0,\"activation\":\"{activation}\",\"optimizer\":\"adam\",\"batch\":2000,\"seed\":1}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var body = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement;
        string id = body.GetProperty("id").GetString()!;
        int maxSteps = body.GetProperty("maxSteps").GetInt32();
        long parameters = body.GetProperty("parameters").GetInt64();
        Assert.Equal((int)(Limits.MaxTrainingWork / Limits.TrainingWork(1, 2000, Limits.ExampleCost(parameters, 256, activation))), maxSteps);
        Assert.True(maxSteps < Limits.MaxTrainingWork / Limits.TrainingWork(1, 2000, Limits.ExampleCost(parameters, 256, "relu")) / 2, $"{activation}: {maxSteps} steps allowed");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var step = await http.PostAsync($"/api/train/{id}/step", new StringContent($"{{\"steps\":{maxSteps}}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, step.StatusCode);
        // Not a speed assertion: a bound five times the budget, to show the request cannot run for minutes.
        Assert.True(clock.Elapsed.TotalSeconds < 5 * Limits.MaxTrainingSeconds, $"{activation}: {clock.Elapsed.TotalSeconds:F1} s");
        var state = JsonDocument.Parse(await step.Content.ReadAsStringAsync()).RootElement;
        Assert.InRange(state.GetProperty("step").GetInt32(), 1, maxSteps);
        await http.DeleteAsync($"/api/train/{id}");
    }

    [Fact]
    public async Task Trajectory_work_is_capped_as_steps_times_optimizers()
    {
        string Request(int steps, int optimizers) =>
            $$"""{"function":"rosenbrock","start":[-1.5,2],"steps":{{steps}},"optimizers":[{{string.Join(",", Enumerable.Repeat("""{"optimizer":"adam"}""", optimizers))}}]}""";
        var (status, body) = await Post("/api/trajectory", Request(6000, 8));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("48000 updates; the cap is 40000 a request (steps x optimizers): ask for at most 5000 steps for 8 optimizers", body.GetProperty("error").GetString());
        (status, body) = await Post("/api/trajectory", Request(15000, 3));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("ask for at most 13333 steps for 3 optimizers", body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Post("/api/trajectory", Request(13333, 3))).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post("/api/trajectory", Request(20000, 1))).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post("/api/trajectory", Request(5000, 8))).Status);
    }

    [Fact]
    public async Task A_start_where_the_surface_is_not_defined_is_refused_with_a_message()
    {
        var (status, body) = await Post("/api/trajectory", """{"function":"log(x) + y^2","start":[-1,0.5],"steps":10,"optimizers":[{"optimizer":"adam"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("the surface is not defined at the start (-1, 0.5)", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Idle_sessions_expire_on_a_timer_without_a_new_request()
    {
        using var sessions = new TrainingSessions(idle: TimeSpan.FromMilliseconds(300), check: TimeSpan.FromMilliseconds(100));
        int released = 0;
        sessions.Released += () => Interlocked.Increment(ref released);
        sessions.Start(new TrainStartRequest(50, 0.1, 0, null, [4], "relu", "adam", null, null, 8, 1));
        Assert.Equal(1, sessions.Count);
        // The timer drops the session, then raises Released: wait for both (reading the count alone raced the event).
        for (int i = 0; i < 100 && (sessions.Count > 0 || Volatile.Read(ref released) == 0); i++) await Task.Delay(50);
        Assert.Equal(0, sessions.Count);
        Assert.True(Volatile.Read(ref released) > 0);
    }

    [Fact]
    public void A_new_session_displaces_the_least_recently_used_one_instead_of_locking_the_user_out()
    {
        using var sessions = new TrainingSessions();
        var ids = new List<string>();
        for (int i = 0; i < TrainingSessions.MaxSessions + 5; i++)
            ids.Add(JsonSerializer.SerializeToElement(sessions.Start(new TrainStartRequest(50, 0.1, 0, null, [4], "relu", "adam", null, null, 8, 1))).GetProperty("id").GetString()!);
        Assert.Equal(TrainingSessions.MaxSessions, sessions.Count);
        var gone = Assert.Throws<BadRequest>(() => sessions.Step(ids[0], 1, CancellationToken.None));
        Assert.Contains("closed to make room", gone.Message);
        sessions.Step(ids[^1], 1, CancellationToken.None);
        // Big sessions are bounded by memory too: the newest always fits, the oldest make room.
        using var big = new TrainingSessions();
        for (int i = 0; i < 12; i++)
            big.Start(new TrainStartRequest(2000, 0.1, 0, null, [256, 256, 256, 256], "relu", "adam", null, null, 2000, 1));
        Assert.InRange(big.Count, 1, (int)(TrainingSessions.MaxBytes / (25L << 20)));
    }

    [Fact]
    public async Task A_page_can_end_its_session_with_a_beacon_post()
    {
        var (_, started) = await Post("/api/train", "{\"n\":50,\"hidden\":[4]," + Moons + "}");
        string id = started.GetProperty("id").GetString()!;
        var beacon = await _http.PostAsync($"/api/train/{id}/stop", new StringContent("", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.NoContent, beacon.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync($"/api/train/{id}/stop", null)).StatusCode);
    }

    [Theory]
    [InlineData("10.1.2.3:8350", null, null)]
    [InlineData("127.0.0.1:8350", null, null)]
    [InlineData("10.1.2.3:8351", null, 400)]
    [InlineData("evil.example:8350", null, 400)]
    [InlineData("10.1.2.3:8350", "http://10.1.2.3:8350", null)]
    [InlineData("10.1.2.3:8350", "http://evil.example:8350", 403)]
    public void A_server_bound_to_another_address_answers_to_that_address_too(string host, string? origin, int? status)
    {
        var check = new HostCheck(IPAddress.Parse("10.1.2.3"));
        var http = Request("POST", host);
        if (origin is not null) http.Request.Headers.Origin = origin;
        Assert.Equal(status, check.Refusal(http.Request, 8350)?.Status);
    }

    [Fact]
    public async Task Lbfgs_is_capped_per_step_and_counted_by_its_evaluations()
    {
        // One link with max_iter 1e15 had run a single L-BFGS step without end on a surface where the loss never settles.
        var (status, body) = await Post("/api/trajectory", """{"function":"x","start":[0,0],"steps":1,"optimizers":[{"optimizer":"lbfgs","hyperparameters":{"max_iter":1e15}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("lbfgs.max_iter is 1000000000000000; the playground allows at most 100 (it sets the work of one step).", body.GetProperty("error").GetString());
        (status, body) = await Post("/api/trajectory", """{"function":"x","start":[0,0],"steps":20000,"optimizers":[{"optimizer":"lbfgs","hyperparameters":{"max_iter":100}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("20000 steps of these optimizers can take 2520000 evaluations of the surface", body.GetProperty("error").GetString());
        Assert.Contains("ask for at most 4761 steps of these optimizers", body.GetProperty("error").GetString());
        (status, _) = await Post("/api/trajectory", """{"function":"x","start":[0,0],"steps":20000,"optimizers":[{"optimizer":"lbfgs"}]}""");
        Assert.Equal(HttpStatusCode.OK, status);   // one default L-BFGS run of the most steps: 20 evaluations a step on a plane
        (status, _) = await Post("/api/trajectory", """{"function":"rosenbrock","start":[-1,1],"steps":1500,"optimizers":[{"optimizer":"lbfgs","hyperparameters":{"max_iter":100,"history_size":1000}}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var catalog = JsonDocument.Parse(await _http.GetStringAsync("/api/optimizers")).RootElement.EnumerateArray().Single(o => o.GetProperty("name").GetString() == "lbfgs");
        var maxIter = catalog.GetProperty("hyperparameters").EnumerateArray().Single(h => h.GetProperty("name").GetString() == "max_iter");
        Assert.Equal(100, maxIter.GetProperty("max").GetDouble());
        Assert.True(maxIter.GetProperty("whole").GetBoolean());   // the page's slider gives whole numbers (its log scale had given 15.8)
        // Training: the same caps, and each step counted as its most evaluations of the minibatch.
        (status, body) = await Post("/api/train", """{"n":200,"noise":0.1,"flip":0,"hidden":[8],"activation":"relu","optimizer":"lbfgs","hyperparameters":{"history_size":5000},"batch":50,"seed":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("lbfgs.history_size is 5000; the playground allows at most 1000", body.GetProperty("error").GetString());
        (status, body) = await Post("/api/train", """{"n":200,"noise":0.1,"flip":0,"hidden":[8],"activation":"relu","optimizer":"adam","hyperparameters":{"max_iter":500},"batch":50,"seed":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.DoesNotContain("allows at most", body.GetProperty("error").GetString());   // adam has no max_iter: that is the message
        // L-BFGS's history is memory: 2 x 100 double vectors of a 4 x 256 network's 198,658 parameters, more than all sessions may hold.
        (status, body) = await Post("/api/train", """{"n":200,"noise":0.1,"flip":0,"hidden":[256,256,256,256],"activation":"relu","optimizer":"lbfgs","batch":32,"seed":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("(L-BFGS keeps 2 x history_size vectors of all the parameters in double precision), more than the 256 MB all sessions may hold", body.GetProperty("error").GetString());
        (status, body) = await Post("/api/train", """{"n":2000,"noise":0.1,"flip":0,"hidden":[256,256,256,256],"activation":"gelu","optimizer":"lbfgs","hyperparameters":{"max_eval":125},"batch":2000,"seed":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("one step of batch 2000 x 126 gradients an update through", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Numbers_that_overflow_are_refused_with_a_message_not_a_fault()
    {
        var (status, body) = await Post("/api/trajectory", """{"function":"x","start":[0,0],"steps":1,"optimizers":[{"optimizer":"adam","hyperparameters":{"lr":1e400}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("adam.lr must be a finite number, not 1e400.", body.GetProperty("error").GetString());
        (status, body) = await Post("/api/train", """{"n":200,"noise":0.1,"flip":0,"hidden":[8],"activation":"relu","optimizer":"adam","schedule":"step:size=1e30","batch":50,"seed":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("size=1e30 must be a whole number", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Api_answers_are_not_cached_and_a_busy_server_says_so()
    {
        var response = await _http.GetAsync("/api/limits");
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Equal("same-origin", response.Headers.GetValues("Cross-Origin-Resource-Policy").Single());
        await using var full = Server.Build(IPAddress.Loopback, 0, concurrentRequests: 0, queueWait: TimeSpan.FromMilliseconds(50));
        await full.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(Server.Url(full)) };
        var busy = await http.PostAsync("/api/surface", new StringContent("""{"function":"x","resolution":2}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.Contains("try again in a moment", await busy.Content.ReadAsStringAsync());
        await full.StopAsync();
    }

    [Fact]
    public async Task Configuration_from_the_environment_adds_no_endpoint_and_no_developer_page()
    {
        // A Kestrel section in appsettings.json or in these variables had opened a second endpoint beside --bind.
        Environment.SetEnvironmentVariable("Kestrel__Endpoints__Extra__Url", "http://127.0.0.1:0");
        Environment.SetEnvironmentVariable("ASPNETCORE_ENVIRONMENT", "Development");
        try
        {
            await using var app = Server.Build(IPAddress.Loopback, 0);
            await app.StartAsync();
            Assert.Single(app.Urls);
            Assert.Equal("Production", app.Environment.EnvironmentName);
            await app.StopAsync();
        }
        finally
        {
            Environment.SetEnvironmentVariable("Kestrel__Endpoints__Extra__Url", null);
            Environment.SetEnvironmentVariable("ASPNETCORE_ENVIRONMENT", null);
        }
    }

    [Fact]
    public async Task A_session_ended_while_it_trains_keeps_its_memory_counted_until_its_request_ends()
    {
        using var sessions = new TrainingSessions();
        var start = JsonSerializer.SerializeToElement(sessions.Start(new TrainStartRequest(2000, 0.1, 0, null, [256, 256, 256, 256], "gelu", "adam", null, null, 2000, 1)));
        string id = start.GetProperty("id").GetString()!;
        long bytes = sessions.Bytes;
        var training = Task.Run(() => sessions.Step(id, start.GetProperty("maxSteps").GetInt32(), CancellationToken.None));
        await Task.Delay(200);
        Assert.True(sessions.Stop(id));
        if (!training.IsCompleted) Assert.Equal(bytes, sessions.Bytes);   // a second or more of GELU steps: still running
        await training;
        Assert.Equal(0, sessions.Bytes);
    }

    [Fact]
    public void A_request_a_browser_marks_as_cross_site_cannot_change_state()
    {
        var check = new HostCheck(IPAddress.Loopback);
        var http = Request("POST", "127.0.0.1:8350");
        Assert.Null(check.Refusal(http.Request, 8350));
        http.Request.Headers["Sec-Fetch-Site"] = "same-origin";
        Assert.Null(check.Refusal(http.Request, 8350));
        http.Request.Headers["Sec-Fetch-Site"] = "cross-site";
        Assert.Equal(403, check.Refusal(http.Request, 8350)?.Status);
        http.Request.Method = "GET";
        Assert.Null(check.Refusal(http.Request, 8350));   // reading is harmless: the page's own scripts and links
    }

    [Fact]
    public void A_wildcard_bind_does_not_list_the_machines_names_to_a_refused_client()
    {
        var check = new HostCheck(IPAddress.Any);
        var http = Request("GET", "evil.example:8350");
        var refusal = check.Refusal(http.Request, 8350);
        Assert.Equal(400, refusal?.Status);
        Assert.Equal("this server answers only to this machine's own addresses on port 8350, not to Host 'evil.example:8350'.", refusal?.Message);
    }

    /// <summary>A request as the host check sees it.</summary>
    private static Microsoft.AspNetCore.Http.DefaultHttpContext Request(string method, string host)
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Host = new Microsoft.AspNetCore.Http.HostString(host);
        return http;
    }
}
