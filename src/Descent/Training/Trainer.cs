using System.Diagnostics;
using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.State;

namespace Descent.Training;

/// <summary>Final numbers of a run (also written as <c>summary.json</c>).</summary>
public sealed record TrainingSummary(long Steps, double Seconds, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double StepsPerSecond);

/// <summary>
/// The training step over what a <see cref="TrainingSetup"/> built: draw a batch, forward, loss and its gradient,
/// backward, clip, optimizer step (through its wrappers, or its closure for L-BFGS); nothing is allocated. It also
/// evaluates at the optimizer's evaluation point and saves and loads its state for checkpoints. Runs are driven by a
/// <see cref="TrainingLoop"/>: <see cref="Fit"/> in memory, <see cref="Run"/> into a run directory (<see cref="RunWriter"/>).
/// Trainers in one process set up one at a time, from building until their first update (see <see cref="SetupTurns"/>).
/// </summary>
public sealed class Trainer
{
    private readonly AlignedArray<float> _batchX;
    private readonly int[] _batchY, _batchRows;
    private readonly AlignedArray<float> _outputGrad;
    private readonly Func<double> _closure;
    private readonly Memory<float>[] _buffers;   // running statistics, kept as the update's first evaluation left them
    private readonly float[] _kept;
    private readonly float[] _evaluationStatistics;   // batch-norm statistics recomputed at the evaluation point
    private long _evaluationStatisticsStep = -1;      // the update they were recomputed after (-1: none yet)
    private readonly bool _hasBatchNorm;
    private readonly Sequential<float>[] _shardModels;   // the model, then its replicas: one per core of a data-parallel step
    private readonly int[] _shardStart;
    private readonly double[] _shardLoss;
    private readonly Parameter<float>[][] _shardParameters;   // each shard model's parameters, in the same order
    private readonly ShardRunner? _shards;
    private readonly Action<int> _shardWork, _sumWork, _stepWork, _evaluationWork;   // made once: a delegate per run would allocate
    private readonly int[] _layerOf;      // each of the model's parameters' top-level layer (-1: none), for the overlapped step
    private readonly int[] _pieces;       // the overlapped step's pieces that hold elements, parameter * PiecesPerParameter + part, the last layer's first
    private readonly int[] _backwardAt;   // each shard's last layer whose backward pass is done this step (int.MaxValue: none yet, -1: all)
    private int _nextPiece, _partsBegun, _stepRefused;
    private int _shardsRun;        // shards of the last minibatch (fewer than the cores when it has fewer examples)
    private Dataset? _evaluated;
    private int _evaluationChunk;
    private double[] _chunkLoss = [];
    private int[] _chunkCorrect = [];
    private int _closureCalls;
    private int _batch;
    private bool _gathered;   // the minibatch's features are in _batchX (a closure's later evaluations of it need no gather)
    private readonly Linear<float>[]? _sliced;   // a softmax regression stepped without a closure: each shard model's dense layer, which goes through its minibatch in slices and leaves no copy of it in _batchX
    private double _batchLossSum;
    private long _batchLossCount;

    private object? _turn;   // the turn to set up (SetupTurns), held until the first update

    /// <summary>Builds everything the config describes (see <see cref="TrainingSetup"/>).</summary>
    public Trainer(TrainingConfig config) : this(BuildInTurn(config, out object turn), turn)
    {
    }

    /// <summary>Steps through what <paramref name="setup"/> built (outside the turn to set up: see <see cref="SetupTurns"/>).</summary>
    public Trainer(TrainingSetup setup) : this(setup ?? throw new ArgumentNullException(nameof(setup)), null)
    {
    }

    private static TrainingSetup BuildInTurn(TrainingConfig config, out object turn)
    {
        turn = SetupTurns.Take();
        try
        {
            return new TrainingSetup(config);
        }
        catch
        {
            SetupTurns.Give(turn);
            throw;
        }
    }

