using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Descent.Playground;
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
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5001,"optimizers":[{"optimizer":"adam"}]}""", "steps must be between 0 and 5000", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":-1,"optimizers":[{"optimizer":"adam"}]}""", "steps must be between", null)]
    [InlineData("""{"function":"rosenbrock","start":[1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "start must be two finite numbers", null)]
    [InlineData("""{"function":"rosenbrock","start":[1e300,1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "start must be two finite numbers", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[]}""", "between 1 and 8 optimizers", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adamm"}]}""", "unknown optimizer 'adamm'", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"momentum":0.9}}]}""", "adam has no hyperparameter 'momentum'", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"beta1":1.5}}]}""", "Invalid beta1: 1.5", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam","hyperparameters":{"lr":"fast"}}]}""", "adam.lr must be a number", null)]
    [InlineData("""{"function":"","start":[1,1],"steps":5,"optimizers":[{"optimizer":"adam"}]}""", "function is missing", null)]
    [InlineData("""{"function":"rosenbrock","start":[1,1],"steps":5,"optimizers":[{"optimizer":"sgd","hyperparameters":{"nesterov":true}}]}""", "Nesterov momentum requires", null)]
    [InlineData("""{bad json""", "malformed JSON", null)]
    [InlineData("""[1,2,3]""", "malformed JSON", null)]
    public async Task Invalid_trajectory_requests_get_400_with_a_message(string json, string message, int? position)
    {
        var (status, body) = await Post("/api/trajectory", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body.GetProperty("error").GetString());
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
        Assert.Equal(Descent.Optim.Optimizers.Names.Count, optimizers.GetArrayLength());
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

    private const string Moons = "\"noise\":0.1,\"flip\":0.1,\"activation\":\"relu\",\"optimizer\":\"adam\",\"batch\":32,\"seed\":1";

    [Theory]
    [InlineData("{\"n\":5,\"hidden\":[8]," + Moons + "}", "n must be between 10 and 2000")]
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
        Assert.Equal(64 * 64, stepped.GetProperty("probability").GetArrayLength());
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
}
