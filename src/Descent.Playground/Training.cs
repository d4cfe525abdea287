using System.Collections.Concurrent;
using System.Text.Json;
using Descent.Optim;
using Descent.Training;
using Descent.Nn;

namespace Descent.Playground;

/// <summary>
/// A request to start training a classifier on two moons, optionally with <paramref name="Wrappers"/> around the optimizer;
/// <paramref name="N"/>, <paramref name="Hidden"/> and <paramref name="Batch"/> have no default (null when left out).
/// </summary>
public sealed record TrainStartRequest(int? N, double Noise, double Flip, double[]? Stretch, int[]? Hidden, string Activation,
    string Optimizer, Dictionary<string, JsonElement>? Hyperparameters, string? Schedule, int? Batch, ulong Seed, TrainWrappers? Wrappers = null);

/// <summary>
/// Live training sessions of the playground's training view: each session is a <see cref="Trainer"/>
/// that the page advances a few steps at a time, reading back the loss, the accuracies and the decision
/// boundary after each chunk. Sessions are independent (one lock each) and bounded in number and in
/// memory; a timer drops idle ones, and a new session makes room by closing the least recently used
/// idle session rather than refusing, so a page that lost its sessions (a crash, a closed laptop) can
/// never lock its user out.
/// </summary>
public sealed class TrainingSessions : IDisposable
{
    /// <summary>Most sessions alive at once.</summary>
    public const int MaxSessions = 32;

    /// <summary>Most steps in one request (fewer when <see cref="Limits.MaxTrainingWork"/> says so).</summary>
    public const int MaxStepsPerRequest = 2000;

    /// <summary>Side of the decision-boundary grid.</summary>
    public const int Grid = 100;

    /// <summary>
    /// Most memory all sessions together may hold, as estimated by <see cref="SessionBytes"/>: the largest
    /// network at the largest batch needs about 30 MB, so eight of those fit.
    /// </summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>Rows evaluated at once (the trainer's evaluation chunk), so the grid never widens the network's buffers.</summary>
    private const int EvaluationRows = 1000;

    private readonly ConcurrentDictionary<string, Session> _sessions = new();
    private readonly ConcurrentDictionary<string, Session> _closing = new();
    private readonly object _admission = new();
    private readonly Timer _expiry;

    /// <summary>Sessions dropped after <paramref name="idle"/> without a request (default ten minutes), checked every <paramref name="check"/> (default a minute).</summary>
    public TrainingSessions(TimeSpan? idle = null, TimeSpan? check = null)
    {
        Idle = idle ?? TimeSpan.FromMinutes(10);
        var period = check ?? TimeSpan.FromMinutes(1);
        _expiry = new Timer(_ => Expire(), null, period, period);
    }

    /// <summary>How long a session may sit unused before it is dropped.</summary>
    public TimeSpan Idle { get; }

    /// <summary>Sessions alive now.</summary>
    public int Count => _sessions.Count;

    /// <summary>Memory the sessions hold as estimated, counting ended sessions whose last request is still running.</summary>
    public long Bytes => _sessions.Values.Sum(s => s.Bytes) + Closing();

    /// <summary>Raised after sessions were dropped or ended, so their memory can be handed back.</summary>
    public event Action? Released;

    private sealed class Session(Trainer trainer, long bytes, long parameters, double exampleCost, long gradients)
    {
        /// <summary>Most minibatch gradients per update (<see cref="TrainWrappers.GradientsPerUpdate"/>, times an L-BFGS step's evaluations).</summary>
        public long Gradients { get; } = gradients;
        public Trainer Trainer { get; } = trainer;
        public long Bytes { get; } = bytes;
        public long Parameters { get; } = parameters;
        public double ExampleCost { get; } = exampleCost;
        public DateTime Used { get; set; } = DateTime.UtcNow;
        public int Busy;
        public object Gate { get; } = new();
    }