    private Trainer(TrainingSetup setup, object? turn)
    {
        _turn = turn;
        try
        {
            Setup = setup;
            _closure = Closure;
            _buffers = [.. Model.Buffers().Select(b => b.Value)];
            _kept = new float[_buffers.Sum(b => b.Length)];
            _evaluationStatistics = new float[_kept.Length];
            _hasBatchNorm = BatchNormStatistics.Layers<float>(Model).Count > 0;
            _shardModels = [Model, .. setup.Replicas];
            _evaluationModels = _shardModels;
            _shardStart = new int[_shardModels.Length + 1];
            _shardLoss = new double[_shardModels.Length];
            _shardParameters = [.. _shardModels.Select(m => m.Parameters.ToArray())];
            (_shardWork, _sumWork, _stepWork, _evaluationWork) = (ShardLossAndGradient, SumGradientPart, ShardStep, EvaluateChunks);
            (_layerOf, _pieces) = Pieces(Model, _shardParameters[0]);
            _backwardAt = new int[_shardModels.Length];
            if (_shardModels.Length > 1)
            {
                _shards = new ShardRunner(_shardModels.Length);
                for (int s = 0; s < _shardModels.Length; s++)
                {
                    int shard = s;
                    _shardModels[s].BackwardDone = layer => Volatile.Write(ref _backwardAt[shard], layer);
                }
            }
            // Not for steps that evaluate their minibatch more than once (L-BFGS, SAM): their later evaluations read the copy
            // the whole-batch passes leave, where slices would fetch the scattered rows again (SAM measured 9% slower so).
            if (!Optimizer.RequiresClosure && Loss == Loss.CrossEntropy && Train.LabelsPerExample == 1 && SlicedLayer(Model) is not null)
                _sliced = [.. _shardModels.Select(m => SlicedLayer(m)!)];
            _batchX = _sliced is null ? new(Batches.BatchSize * Train.Dimensions) : AlignedArray<float>.Empty;
            _batchY = new int[Batches.BatchSize * Train.LabelsPerExample];
            _batchRows = new int[Batches.BatchSize];
            _outputGrad = new(Batches.BatchSize * Model.Outputs);
        }
        catch
        {
            EndSetup();
            throw;
        }
    }

    /// <summary>
    /// Gives back the turn to set up that a trainer built from a config holds until its first update, so that other
    /// runs in the process may set up (see <see cref="SetupTurns"/>); for a trainer that will not be stepped soon. Its
    /// first update gives it back by itself, as does <see cref="LoadState"/>.
    /// </summary>
    public void EndSetup()
    {
        if (_turn is not { } turn) return;
        _turn = null;
        SetupTurns.Give(turn);
    }

    /// <summary>What the trainer steps through: data, model, loss, optimizer, schedule, batches.</summary>
    public TrainingSetup Setup { get; }

    /// <summary>The configuration, its schedule written out with every default (see <see cref="Schedules.ScheduleSpec.Resolve"/>).</summary>
    public TrainingConfig Config => Setup.Config;

    /// <summary>Training examples.</summary>
    public Dataset Train => Setup.Train;

    /// <summary>Held-out examples.</summary>
    public Dataset Test => Setup.Test;

    /// <summary>For text data, the test loss of a unigram model (<see cref="CharText.UnigramLoss"/>), the baseline a language model must beat; null otherwise.</summary>
    public double? UnigramTestLoss => Setup.UnigramTestLoss;

    /// <summary>The network.</summary>
    public Sequential<float> Model => Setup.Model;

    /// <summary>The loss.</summary>
    public Loss Loss => Setup.Loss;

    /// <summary>The optimizer (its <c>lr</c> follows the configured schedule).</summary>
    public Optimizer<float> Optimizer => Setup.Optimizer;

    /// <summary>The minibatch sampler.</summary>
    public Batches Batches => Setup.Batches;

    /// <summary>Steps the run takes in all (from <see cref="TrainingConfig.Steps"/> or <see cref="TrainingConfig.Epochs"/>).</summary>
    public long TotalSteps => Setup.TotalSteps;

    /// <summary>Steps taken.</summary>
    public long Step => Optimizer.StepCount;

    /// <summary>The learning rate of group 0 as the last update used it (before any update: the configured one).</summary>
    public double LearningRate => Optimizer.Groups[0].Options.LearningRate;

    /// <summary>Bytes allocated by the data-parallel shards run on other threads than the caller's, in all (0 on one core).</summary>
    internal long WorkerAllocatedBytes => _shards?.WorkerAllocatedBytes ?? 0;

