using System.Collections.Concurrent;
using System.Text.Json;
using Descent.Training;

namespace Descent.Playground;

/// <summary>A request to start training a classifier on two moons.</summary>
public sealed record TrainStartRequest(int N, double Noise, double Flip, double[]? Stretch, int[] Hidden, string Activation,
    string Optimizer, Dictionary<string, JsonElement>? Hyperparameters, string? Schedule, int Batch, ulong Seed);

/// <summary>
/// Live training sessions of the playground's training view: each session is a <see cref="Trainer"/>
/// that the page advances a few steps at a time, reading back the loss, the accuracies and the decision
/// boundary after each chunk. Sessions are independent (one lock each), capped in number, and dropped
/// after ten idle minutes.
/// </summary>
public sealed class TrainingSessions
{
    /// <summary>Most sessions alive at once.</summary>
    public const int MaxSessions = 32;

    /// <summary>Most steps in one request.</summary>
    public const int MaxStepsPerRequest = 2000;

    /// <summary>Side of the decision-boundary grid.</summary>
    public const int Grid = 64;

    private readonly ConcurrentDictionary<string, Session> _sessions = new();

    private sealed class Session(Trainer trainer)
    {
        public Trainer Trainer { get; } = trainer;
        public DateTime Used { get; set; } = DateTime.UtcNow;
        public object Gate { get; } = new();
    }

    /// <summary>Validates the request, builds the trainer and returns the session's id, data and first state.</summary>
    public object Start(TrainStartRequest r)
    {
        if (r.N is < 10 or > 2000) throw new BadRequest($"n must be between 10 and 2000, got {r.N}.");
        if (!(r.Noise >= 0 && r.Noise <= 2)) throw new BadRequest($"noise must be between 0 and 2, got {r.Noise}.");
        if (!(r.Flip >= 0 && r.Flip <= 0.5)) throw new BadRequest($"flip must be between 0 and 0.5, got {r.Flip}.");
        var stretch = r.Stretch ?? [1, 1];
        if (stretch.Length != 2 || stretch.Any(s => !(Math.Abs(s) >= 0.01 && Math.Abs(s) <= 100)))
            throw new BadRequest("stretch must be two factors [sx, sy], each between 0.01 and 100 in size.");
        if (r.Hidden is null || r.Hidden.Length > 4 || r.Hidden.Any(w => w is < 1 or > 256))
            throw new BadRequest("hidden must list at most 4 layer widths, each between 1 and 256.");
        if (r.Batch is < 1 or > 2000) throw new BadRequest($"batch must be between 1 and 2000, got {r.Batch}.");
        var hyper = new Dictionary<string, double>();
        foreach (var (name, value) in r.Hyperparameters ?? [])
            hyper[name] = Api.HyperparameterValue(r.Optimizer, name, value);
        Trainer trainer;
        try
        {
            trainer = new Trainer(new TrainingConfig
            {
                Data = "moons",
                N = r.N,
                Noise = r.Noise,
                Flip = r.Flip,
                StretchX = stretch[0],
                StretchY = stretch[1],
                Hidden = r.Hidden,
                Activation = r.Activation ?? "relu",
                Optimizer = r.Optimizer ?? "adam",
                Hyperparameters = hyper,
                Schedule = r.Schedule ?? "constant",
                Batch = r.Batch,
                Steps = 1_000_000_000,
                Seed = r.Seed,
            });
        }
        catch (ArgumentException e)
        {
            throw new BadRequest(e.Message);
        }
        foreach (var (key, s) in _sessions)
            if (DateTime.UtcNow - s.Used > TimeSpan.FromMinutes(10)) _sessions.TryRemove(key, out _);
        if (_sessions.Count >= MaxSessions) throw new BadRequest($"too many training sessions ({MaxSessions}); reset one or wait ten minutes.");
        string id = Guid.NewGuid().ToString("N");
        var session = new Session(trainer);
        _sessions[id] = session;
        var train = trainer.Train;
        return new
        {
            id,
            points = Enumerable.Range(0, train.Count).Select(i => new[] { train.Row(i)[0], train.Row(i)[1], (float)train.Labels[i] }),
            state = Snapshot(session),
        };
    }

    /// <summary>Advances session <paramref name="id"/> by <paramref name="steps"/> steps and returns its state.</summary>
    public object Step(string id, int steps, CancellationToken cancel)
    {
        if (!_sessions.TryGetValue(id, out var session)) throw new BadRequest($"no training session '{id}': start one first.");
        if (steps is < 0 or > MaxStepsPerRequest) throw new BadRequest($"steps must be between 0 and {MaxStepsPerRequest}, got {steps}.");
        lock (session.Gate)
        {
            session.Used = DateTime.UtcNow;
            for (int i = 0; i < steps; i++)
            {
                if ((i & 63) == 0) cancel.ThrowIfCancellationRequested();
                double loss = session.Trainer.TrainStep();
                if (!double.IsFinite(loss)) throw new BadRequest($"the loss became {loss} at step {session.Trainer.Step + 1}: the learning rate is too high; reset with a smaller one.");
            }
            return Snapshot(session);
        }
    }

    /// <summary>Ends a session.</summary>
    public bool Stop(string id) => _sessions.TryRemove(id, out _);

    private static object Snapshot(Session s)
    {
        var t = s.Trainer;
        var (trainLoss, trainAcc) = t.Evaluate(t.Train);
        var (testLoss, testAcc) = t.Evaluate(t.Test);
        var f = t.Train.Features;
        float xMin = float.MaxValue, xMax = float.MinValue, yMin = float.MaxValue, yMax = float.MinValue;
        for (int i = 0; i < t.Train.Count; i++)
        {
            xMin = Math.Min(xMin, f[2 * i]); xMax = Math.Max(xMax, f[2 * i]);
            yMin = Math.Min(yMin, f[2 * i + 1]); yMax = Math.Max(yMax, f[2 * i + 1]);
        }
        float padX = 0.15f * (xMax - xMin), padY = 0.15f * (yMax - yMin);
        float[] view = [xMin - padX, xMax + padX, yMin - padY, yMax + padY];
        var grid = new float[Grid * Grid * 2];
        for (int r = 0; r < Grid; r++)
            for (int c = 0; c < Grid; c++)
            {
                grid[2 * (r * Grid + c)] = view[0] + (view[1] - view[0]) * c / (Grid - 1);
                grid[2 * (r * Grid + c) + 1] = view[3] - (view[3] - view[2]) * r / (Grid - 1);
            }
        var outputs = t.Model.Forward(grid, Grid * Grid);
        var probability = new double[Grid * Grid];
        for (int i = 0; i < probability.Length; i++)
            probability[i] = Math.Round(1 / (1 + Math.Exp(outputs[2 * i] - outputs[2 * i + 1])), 4);
        return new { step = t.Step, trainLoss, trainAccuracy = trainAcc, testLoss, testAccuracy = testAcc, view, grid = Grid, probability };
    }
}