    /// <summary>Validates the request, builds the trainer and returns the session's id, data and first state.</summary>
    public object Start(TrainStartRequest r)
    {
        int n = r.N ?? throw new BadRequest("n is missing: give the number of training points, 10 to 2000.");
        if (n is < 10 or > 2000) throw new BadRequest($"n must be between 10 and 2000, got {n}.");
        if (!(r.Noise >= 0 && r.Noise <= 2)) throw new BadRequest($"noise must be between 0 and 2, got {r.Noise}.");
        if (!(r.Flip >= 0 && r.Flip <= 0.5)) throw new BadRequest($"flip must be between 0 and 0.5, got {r.Flip}.");
        var stretch = r.Stretch ?? [1, 1];
        if (stretch.Length != 2 || stretch.Any(s => !(Math.Abs(s) >= 0.01 && Math.Abs(s) <= 100)))
            throw new BadRequest("stretch must be two factors [sx, sy], each between 0.01 and 100 in size.");
        int[] hidden = r.Hidden ?? throw new BadRequest("hidden is missing: give the hidden layer widths, e.g. [16, 16] ([] for a linear model).");
        if (hidden.Length > 4 || hidden.Any(w => w is < 1 or > 256))
            throw new BadRequest("hidden must list at most 4 layer widths, each between 1 and 256.");
        int batch = r.Batch ?? throw new BadRequest("batch is missing: give the minibatch size, 1 to 2000.");
        if (batch is < 1 or > 2000) throw new BadRequest($"batch must be between 1 and 2000, got {batch}.");
        var hyper = new Dictionary<string, double>();
        string optimizer = r.Optimizer ?? "adam";
        foreach (var (name, value) in r.Hyperparameters ?? [])
            hyper[name] = Api.HyperparameterValue(optimizer, name, value);
        var wrappers = r.Wrappers ?? new TrainWrappers();
        Trainer trainer;
        try
        {
            trainer = new Trainer(wrappers.ApplyTo(new TrainingConfig
            {
                Data = "moons",
                N = n,
                Noise = r.Noise,
                Flip = r.Flip,
                StretchX = stretch[0],
                StretchY = stretch[1],
                Hidden = hidden,
                Activation = r.Activation ?? "relu",
                Optimizer = optimizer,
                Hyperparameters = hyper,
                Schedule = r.Schedule ?? "constant",
                Batch = batch,
                Steps = 1_000_000_000,
                Seed = r.Seed,
            }));
        }
        catch (ConfigException e)
        {
            throw new BadRequest($"{e.Message.TrimEnd('.')} ({Field(e.Setting)}{(e.ConflictsWith is { } other ? $" and {Field(other)}" : "")}).");
        }
        catch (ArgumentException e)
        {
            throw new BadRequest(e.Message);
        }
        trainer.EndSetup();   // its first step comes with a later request, if any: other sessions need not wait for it
        var options = trainer.Optimizer.Groups[0].Options;
        Limits.CheckCaps(optimizer, options);
        long parameters = trainer.Model.Parameters.Sum(p => (long)p.Length);
        // An L-BFGS step evaluates its minibatch up to max_eval times (and more in its last line search).
        long gradients = wrappers.GradientsPerUpdate * Limits.EvaluationsPerUpdate(options);
        var session = new Session(trainer, SessionBytes(trainer, parameters), parameters, Limits.ExampleCost(parameters, hidden.Sum(), Activations.Parse(r.Activation ?? "relu").Name()), gradients);
        double stepWork = Limits.TrainingWork(1, batch, session.ExampleCost, gradients);
        if (stepWork > Limits.MaxTrainingWork)
            throw new BadRequest($"one step of batch {batch}{(gradients > 1 ? $" x {gradients} gradients an update" : "")} through {parameters:N0} parameters is {stepWork:G3} units of work, over the cap of {Limits.MaxTrainingWork:G3} a request: choose a smaller batch, network or {(gradients > 1 ? "accumulation, SAM or max_eval" : "activation")}.");
        bool lbfgs = options is LbfgsOptions;
        if (session.Bytes > MaxBytes)
            throw new BadRequest($"this session would hold about {session.Bytes >> 20} MB{(lbfgs ? " (L-BFGS keeps 2 x history_size vectors of all the parameters in double precision)" : "")}, more than the {MaxBytes >> 20} MB all sessions may hold: choose a smaller network{(lbfgs ? " or history_size" : "")}.");
        string id = Guid.NewGuid().ToString("N");
        lock (_admission)
        {
            Expire();
            while (_sessions.Count >= MaxSessions || _sessions.Values.Sum(s => s.Bytes) + Closing() + session.Bytes > MaxBytes)
            {
                var idle = _sessions.Where(s => Volatile.Read(ref s.Value.Busy) == 0).OrderBy(s => s.Value.Used).Select(s => s.Key).FirstOrDefault();
                if (idle is null || !_sessions.TryRemove(idle, out _))
                    throw new BadRequest($"all {_sessions.Count} training sessions are busy (at most {MaxSessions}, {MaxBytes >> 20} MB in all); try again when one pauses.");
                Released?.Invoke();
            }
            _sessions[id] = session;
        }
        var train = trainer.Train;
        return new
        {
            id,
            parameters,
            maxSteps = MaxSteps(session),
            wrappers = trainer.Optimizer.Wrappers.Select(w => w.Name).ToArray(),
            points = Enumerable.Range(0, train.Count).Select(i => new[] { train.Row(i)[0], train.Row(i)[1], (float)train.Labels[i] }),
            state = Snapshot(session),
        };
    }