    /// <summary>
    /// Cores an evaluation spreads its chunks over (default 1; a data-parallel run uses at least its
    /// <see cref="TrainingConfig.Threads"/>). Evaluating is a forward pass per chunk of independent examples, and the
    /// chunks' sums are added in chunk order, so the metrics are the same to the last bit on any number of cores: unlike
    /// <see cref="TrainingConfig.Threads"/>, this changes only the time an evaluation takes, and is not part of the config.
    /// Replicas of the model for the extra cores are made at the first evaluation that needs them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 1.</exception>
    public int EvaluationThreads
    {
        get => _evaluationThreads;
        set => _evaluationThreads = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "An evaluation needs at least one core.");
    }

    private int _evaluationThreads = 1;

    /// <summary>Characters per window of text data when neither the config nor the model's <c>ctx=</c> gives it.</summary>
    public const int DefaultContext = TrainingConfig.DefaultContext;

    /// <summary>
    /// One optimizer update: on the next minibatch, or on the next <see cref="TrainingConfig.Accumulate"/> minibatches
    /// whose mean gradient it takes; returns the mean minibatch loss before the update. A loss that is not finite is
    /// returned at once, before the optimizer steps on it.
    /// </summary>
    public double TrainStep()
    {
        if (_turn is null) return Update();
        try
        {
            return Update();
        }
        finally
        {
            EndSetup();   // every buffer of a step is allocated now
        }
    }

    private double Update()
    {
        double sum = 0;
        for (int m = 0; m < Config.Accumulate; m++)
        {
            double loss = MinibatchStep();
            if (!double.IsFinite(loss)) return loss;
            sum += loss;
        }
        return sum / Config.Accumulate;
    }

    /// <summary>Forward, backward and a call of the optimizer's step on the next minibatch; returns its loss.</summary>
    private double MinibatchStep()
    {
        // The labels are copied here, the features by each shard's model as it reads them (ShardLossAndGradient).
        _batch = Batches.NextRows(_batchRows);
        _gathered = false;
        Train.GatherLabels(_batchRows.AsSpan(0, _batch), _batchY);
        double loss;
        if (Optimizer.RequiresClosure)
        {
            _closureCalls = 0;
            try
            {
                loss = Optimizer.Step(_closure);   // L-BFGS: the closure re-evaluates this minibatch as often as its search needs
            }
            catch (NonFiniteLoss e)
            {
                return e.Loss;
            }
            if (!double.IsFinite(loss)) return loss;
        }
        else if (_shards is not null && Config.ClipValue <= 0 && Config.ClipNorm <= 0 && Optimizer.CanStepInParts)
        {
            // The cores sum the gradient and update it piece by piece as their shards finish: the same numbers as Step.
            loss = OverlappedStep();
            if (!double.IsFinite(loss)) return loss;
        }
        else
        {
            loss = LossAndGradient();
            if (!double.IsFinite(loss)) return loss;
            Optimizer.Step();
        }
        _batchLossSum += loss;
        _batchLossCount++;
        return loss;
    }

    /// <summary>
    /// The closure of a step that evaluates the minibatch more than once. A first loss that is not finite ends the step
    /// before the optimizer changes anything (as the plain step never steps on one). SAM's second evaluation, at the
    /// perturbed weights, leaves batch normalization's running statistics as the first one left them (what davda54/sam
    /// recommends, disabling running statistics for the second pass), so they follow the weights the model has; L-BFGS's
    /// evaluations update them every time, as in PyTorch.
    /// </summary>
    private double Closure()
    {
        if (_closureCalls++ == 0)
        {
            double first = LossAndGradient();
            return double.IsFinite(first) ? first : throw new NonFiniteLoss(first);
        }
        if (Config.Sam <= 0) return LossAndGradient();
        CopyBuffers(_kept, toModel: false);
        double loss = LossAndGradient();
        CopyBuffers(_kept, toModel: true);
        return loss;
    }

    /// <summary>Ends a closure step whose first loss is not finite, before the optimizer uses its gradient.</summary>
    private sealed class NonFiniteLoss(double loss) : Exception
    {
        public double Loss { get; } = loss;
    }

    /// <summary>The loss on the current minibatch, with its (clipped) gradient in the parameters when it is finite.</summary>
    private double LossAndGradient()
    {
        double loss = ShardedLoss(_batch);
        if (!double.IsFinite(loss)) return loss;
        if (_shardsRun > 1) _shards!.Run(_shardModels.Length, _sumWork);
        if (Config.Accumulate > 1) return loss;   // the accumulated mean is clipped (TrainingSetup's GradientClip)
        GradientClipping.Clip(Model.Parameters, Config.ClipValue, Config.ClipNorm);
        return loss;
    }

    /// <summary>
    /// The minibatch's loss from consecutive shards of it, one per core, each on its own replica (one shard, the model
    /// itself, on one core), with each replica's gradient: every shard's output gradient is that of the whole minibatch's
    /// mean loss (scaled by its share of the examples), so the replicas' gradients add up to the minibatch's
    /// (<see cref="SumGradientPart"/>).
    /// </summary>
    private double ShardedLoss(int b)
    {
        int shards = CutShards(b);
        if (shards == 1)
        {
            ShardLossAndGradient(0);
            _gathered = _sliced is null;
            return _shardLoss[0];
        }
        _shards!.Run(shards, _shardWork);
        _gathered = _sliced is null;
        return CombinedLoss(b, shards);
    }

    /// <summary>Cuts a minibatch of <paramref name="b"/> examples into consecutive shards, one per core (fewer when it has fewer examples), and returns how many.</summary>
    private int CutShards(int b)
    {
        int shards = _shardsRun = Math.Min(_shardModels.Length, b);
        for (int i = 0; i <= shards; i++) _shardStart[i] = (int)((long)b * i / shards);
        return shards;
    }

    /// <summary>The minibatch's loss from its <paramref name="shards"/> shards' (the first that is not finite, if any is not).</summary>
    private double CombinedLoss(int b, int shards)
    {
        double loss = 0;
        for (int i = 0; i < shards; i++)
        {
            if (!double.IsFinite(_shardLoss[i])) return _shardLoss[i];
            loss += _shardLoss[i] * (_shardStart[i + 1] - _shardStart[i]) / b;
        }
        return loss;
    }

    /// <summary>Ranges each parameter is cut into for the overlapped step (<see cref="OverlappedStep"/>).</summary>
    private const int PiecesPerParameter = 16;

    /// <summary>
    /// Each parameter's top-level layer in <paramref name="model"/> (the first that holds it, whose backward pass comes last;
    /// -1 for one in none) and the overlapped step's pieces: the ranges of each parameter cut into
    /// <see cref="PiecesPerParameter"/> that hold elements, the last layer's parameters first, as the backward pass finishes them.
    /// </summary>
    private static (int[] LayerOf, int[] Pieces) Pieces(Sequential<float> model, Parameter<float>[] parameters)
    {
        var index = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        for (int k = 0; k < parameters.Length; k++) index[parameters[k]] = k;
        var layerOf = new int[parameters.Length];
        Array.Fill(layerOf, -1);
        for (int l = 0; l < model.Layers.Count; l++)
            foreach (var p in model.Layers[l].Parameters)
                if (index.TryGetValue(p, out int k) && layerOf[k] < 0) layerOf[k] = l;
        int[] order = [.. Enumerable.Range(0, parameters.Length).OrderByDescending(k => layerOf[k])];
        return (layerOf, [.. order.SelectMany(k => Enumerable.Range(0, PiecesPerParameter)
            .Where(part => Parts.Range<float>(parameters[k].Length, part, PiecesPerParameter).Length > 0)
            .Select(part => k * PiecesPerParameter + part))]);
    }

    /// <summary>
    /// A data-parallel step in one run of the cores (<see cref="ShardStep"/>): each core runs its shard's forward and backward
    /// passes, then takes pieces of the gradient's sum and update, each as soon as every shard's backward pass has passed
    /// the piece's layer, so the core that finishes first updates the last layers while the other finishes the first ones,
    /// and no core waits between the passes and the update. Each piece is summed in the replicas' order and updated as
    /// <see cref="Optimizer{T}.Step()"/> would update it, whichever core takes it: the numbers do not depend on the timing. When
    /// a shard's loss is not finite, nothing is updated and that loss is returned, as without cores. An exception in a
    /// shard's backward pass, after another core has begun updating the layers that shard had finished, leaves those
    /// pieces updated and the step counted, and is rethrown.
    /// </summary>
    private double OverlappedStep()
    {
        int b = _batch, shards = CutShards(b);
        Array.Fill(_backwardAt, -1);
        Array.Fill(_backwardAt, int.MaxValue, 0, shards);
        (_nextPiece, _partsBegun, _stepRefused) = (0, NotBegun, 0);
        try
        {
            _shards!.Run(shards, _stepWork);
            // No piece at all (a model without parameters): the step still counts, as Step would count it.
            if (_partsBegun == NotBegun && _stepRefused == 0) PartsBegun();
        }
        finally
        {
            if (_partsBegun == Begun) Optimizer.EndParts();
        }
        _gathered = _sliced is null;
        return CombinedLoss(b, shards);
    }

    private const int NotBegun = 0, Beginning = 1, Begun = 2, Failed = 3;

    /// <summary>Shard <paramref name="shard"/>'s passes, then pieces of the sum and update until none is left (<see cref="OverlappedStep"/>).</summary>
    private void ShardStep(int shard)
    {
        bool finite = false;
        try
        {
            ShardLossAndGradient(shard);
            finite = double.IsFinite(_shardLoss[shard]);
        }
        finally
        {
            // Refused before done, so that a core that sees this shard done also sees the refusal.
            if (!finite) Volatile.Write(ref _stepRefused, 1);
            Volatile.Write(ref _backwardAt[shard], -1);
        }
        var sums = _shardParameters[0];
        while (true)
        {
            int next = Interlocked.Increment(ref _nextPiece) - 1;
            if (next >= _pieces.Length) return;
            int k = _pieces[next] / PiecesPerParameter, part = _pieces[next] % PiecesPerParameter;
            if (!PassedLayer(_layerOf[k]) || !PartsBegun()) return;
            var (start, length) = Parts.Range<float>(sums[k].Length, part, PiecesPerParameter);
            SumReplicas(k, start, length);
            UpdateLoop.StreamsParameters = sums[k].Length >= StreamedElements;
            try
            {
                Optimizer.StepPart(part, sums[k]);
            }
            finally
            {
                UpdateLoop.StreamsParameters = false;
            }
        }
    }

    /// <summary>
    /// Elements (a megabyte of floats, a core's L2 on the hosts measured) from which a data-parallel step writes a
    /// parameter's update with streaming stores (<see cref="UpdateLoop.StreamsParameters"/>). Every replica reads the
    /// parameters in its passes, so each line the update writes is one another core holds, and on a 2-core AMD EPYC
    /// (family 25) such stores ran at 2.1-2.3 GB/s in some minutes against 43-52 in others while streaming stores ran at
    /// 24-28 GB/s throughout (BENCHMARKS.md, 2026-12-05, later; `bench --workload limits` measures the first as
    /// `handoff-2MB`). The CNN's 3,136 x 128 weights (1.6 MB) so written made its two-core step 1.01-1.10x faster at 512
    /// bits and 1.03-1.07x at 256 on the medians of `bench/ab` series, up to 1.32x in single rounds of slow minutes and down
    /// to 0.88x in others (BENCHMARKS.md, 2026-12-05, night). Streaming the optimizer's slots too gained nothing more
    /// (0.99), nor did streaming parameters down to 16,384 elements (0.97): a smaller parameter keeps ordinary stores, and
    /// stays in the caches for the next step's reads.
    /// </summary>
    internal const int StreamedElements = (1 << 20) / sizeof(float);

    /// <summary>
    /// Waits until every shard's backward pass has passed layer <paramref name="layer"/> (-1: until every shard is done);
    /// false if the step is refused (a shard's loss is not finite, or its passes failed).
    /// </summary>
    private bool PassedLayer(int layer)
    {
        var spinner = new SpinWait();
        long since = Stopwatch.GetTimestamp();
        for (int s = 0; s < _shardsRun; s++)
            while (Volatile.Read(ref _backwardAt[s]) > layer && Volatile.Read(ref _stepRefused) == 0) Pause(ref spinner, since);
        return Volatile.Read(ref _stepRefused) == 0;
    }

    /// <summary>
    /// One turn of a wait for another core that began at timestamp <paramref name="since"/>: a spin that yields to any thread
    /// ready to run on this core for up to <see cref="SpinFor"/> (a shard's passes finish within milliseconds of each other),
    /// then a millisecond's sleep, so that a wait on a thread that has not started yet (more threads than cores, a busy
    /// thread pool) leaves it the core.
    /// </summary>
    private static void Pause(ref SpinWait spinner, long since)
    {
        if (Stopwatch.GetTimestamp() - since < SpinFor) spinner.SpinOnce(sleep1Threshold: -1);
        else Thread.Sleep(1);
    }

    /// <summary>How long <see cref="Pause"/> spins before it sleeps.</summary>
    private static readonly long SpinFor = Stopwatch.Frequency / 50;   // 20 ms

    /// <summary>
    /// Begins the optimizer's step in parts once, on the first core to need it, after every shard's loss is known to be finite
    /// (a refused step leaves the optimizer's counts as they were); false if beginning it failed on another core.
    /// </summary>
    private bool PartsBegun()
    {
        if (Volatile.Read(ref _partsBegun) == Begun) return true;
        if (Interlocked.CompareExchange(ref _partsBegun, Beginning, NotBegun) == NotBegun)
        {
            try
            {
                Optimizer.BeginParts(PiecesPerParameter);
            }
            catch
            {
                Volatile.Write(ref _partsBegun, Failed);
                throw;
            }
            Volatile.Write(ref _partsBegun, Begun);
            return true;
        }
        var spinner = new SpinWait();
        long since = Stopwatch.GetTimestamp();
        int state;
        while ((state = Volatile.Read(ref _partsBegun)) == Beginning) Pause(ref spinner, since);
        return state == Begun;
    }

    /// <summary>
    /// Adds the replicas' gradients into the model's over range <paramref name="part"/> of every parameter's elements (one
    /// range per core, <see cref="Parts"/>), before the optimizer steps on the calling thread (a rule that is not element-wise,
    /// a wrapper or clipping; see <see cref="OverlappedStep"/> for the others).
    /// </summary>
    private void SumGradientPart(int part)
    {
        var sums = _shardParameters[0];
        for (int k = 0; k < sums.Length; k++)
        {
            var (start, length) = Parts.Range<float>(sums[k].Length, part, _shardModels.Length);
            SumReplicas(k, start, length);
        }
    }

    /// <summary>Adds the replicas' gradients of parameter <paramref name="k"/> into the model's, over elements <paramref name="start"/> to <paramref name="start"/> + <paramref name="length"/> - 1, in the replicas' order.</summary>
    private void SumReplicas(int k, int start, int length)
    {
        var sum = _shardParameters[0][k].Grad.Span.Slice(start, length);
        for (int r = 1; r < _shardsRun; r++) Kernels.Add(sum, _shardParameters[r][k].Grad.Span.Slice(start, length));
    }

    /// <summary>Forward, loss and backward of shard <paramref name="i"/> of the minibatch on its replica (shard 0: the model); the loss is the shard's mean.</summary>
    private void ShardLossAndGradient(int i)
    {
        var model = _shardModels[i];
        int start = _shardStart[i], n = _shardStart[i + 1] - start, per = Train.LabelsPerExample, d = Train.Dimensions;
        float share = n < _batch ? (float)n / _batch : 1f;
        if (_sliced is not null)
        {
            _shardLoss[i] = _sliced[i].CrossEntropyRows(Train.Features, _batchRows.AsSpan(start, n), _batchY.AsSpan(start, n),
                _outputGrad.AsSpan(start * model.Outputs, n * model.Outputs), share);
            return;
        }
        var input = _batchX.AsSpan(start * d, n * d);
        var outputs = _gathered ? model.Forward(input, n) : model.ForwardRows(Train.Features, _batchRows.AsSpan(start, n), input);
        // Sequence data has a label at every position: the loss is the mean over all n * labels-per-example of them.
        var grad = _outputGrad.AsSpan(start * model.Outputs, n * model.Outputs);
        double loss = Losses.Evaluate(Loss, outputs, _batchY.AsSpan(start * per, n * per), n * per, grad, out _);
        _shardLoss[i] = loss;
        if (!double.IsFinite(loss)) return;
        Kernels.Scale(grad, share);
        model.Backward(input, grad, n, accumulate: false);
    }

    /// <summary>
    /// The dense layer of a softmax regression (a model of that one layer, flattened first or not) that takes its steps in
    /// slices (<see cref="Linear{T}.CrossEntropyRows"/>), or null.
    /// </summary>
    private static Linear<float>? SlicedLayer(Sequential<float> model) => model.Layers switch
    {
        [Linear<float> { TakesSlices: true } linear] => linear,
        [Flatten<float>, Linear<float> { TakesSlices: true } linear] => linear,
        _ => null,
    };

    /// <summary>
    /// Mean loss and accuracy of the model over every label of <paramref name="data"/> (every position of a sequence), in evaluation mode (dropout off, batch
    /// normalization by its running statistics) at the optimizer's evaluation point, in chunks of 1,000 examples (100 for a spec's model, whose
    /// convolutions keep every channel of every example of the chunk), spread over the data-parallel step's cores or
    /// <see cref="EvaluationThreads"/>, whichever are more, and added up in chunk order, so the numbers are those of one core
    /// to the last bit.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        _evaluated = data;
        _evaluationChunk = Config.Model is null ? 1000 : 100;
        int chunks = (data.Count + _evaluationChunk - 1) / _evaluationChunk;
        if (_chunkLoss.Length < chunks) (_chunkLoss, _chunkCorrect) = (new double[chunks], new int[chunks]);
        var runner = EvaluationCores(Math.Min(EvaluationThreads, chunks));
        AtEvaluationPoint(() =>
        {
            if (runner is null)
            {
                EvaluateChunks(0);
                return;
            }
            // The evaluation replicas hold their own buffers: they normalize by the model's statistics of this moment.
            for (int r = _shardModels.Length; r < _evaluationCores; r++)
                foreach (var (from, to) in Model.Buffers().Zip(_evaluationModels[r].Buffers())) from.Value.Span.CopyTo(to.Value.Span);
            bool training = Setup.Replicas.Count > 0 && Setup.Replicas[0].Training;
            foreach (var replica in Setup.Replicas) replica.Training = false;
            try
            {
                runner.Run(_evaluationCores, _evaluationWork);
            }
            finally
            {
                foreach (var replica in Setup.Replicas) replica.Training = training;
            }
        });
        // Summed in chunk order, whichever core evaluated which chunk: the numbers do not depend on the cores.
        double total = 0;
        int correct = 0;
        for (int c = 0; c < chunks; c++)
        {
            total += _chunkLoss[c];
            correct += _chunkCorrect[c];
        }
        _evaluated = null;
        return (total / data.Labels.Length, (double)correct / data.Labels.Length);
    }

    /// <summary>
    /// Sets <see cref="_evaluationCores"/> for an evaluation that asks for <paramref name="wanted"/> cores (at least a
    /// data-parallel step's) and returns the runner for them, null on one core. Evaluation replicas beyond the step's
    /// models are appended to <see cref="_evaluationModels"/> the first time that many are asked for, and kept.
    /// </summary>
    private ShardRunner? EvaluationCores(int wanted)
    {
        _evaluationCores = Math.Max(_shardModels.Length, wanted);
        if (_evaluationCores <= _shardModels.Length) return _shards;
        if (_evaluationModels.Length < _evaluationCores)
        {
            var added = Enumerable.Range(_evaluationModels.Length, _evaluationCores - _evaluationModels.Length).Select(Setup.EvaluationReplica).ToArray();
            foreach (var replica in added) replica.Training = false;
            _evaluationModels = [.. _evaluationModels, .. added];
            _evaluationRunner = new ShardRunner(_evaluationCores);
        }
        return _evaluationRunner;
    }

    private Sequential<float>[] _evaluationModels;   // the step's models, then any evaluation replicas
    private int _evaluationCores;                    // of them, the ones the current evaluation runs on
    private ShardRunner? _evaluationRunner;          // for up to all of them, once there are evaluation replicas

    /// <summary>The summed loss and the correct labels of every chunk of the data under evaluation that falls to core <paramref name="core"/> (all of them on one core).</summary>
    private void EvaluateChunks(int core)
    {
        var data = _evaluated!;
        var model = _evaluationModels[core];
        int per = data.LabelsPerExample, chunk = _evaluationChunk, cores = _evaluationCores;
        for (int c = core, start = c * chunk; start < data.Count; c += cores, start = c * chunk)
        {
            int n = Math.Min(chunk, data.Count - start);
            var outputs = model.Forward(data.Features.AsSpan(start * data.Dimensions, n * data.Dimensions), n);
            _chunkLoss[c] = n * per * Losses.Evaluate(Loss, outputs, data.Labels.AsSpan(start * per, n * per), n * per, [], out int correct);
            _chunkCorrect[c] = correct;
        }
    }

    /// <summary>
    /// A metrics row at the current step: the loss and accuracy on <paramref name="train"/> and <paramref name="test"/>
    /// (NaN for a set not given), and the mean minibatch loss since the previous row, which restarts.
    /// </summary>
    public MetricsRow Evaluation(Dataset? train, Dataset? test)
    {
        var (trainLoss, trainAcc) = train is null ? (double.NaN, double.NaN) : Evaluate(train);
        var (testLoss, testAcc) = test is null ? (double.NaN, double.NaN) : Evaluate(test);
        double batchLoss = _batchLossCount > 0 ? _batchLossSum / _batchLossCount : double.NaN;
        _batchLossSum = 0;
        _batchLossCount = 0;
        return new MetricsRow(Step, Batches.Epoch, LearningRate, batchLoss, trainLoss, trainAcc, testLoss, testAcc);
    }

    /// <summary>
    /// Runs <paramref name="action"/> in evaluation mode (dropout off, batch normalization by its running statistics) with
    /// the parameters at the optimizer's evaluation point (the average <c>x</c> of a schedule-free optimizer, an EMA or SWA
    /// average, Lookahead's slow weights; the parameters themselves otherwise), then puts the training mode, point and
    /// statistics back exactly. At an evaluation point other than the training one, batch normalization normalizes by
    /// statistics recomputed there (<see cref="TrainingConfig.UpdateBn"/>), once per update however often it is evaluated.
    /// </summary>
    public void AtEvaluationPoint(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        bool training = Model.Training;
        Optimizer.Eval();
        bool ownStatistics = _hasBatchNorm && Config.UpdateBn != 0 && Optimizer.EvaluationPointDiffers;
        try
        {
            if (ownStatistics) UseEvaluationStatistics();
            Model.Training = false;
            action();
        }
        finally
        {
            if (ownStatistics) CopyBuffers(_kept, toModel: true);
            Optimizer.Train();
            Model.Training = training;
        }
    }

    /// <summary>Keeps the training statistics and puts those of the evaluation point in their place, recomputing them after each update.</summary>
    private void UseEvaluationStatistics()
    {
        CopyBuffers(_kept, toModel: false);
        if (_evaluationStatisticsStep == Step)
        {
            CopyBuffers(_evaluationStatistics, toModel: true);
            return;
        }
        BatchNormStatistics.Update<float>(Model, Train.Features, Train.Count, Config.Batch, Config.UpdateBn ?? int.MaxValue);
        CopyBuffers(_evaluationStatistics, toModel: false);
        _evaluationStatisticsStep = Step;
    }

    /// <summary>Copies the model's buffers into <paramref name="copy"/>, or back from it.</summary>
    private void CopyBuffers(float[] copy, bool toModel)
    {
        int at = 0;
        foreach (var b in _buffers)
        {
            if (toModel) copy.AsSpan(at, b.Length).CopyTo(b.Span);
            else b.Span.CopyTo(copy.AsSpan(at));
            at += b.Length;
        }
    }

    /// <summary>Writes the step's state (model with its buffers, optimizer, batch order, the running minibatch loss) into <paramref name="state"/>.</summary>
    public void SaveState(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Set("trainer.step", Step);
        state.Set("trainer.threads", (long)_shardModels.Length);
        state.Set("trainer.batch_loss_sum", _batchLossSum);
        state.Set("trainer.batch_loss_count", _batchLossCount);
        state.Set("model.values", Model.Values);
        Model.SaveState(state, "model");
        for (int r = 1; r < _shardModels.Length; r++) _shardModels[r].SaveState(state, $"replica{r}");
        Optimizer.SaveState(state);
        Batches.SaveState(state, "batches");
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote, so the next step is the one that followed it.</summary>
    public void LoadState(StateDict state)
    {
        EndSetup();
        ArgumentNullException.ThrowIfNull(state);
        long threads = state.Contains("trainer.threads") ? state.GetLong("trainer.threads") : 1;
        if (threads != _shardModels.Length)
            throw new InvalidDataException($"The state was saved by a run on {threads} core(s) and this trainer has {_shardModels.Length}: resume on {threads}, since the sums, and with dropout the masks, depend on the cores.");
        state.CopyTo<float>("model.values", Model.Values);
        Model.LoadState(state, "model");
        for (int r = 1; r < _shardModels.Length; r++) _shardModels[r].LoadState(state, $"replica{r}");
        Optimizer.LoadState(state);
        Batches.LoadState(state, "batches");
        _evaluationStatisticsStep = -1;   // other weights at perhaps the same step: recompute
        _batchLossSum = state.GetDouble("trainer.batch_loss_sum");
        _batchLossCount = state.GetLong("trainer.batch_loss_count");
    }

    /// <summary>
    /// Trains in memory to <see cref="TotalSteps"/> without writing files and returns the final numbers (a
    /// <see cref="TrainingLoop"/> evaluating at the end only); stops with a <see cref="DivergenceException"/> if the
    /// loss stops being finite.
    /// </summary>
    public TrainingSummary Fit()
    {
        var loop = new TrainingLoop(this) { EvalEvery = long.MaxValue, CheckpointEvery = long.MaxValue };
        var outcome = loop.Run();
        if (outcome.Divergence is { } divergence) throw new DivergenceException(divergence);
        var last = outcome.Last ?? Evaluation(Train, Test);
        return new TrainingSummary(Step, outcome.Seconds, last.TrainLoss, last.TrainAccuracy, last.TestLoss, last.TestAccuracy, outcome.StepsPerSecond);
    }

    /// <summary>
    /// Runs to <see cref="TotalSteps"/>, writing into <paramref name="outDir"/> the metrics
    /// (<c>metrics.csv</c>, <c>metrics.jsonl</c>, a TensorBoard event file), checkpoints, <c>model.safetensors</c>
    /// and <c>summary.json</c> (a <see cref="TrainingLoop"/> with a <see cref="RunWriter"/>). With <paramref name="resume"/> it
    /// continues from the checkpoint in <paramref name="outDir"/>, truncating metrics written after it, so the result is
    /// bit-identical to an uninterrupted run. <paramref name="progress"/> is called after every evaluation with the row and
    /// the steps per second. A diverged run stops with a <see cref="DivergenceException"/>, its last good checkpoint kept.
    /// </summary>
    public TrainingSummary Run(string outDir, bool resume = false, Action<MetricsRow, double>? progress = null)
    {
        using var writer = new RunWriter(outDir, this, resume);
        var loop = new TrainingLoop(this, progress is null ? [writer] : [writer, new ProgressObserver(progress)]);
        var outcome = loop.Run();
        if (outcome.Divergence is { } divergence) throw new DivergenceException(divergence, writer.CheckpointNote());
        return writer.Finish(loop, outcome);
    }

    /// <summary>The step of the checkpoint in run directory <paramref name="outDir"/> (see <see cref="RunWriter.CheckpointStep"/>).</summary>
    public static long CheckpointStep(string outDir) => RunWriter.CheckpointStep(outDir);

    /// <summary>Loads the configuration saved in a run directory (see <see cref="RunWriter.LoadConfig"/>).</summary>
    public static TrainingConfig LoadConfig(string outDir) => RunWriter.LoadConfig(outDir);
}