    /// <summary>Advances session <paramref name="id"/> by <paramref name="steps"/> steps and returns its state.</summary>
    public object Step(string id, int steps, CancellationToken cancel)
    {
        string gone = $"no training session '{id}': it ended or was closed to make room for a newer one; press Train to start again.";
        if (!_sessions.TryGetValue(id, out var session)) throw new BadRequest(gone);
        if (steps is < 0 or > MaxStepsPerRequest) throw new BadRequest($"steps must be between 0 and {MaxStepsPerRequest}, got {steps}.");
        int batch = session.Trainer.Batches.BatchSize;
        double work = Limits.TrainingWork(steps, batch, session.ExampleCost, session.Gradients);
        if (work > Limits.MaxTrainingWork)
            throw new BadRequest($"{steps} steps of batch {batch}{(session.Gradients > 1 ? $" x {session.Gradients} gradients an update" : "")} through {session.Parameters:N0} parameters is {work:G3} units of work " +
                $"(steps x batch x gradients per update x (parameters + {Limits.ExampleOverhead} + a cost per hidden unit for its activation)), over the cap of {Limits.MaxTrainingWork:G3} a request (one to three seconds); ask for at most {MaxSteps(session)} steps.");
        Interlocked.Increment(ref session.Busy);
        try
        {
            // Busy first, then still a session: one ended or displaced in between is refused, never trained uncounted.
            if (!_sessions.TryGetValue(id, out var current) || !ReferenceEquals(current, session)) throw new BadRequest(gone);
            lock (session.Gate)
            {
                session.Used = DateTime.UtcNow;
                // The shared loop, without evaluations or checkpoints (the snapshot evaluates); past the time limit it stops and the state says how far it got.
                var outcome = new TrainingLoop(session.Trainer) { EvalEvery = 0, CheckpointEvery = 0 }
                    .Run(session.Trainer.Step + steps, TimeSpan.FromSeconds(Limits.MaxTrainingSeconds), cancel);
                if (outcome.Divergence is { } d)
                    throw new BadRequest($"the loss became {d.Loss.ToString(System.Globalization.CultureInfo.InvariantCulture)} at step {d.Step}: the learning rate is too high; reset with a smaller one.");
                var snapshot = Snapshot(session);
                session.Used = DateTime.UtcNow;
                return snapshot;
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref session.Busy) == 0 && _closing.TryRemove(new KeyValuePair<string, Session>(id, session))) Released?.Invoke();
        }
    }

    /// <summary>The request field that sets <see cref="TrainingConfig"/> property <paramref name="setting"/>.</summary>
    private static string Field(string setting) => setting switch
    {
        nameof(TrainingConfig.StretchX) or nameof(TrainingConfig.StretchY) => "stretch",
        nameof(TrainingConfig.Hyperparameters) => "hyperparameters",
        nameof(TrainingConfig.LookaheadK) => "wrappers.lookahead",
        nameof(TrainingConfig.Accumulate) or nameof(TrainingConfig.Sam) or nameof(TrainingConfig.SamAdaptive) or nameof(TrainingConfig.Ema)
            or nameof(TrainingConfig.EmaWarmup) or nameof(TrainingConfig.SwaStart) or nameof(TrainingConfig.SwaLr) or nameof(TrainingConfig.SwaAnnealSteps)
            or nameof(TrainingConfig.SwaAnneal) => "wrappers." + char.ToLowerInvariant(setting[0]) + setting[1..],
        _ => char.ToLowerInvariant(setting[0]) + setting[1..],
    };

    /// <summary>Ends a session. One still working on a request keeps its memory counted until that request ends.</summary>
    public bool Stop(string id)
    {
        if (!_sessions.TryRemove(id, out var session)) return false;
        // Counted as closing first, then dropped from there if no request runs: a request that ends in between removes it itself.
        _closing[id] = session;
        if (Interlocked.CompareExchange(ref session.Busy, 0, 0) == 0) _closing.TryRemove(new KeyValuePair<string, Session>(id, session));
        Released?.Invoke();
        return true;
    }

    /// <summary>Memory of ended sessions whose last request is still running (the request that ends last removes its session).</summary>
    private long Closing() => _closing.Values.Sum(s => s.Bytes);

    /// <summary>Drops the sessions idle for longer than <see cref="Idle"/>.</summary>
    public void Expire()
    {
        bool dropped = false;
        foreach (var (key, s) in _sessions)
            if (Volatile.Read(ref s.Busy) == 0 && DateTime.UtcNow - s.Used > Idle) dropped |= _sessions.TryRemove(key, out _);
        if (dropped) Released?.Invoke();
    }

    /// <inheritdoc/>
    public void Dispose() => _expiry.Dispose();

    /// <summary>Most steps one request may take in <paramref name="s"/> under <see cref="Limits.MaxTrainingWork"/>.</summary>
    private static int MaxSteps(Session s) =>
        (int)Math.Clamp(Limits.MaxTrainingWork / Limits.TrainingWork(1, s.Trainer.Batches.BatchSize, s.ExampleCost, s.Gradients), 1, MaxStepsPerRequest);

    /// <summary>
    /// Memory a session holds: values, gradients and up to three optimizer states per parameter, up to two
    /// buffers per wrapper (its own, and the training point while it is evaluated), and the network's three
    /// buffers per unit (pre-activation, activation, delta) for its widest batch; for L-BFGS, its history of
    /// 2 x history_size vectors and five more, all in double precision.
    /// </summary>
    private static long SessionBytes(Trainer t, long parameters)
    {
        long units = t.Model.Sizes.Skip(1).Sum();
        long rows = Math.Max(t.Batches.BatchSize, EvaluationRows);
        long history = t.Optimizer.Groups[0].Options is LbfgsOptions l ? sizeof(double) * (2 * (long)l.HistorySize + 5) * parameters : 0;
        return history + sizeof(float) * ((5 + 2 * t.Optimizer.Wrappers.Count) * parameters + 3 * rows * units + 2L * (t.Train.Count + t.Test.Count) * t.Train.Dimensions);
    }

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
        var grid = new float[2 * EvaluationRows];
        var probability = new double[Grid * Grid];
        // At the optimizer's evaluation point, in evaluation mode, as the accuracies above were measured.
        t.AtEvaluationPoint(() =>
        {
            for (int start = 0; start < probability.Length; start += EvaluationRows)
            {
                int rows = Math.Min(EvaluationRows, probability.Length - start);
                for (int i = 0; i < rows; i++)
                {
                    int r = (start + i) / Grid, c = (start + i) % Grid;
                    grid[2 * i] = view[0] + (view[1] - view[0]) * c / (Grid - 1);
                    grid[2 * i + 1] = view[3] - (view[3] - view[2]) * r / (Grid - 1);
                }
                var outputs = t.Model.Forward(grid, rows);
                for (int i = 0; i < rows; i++)
                    probability[start + i] = Math.Round(1 / (1 + Math.Exp(outputs[2 * i] - outputs[2 * i + 1])), 4);
            }
        });
        // The learning rate of the last update (the first one's before any), so that a schedule or SWALR's anneal can be followed.
        return new { step = t.Step, learningRate = t.LearningRate, trainLoss, trainAccuracy = trainAcc, testLoss, testAccuracy = testAcc, view, grid = Grid, probability };
    }
}
