using System.Globalization;
using System.Text.Json;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// <c>descent train</c> as a careful user meets it: the logged numbers are the ones used, every option
/// given is honoured or refused with its reason, resumes and paths fail clearly.
/// </summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-train-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRunner.Run(args);

    private static double[] CsvColumn(string dir, string column)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        int i = Array.IndexOf(lines[0].Split(','), column);
        return [.. lines.Skip(1).Select(l => double.Parse(l.Split(',')[i], CultureInfo.InvariantCulture))];
    }

    private static double[] JsonlColumn(string dir, string column) =>
        [.. File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty(column).GetDouble())];

    /// <summary>The (step, value) scalars tagged <paramref name="tag"/> in a run's TensorBoard event file, decoded from its protocol buffers.</summary>
    internal static List<(long Step, float Value)> TensorBoardScalars(string dir, string tag)
    {
        byte[] file = File.ReadAllBytes(Directory.GetFiles(dir, "events.out.tfevents.*").Single());
        var found = new List<(long, float)>();
        for (int pos = 0; pos < file.Length;)
        {
            int length = (int)BitConverter.ToUInt64(file, pos);
            var ev = file.AsSpan(pos + 12, length);
            pos += 12 + length + 4;
            long step = 0;
            string? name = null;
            float value = float.NaN;
            // Event: 1 wall_time (fixed64), 2 step (varint), 5 summary { 1 value { 1 tag (string), 2 simple_value (fixed32) } }.
            for (int i = 0; i < ev.Length;)
            {
                int key = ev[i++];
                if (key == (1 << 3 | 1)) i += 8;
                else if (key == (2 << 3 | 0)) step = (long)Varint(ev, ref i);
                else if (key is (5 << 3 | 2) or (3 << 3 | 2))
                {
                    int len = (int)Varint(ev, ref i);
                    if (key == (5 << 3 | 2)) (name, value) = SummaryValue(ev.Slice(i, len));
                    i += len;
                }
                else throw new InvalidDataException($"unexpected event field key {key}");
            }
            if (name == tag) found.Add((step, value));
        }
        return found;

        static ulong Varint(ReadOnlySpan<byte> b, ref int i)
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte x = b[i++];
                v |= (ulong)(x & 0x7f) << shift;
                if (x < 0x80) return v;
            }
        }

        static (string, float) SummaryValue(ReadOnlySpan<byte> summary)
        {
            int i = 1;   // field 1 (value), length-delimited
            int len = (int)Varint(summary, ref i);
            var value = summary.Slice(i, len);
            int j = 1;   // field 1 (tag)
            int tagLength = (int)Varint(value, ref j);
            string tag = System.Text.Encoding.UTF8.GetString(value.Slice(j, tagLength));
            j += tagLength + 1;   // field 2 (simple_value), fixed32
            return (tag, BitConverter.ToSingle(value.Slice(j, 4)));
        }
    }

    private static void AssertClose(double[] expected, IReadOnlyList<double> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])), $"row {i + 1}: expected {expected[i]}, logged {actual[i]}");
    }

    [Fact]
    public void Lbfgs_trains_full_batch_through_its_closure_and_resumes_bit_identically()
    {
        // Full batch: every closure call re-evaluates the whole training set, as torch.optim.LBFGS is used.
        string[] common = ["train", "--n", "200", "--batch", "200", "--hidden", "16", "--optimizer", "lbfgs", "--history-size", "10",
            "--eval-every", "5", "--checkpoint-every", "5", "--format", "json"];
        var (code, output, err) = CliRunner.Run([.. common, "--steps", "20", "--out", Out("lbfgs")]);
        Assert.True(code == 0, err);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("train_accuracy").GetDouble() >= 0.97, output);
        (code, _, err) = CliRunner.Run([.. common, "--steps", "10", "--out", Out("cut")]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run("train", "--resume", Out("cut"), "--steps", "20");
        Assert.True(code == 0, err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Out("lbfgs"), "model.safetensors")), File.ReadAllBytes(Path.Combine(Out("cut"), "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(Out("lbfgs"), "metrics.csv")), File.ReadAllText(Path.Combine(Out("cut"), "metrics.csv")));

        (code, _, err) = CliRunner.Run("train", "--out", Out("refused"), "--optimizer", "lbfgs", "--steps", "5", "--ema", "0.9");
        Assert.Equal(2, code);
        Assert.Contains("closure step", err);
        Assert.False(File.Exists(Path.Combine(Out("refused"), "config.json")));
    }

    [Fact]
    public void A_new_run_refuses_a_directory_holding_files_it_would_overwrite_such_as_its_own_init_weights()
    {
        var (code, _, err) = Cli("train", "--out", Out("first"), "--steps", "5", "--hidden", "8");
        Assert.True(code == 0, err);
        string dir = Out("weights");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(Out("first"), "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        byte[] before = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
        (code, _, err) = Cli("train", "--init", Path.Combine(dir, "model.safetensors"), "--hidden", "8", "--out", dir, "--steps", "5");
        Assert.Equal(2, code);
        Assert.Contains("already holds model.safetensors, which a new run would overwrite; choose another --out", err);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName));
        // The library refuses too (its message names no option).
        var trainer = new Descent.Training.Trainer(new Descent.Training.TrainingConfig { Hidden = [8], Steps = 5 });
        var e = Assert.Throws<Descent.Training.TrainingException>(() => trainer.Run(dir));
        Assert.Contains("already holds model.safetensors", e.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
    }

    [Theory]
    [InlineData(new[] { "--swa-start", "100", "--steps", "20" }, "SWA averages the updates after update 100, but the run has 20: nothing would be averaged")]
    [InlineData(new[] { "--update-bn", "5", "--steps", "20" }, "is for an evaluation point other than the weights (an EMA, SWA, Lookahead or a schedule-free optimizer)")]
    [InlineData(new[] { "--model", "linear:5", "--steps", "20" }, "end the model with linear (without a width it gives the 2 outputs the data needs)")]
    [InlineData(new[] { "--data", "mnist", "--model", "conv:8,k=3-relu-linear", "--steps", "20" }, "its last layer, linear, acts on the last dimension of its input [8, 26, 26] only: put flatten before it (...-flatten-linear)")]
    [InlineData(new[] { "--data", "mnist", "--model", "conv:8,k=3-relu", "--steps", "20" }, "end the model with flatten-linear (a linear layer acts on the last dimension of its input, here [8, 26, 26];")]
    public void Settings_that_would_do_nothing_or_cannot_fit_the_data_are_refused(string[] settings, string message)
    {
        var (code, _, err) = Cli(["train", "--out", Out("nothing"), .. settings]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.False(Directory.Exists(Out("nothing")));
    }

    [Fact]
    public void A_run_that_stopped_before_its_first_checkpoint_says_to_delete_it()
    {
        var (code, _, _) = Cli("train", "--out", Out("dead"), "-o", "sgd", "--lr", "1e6", "--steps", "50");
        Assert.Equal(1, code);
        (code, _, var err) = Cli("train", "--out", Out("dead"), "-o", "sgd", "--lr", "0.1", "--steps", "50");
        Assert.Equal(2, code);
        Assert.Contains($"{Out("dead")} holds a run that stopped before its first checkpoint, so it cannot be resumed; delete {Out("dead")} or choose another --out.", err);
        (code, _, err) = Cli("train", "--resume", Out("dead"));
        Assert.Equal(1, code);
        Assert.Contains($"{Out("dead")} holds no checkpoint (checkpoint.state) to resume from; start a new run instead: delete {Out("dead")} or choose another --out.", err);
    }

    [Fact]
    public void Resume_refuses_metrics_changed_so_that_the_cut_would_fall_inside_a_row_and_changes_nothing()
    {
        var (code, _, err) = Cli("train", "--out", Out("crlf"), "--steps", "20", "--checkpoint-every", "10", "--eval-every", "5", "--hidden", "8");
        Assert.True(code == 0, err);
        // Rewritten with CRLF line endings after the checkpoint at step 20 (one more row than the checkpoint at 10 recorded).
        string csv = Path.Combine(Out("crlf"), "metrics.csv");
        File.WriteAllText(csv, File.ReadAllText(csv).Replace("\n", "\r\n", StringComparison.Ordinal));
        var files = Directory.GetFiles(Out("crlf")).ToDictionary(f => f, File.ReadAllBytes);
        (code, _, err) = Cli("train", "--resume", Out("crlf"), "--steps", "30");
        Assert.Equal(1, code);
        Assert.Contains("no longer has a line ending where the checkpoint's rows ended", err);
        foreach (var (file, bytes) in files) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Theory]
    [InlineData("\"hyperparameters\": {}", "\"hyperparameters\": {\"lr\": 0.5}", "is resumed with hyperparameters {\"lr\":0.5}, but its checkpoint was written with {}")]
    [InlineData("\"seed\": 0", "\"seed\": 3", "is resumed with seed 3, but its checkpoint was written with 0")]
    [InlineData("\"schedule\": \"constant\"", "\"schedule\": \"exponential:gamma=0.5\"", "would have given update 2 a learning rate of 0.0005 where the run in")]
    public void Resume_refuses_a_config_json_edited_after_the_checkpoint_and_changes_nothing(string from, string to, string message)
    {
        var (code, _, err) = Cli("train", "--out", Out("edited"), "--steps", "20", "--checkpoint-every", "10", "--eval-every", "5", "--hidden", "8");
        Assert.True(code == 0, err);
        string config = Path.Combine(Out("edited"), "config.json");
        string text = File.ReadAllText(config);
        Assert.Contains(from, text);
        File.WriteAllText(config, text.Replace(from, to, StringComparison.Ordinal));
        var files = Directory.GetFiles(Out("edited")).ToDictionary(f => f, File.ReadAllBytes);
        (code, _, err) = Cli("train", "--resume", Out("edited"), "--steps", "30");
        Assert.NotEqual(0, code);
        Assert.Contains(message, err);
        foreach (var (file, bytes) in files) Assert.Equal(bytes, File.ReadAllBytes(file));
        // Restored, it resumes.
        File.WriteAllText(config, text);
        Assert.Equal(0, Cli("train", "--resume", Out("edited"), "--steps", "30").Code);
    }

    [Theory]
    [InlineData("{bad", "is not a run configuration this version can read")]
    [InlineData("[]", "is not a run configuration this version can read")]
    [InlineData("{\"hidden\": null}", "gives hidden as null, which a run cannot take")]
    [InlineData("{\"learning_rate\": 0.5}", "has a setting 'learning_rate' that runs do not have; it was edited by hand: remove it (the settings are")]
    public void Resume_reports_a_damaged_config_json_as_such(string text, string message)
    {
        var (code, _, err) = Cli("train", "--out", Out("damaged"), "--steps", "10", "--checkpoint-every", "5", "--hidden", "8");
        Assert.True(code == 0, err);
        File.WriteAllText(Path.Combine(Out("damaged"), "config.json"), text);
        (code, _, err) = Cli("train", "--resume", Out("damaged"), "--steps", "20");
        Assert.Equal(1, code);
        Assert.Contains(message, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void The_logged_learning_rate_is_the_one_each_update_used()
    {
        // ExponentialLR: update t uses lr gamma^(t-1).
        var (code, _, err) = Cli("train", "--out", Out("exp"), "-o", "sgd", "--lr", "0.1", "--schedule", "exponential:gamma=0.5", "--steps", "3", "--eval-every", "1");
        Assert.True(code == 0, err);
        double[] expected = [0.1, 0.05, 0.025];
        AssertClose(expected, CsvColumn(Out("exp"), "lr"));
        AssertClose(expected, JsonlColumn(Out("exp"), "lr"));
        var board = TensorBoardScalars(Out("exp"), "lr");
        Assert.Equal([1L, 2, 3], board.Select(s => s.Step));
        Assert.Equal(expected.Select(v => (float)v), board.Select(s => s.Value));

        // A linear warmup over 10 updates from 0: update t < 11 uses 0.1 (t-1)/10, then the schedule's 0.1.
        (code, _, err) = Cli("train", "--out", Out("warm"), "-o", "sgd", "--lr", "0.1", "--warmup", "10", "--steps", "12", "--eval-every", "1");
        Assert.True(code == 0, err);
        expected = [.. Enumerable.Range(1, 12).Select(t => t <= 10 ? 0.1 * (t - 1) / 10 : 0.1)];
        AssertClose(expected, CsvColumn(Out("warm"), "lr"));
        AssertClose(expected, JsonlColumn(Out("warm"), "lr"));
    }

    [Fact]
    public void The_divergence_message_names_the_learning_rate_of_the_update_that_diverged()
    {
        var (code, _, err) = Cli("train", "--data", "moons", "--optimizer", "sgd", "--lr", "1", "--schedule", "exponential:gamma=1.5",
            "--steps", "500", "--eval-every", "5", "--out", Out("diverge"));
        Assert.Equal(1, code);
        var m = System.Text.RegularExpressions.Regex.Match(err, @"at step (\d+), after update (\d+) at learning rate ([0-9.eE+-]+):");
        Assert.True(m.Success, err);
        long step = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), update = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(step - 1, update);
        // Update u used lr 1.5^(u-1).
        double lr = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.Equal(Math.Pow(1.5, update - 1), lr, 1e-9 * lr);
    }

    [Fact]
    public void A_loss_that_is_not_finite_before_any_update_is_not_blamed_on_the_learning_rate()
    {
        // Features near float's largest value overflow the first layers: the loss is not finite at the initial weights.
        string csv = Out("huge.csv");
        File.WriteAllLines(csv, ["a,b,label", .. Enumerable.Range(0, 20).Select(i => $"3e38,{(i % 2 == 0 ? "-3e38" : "3e38")},{i % 2}")]);
        var (code, _, err) = Cli("train", "--data", "csv", "--csv", csv, "--steps", "10", "--out", Out("huge"));
        Assert.Equal(1, code);
        Assert.Contains("at the start, before any update", err);
        Assert.DoesNotContain("learning rate is probably too high", err);
        var trainer = new Trainer(new TrainingConfig { Data = "csv", Csv = csv, Steps = 10 });
        var e = Assert.Throws<DivergenceException>(() => trainer.Fit());
        Assert.Contains("at the start, before any update", e.Message);
    }

    [Theory]
    [InlineData("--data mnist --n 100", "--n shapes the moons data and has no effect on --data mnist")]
    [InlineData("--data mnist --noise 0.3", "--noise shapes the moons data")]
    [InlineData("--data moons --csv CSV", "--csv is read only with --data csv, not --data moons")]
    [InlineData("--data moons --data-dir DIR", "--data-dir is read only with --data mnist or fashion-mnist")]
    [InlineData("--batch 1000", "--batch 1000 is larger than the training set (500 examples); use --batch 500")]
    [InlineData("--warmup 2000 --steps 5", "Invalid warmup of 2000 steps for a run of 5")]
    [InlineData("--hidden= --activation tanh", "--activation has no effect on a linear model")]
    [InlineData("-o adma", "Unknown optimizer 'adma' (did you mean 'adam'?): choose one of sgd,")]
    public void Options_that_would_be_ignored_are_refused_with_the_conflict_and_the_fix(string options, string message)
    {
        File.WriteAllLines(Out("data.csv"), ["x,y,label", "0,0,0", "1,1,1", "0,1,0", "1,0,1", "2,2,1"]);
        string[] args = [.. options.Split(' ').Select(a => a switch { "CSV" => Out("data.csv"), "DIR" => _dir, _ => a })];
        var (code, _, err) = Cli(["train", .. args, "--out", Out("ignored")]);
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err);
        Assert.False(Directory.Exists(Out("ignored")), "nothing is written for a refused command");
    }

    [Fact]
    public void Csv_alone_trains_on_the_csv_file()
    {
        File.WriteAllLines(Out("data.csv"), ["x,y,label", .. Enumerable.Range(0, 50).Select(i => $"{i % 7},{i % 5},{i % 2}")]);
        var (code, output, err) = Cli("train", "--csv", Out("data.csv"), "--hidden=", "--steps", "5", "--out", Out("csv"), "--format", "json");
        Assert.True(code == 0, err);
        Assert.Equal(40, JsonDocument.Parse(output).RootElement.GetProperty("train_examples").GetInt32());
        Assert.Contains("\"data\": \"csv\"", File.ReadAllText(Path.Combine(Out("csv"), "config.json")));
    }

    [Fact]
    public void Resuming_to_a_step_the_run_has_reached_is_refused_and_extending_keeps_config_json_true()
    {
        Assert.Equal(0, Cli("train", "--steps", "40", "--eval-every", "20", "--out", Out("run")).Code);
        var before = Directory.GetFiles(Out("run")).ToDictionary(f => f, File.ReadAllBytes);
        foreach (var steps in new[] { "40", "20" })
        {
            var (code, _, err) = Cli("train", "--resume", Out("run"), "--steps", steps);
            Assert.Equal(2, code);
            Assert.Contains($"already at step 40, so a run of {steps} steps has nothing left to do; give --steps above 40", err);
        }
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));

        var (ok, _, message) = Cli("train", "--resume", Out("run"), "--steps", "60");
        Assert.True(ok == 0, message);
        Assert.Contains("continuing", message);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("run"), "config.json"))).RootElement;
        Assert.Equal(60, config.GetProperty("steps").GetInt64());
        Assert.Equal(60, Trainer.LoadConfig(Out("run")).Steps);
        Assert.Empty(Directory.GetFiles(Out("run"), "*.tmp"));
        Assert.Equal(60, JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("run"), "summary.json"))).RootElement.GetProperty("steps").GetInt64());

        // The library refuses too.
        var e = Assert.Throws<TrainingException>(() => new Trainer(Trainer.LoadConfig(Out("run"))).Run(Out("run"), resume: true));
        Assert.Contains("already at step 60", e.Message);
    }

    [Fact]
    public void Evaluation_threads_change_no_metric_and_a_bad_count_is_refused()
    {
        string[] run = ["train", "--data", "mnist", "--model", "conv:4,k=3,s=2-relu-flatten-linear", "--steps", "30", "--eval-every", "10", "--batch", "16"];
        Assert.Equal(0, Cli([.. run, "--eval-threads", "1", "--out", Out("one")]).Code);
        var (code, _, err) = Cli([.. run, "--eval-threads", "3", "--out", Out("three")]);
        Assert.True(code == 0, err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Out("one"), "metrics.csv")), File.ReadAllBytes(Path.Combine(Out("three"), "metrics.csv")));
        // Not a setting of the run: config.json does not hold it, and a resumed run may take another count.
        Assert.DoesNotContain("eval_threads", File.ReadAllText(Path.Combine(Out("three"), "config.json")));
        Assert.Equal(0, Cli("train", "--resume", Out("three"), "--steps", "40", "--eval-threads", "2").Code);
        Assert.Equal(0, Cli("train", "--resume", Out("one"), "--steps", "40", "--eval-threads", "1").Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Out("one"), "metrics.csv")), File.ReadAllBytes(Path.Combine(Out("three"), "metrics.csv")));

        var bad = Cli([.. run, "--eval-threads", "0", "--out", Out("bad")]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("--eval-threads", bad.Err);
        Assert.False(Directory.Exists(Out("bad")));
    }

    [Fact]
    public void A_run_stopped_between_its_last_checkpoint_and_its_summary_is_finished_by_resuming_it()
    {
        Assert.Equal(0, Cli("train", "--steps", "40", "--eval-every", "20", "--out", Out("run")).Code);
        var whole = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("run"), "summary.json"))).RootElement.Clone();
        var weights = File.ReadAllBytes(Path.Combine(Out("run"), "model.safetensors"));
        var metrics = File.ReadAllBytes(Path.Combine(Out("run"), "metrics.csv"));
        File.Delete(Path.Combine(Out("run"), "summary.json"));   // as a kill between the last checkpoint and the summary leaves it
        Assert.Null(RunWriter.EndedSummary(Out("run")));

        var (code, output, err) = Cli("train", "--resume", Out("run"), "--format", "json");
        Assert.True(code == 0, err);
        Assert.Contains("finishing", err);
        var finished = JsonDocument.Parse(output).RootElement;
        foreach (var key in new[] { "steps", "train_loss", "train_accuracy", "test_loss", "test_accuracy" })
            Assert.Equal(whole.GetProperty(key).GetDouble(), finished.GetProperty(key).GetDouble());
        Assert.True(finished.GetProperty("steps_per_second").GetDouble() > 0);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(Out("run"), "model.safetensors")));
        Assert.Equal(metrics, File.ReadAllBytes(Path.Combine(Out("run"), "metrics.csv")));
        Assert.Equal(40, RunWriter.EndedSummary(Out("run"))!.Steps);

        // Once finished, it is refused like any run that reached its end.
        var again = Cli("train", "--resume", Out("run"));
        Assert.Equal(2, again.Code);
        Assert.Contains("already at step 40", again.Err);

        // An extended run stopped at its new end keeps the old summary (step 40): that one is finished too.
        Assert.Equal(0, Cli("train", "--resume", Out("run"), "--steps", "60").Code);
        File.WriteAllText(Path.Combine(Out("run"), "summary.json"), whole.GetRawText());
        Assert.Null(RunWriter.EndedSummary(Out("run")));
        var summary = new Trainer(Trainer.LoadConfig(Out("run"))).Run(Out("run"), resume: true);
        Assert.Equal(60, summary.Steps);
        Assert.Equal(60, RunWriter.EndedSummary(Out("run"))!.Steps);

        // A 40-step run stopped at its checkpoint at step 20: asking for 20 steps is a shorter target, not a finish.
        Assert.Equal(0, Cli("train", "--steps", "20", "--eval-every", "10", "--out", Out("short")).Code);
        string configPath = Path.Combine(Out("short"), "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"steps\": 20", "\"steps\": 40"));
        File.Delete(Path.Combine(Out("short"), "summary.json"));
        var shorter = Cli("train", "--resume", Out("short"), "--steps", "20");
        Assert.Equal(2, shorter.Code);
        Assert.Contains("already at step 20", shorter.Err);
        Assert.Throws<TrainingException>(() => new Trainer(Trainer.LoadConfig(Out("short")) with { Steps = 20 }).Run(Out("short"), resume: true));
        var (resumed, _, resumedErr) = Cli("train", "--resume", Out("short"));
        Assert.True(resumed == 0, resumedErr);
        Assert.Contains("continuing", resumedErr);
        Assert.Equal(40, RunWriter.EndedSummary(Out("short"))!.Steps);
    }

    [Fact]
    public void An_extended_run_keeps_the_schedule_it_started_with_and_config_json_says_which()
    {
        // cosine's length defaults to the run's: 40 steps here, written out so that extending the run does not stretch it.
        Assert.Equal(0, Cli("train", "-o", "sgd", "--lr", "0.1", "--schedule", "cosine", "--steps", "40", "--eval-every", "10", "--out", Out("cos")).Code);
        Assert.Contains("\"schedule\": \"cosine:final=0,steps=40\"", File.ReadAllText(Path.Combine(Out("cos"), "config.json")));
        var (code, _, err) = Cli("train", "--resume", Out("cos"), "--steps", "60");
        Assert.True(code == 0, err);
        Assert.Contains("\"schedule\": \"cosine:final=0,steps=40\"", File.ReadAllText(Path.Combine(Out("cos"), "config.json")));
        // CosineAnnealingLR: update t uses 0.1 (1 + cos(pi (t-1)/40)) / 2 up to t = 41, then final = 0.
        double[] expected = [.. new[] { 10, 20, 30, 40, 50, 60 }.Select(t => t <= 41 ? 0.1 * (1 + Math.Cos(Math.PI * (t - 1) / 40)) / 2 : 0)];
        AssertClose(expected, CsvColumn(Out("cos"), "lr"));
    }

    [Fact]
    public void A_onecycle_run_is_not_resumed_with_another_momentum_cycle()
    {
        Assert.Equal(0, Cli(["train", "-o", "sgd", "--lr", "0.1", "--momentum", "0.9", "--schedule", "onecycle", "--steps", "20", "--eval-every", "10", "--out", Out("cycle")]).Code);
        var (code, _, why) = Cli("train", "--resume", Out("cycle"), "--steps", "30", "--schedule", "onecycle:steps=20,cycle-momentum=0");
        Assert.Equal(2, code);
        Assert.Contains("would have given update 1 a momentum of 0.9 where the run in", why);
        (code, _, why) = Cli("train", "--resume", Out("cycle"), "--steps", "30", "--schedule", "onecycle:steps=20,max-momentum=0.99");
        Assert.Contains("would have given update 1 a momentum of 0.99 where the run in", why);
        // A config.json as earlier versions wrote it (onecycle without the momentum keys) reads as the run it was then, without a cycle.
        string config = Path.Combine(Out("cycle"), "config.json"), text = File.ReadAllText(config);
        File.WriteAllText(config, text.Replace(",cycle-momentum=1,base-momentum=0.85,max-momentum=0.95", ""));
        (code, _, why) = Cli("train", "--resume", Out("cycle"), "--steps", "30");
        Assert.Contains("would have given update 1 a momentum of 0.9 where the run in", why);
        File.WriteAllText(config, text);
        (code, _, why) = Cli("train", "--resume", Out("cycle"), "--steps", "30");
        Assert.True(code == 0, why);
    }

    [Fact]
    public void A_plateau_run_written_before_its_newer_keys_resumes()
    {
        // config.json as earlier versions wrote it, without threshold-mode and eps: the same schedule at their defaults.
        Assert.Equal(0, Cli(["train", "-o", "sgd", "--lr", "0.1", "--schedule", "plateau:patience=1", "--steps", "20", "--eval-every", "5", "--out", Out("plateau")]).Code);
        string Earlier(string text) => text.Replace(",threshold-mode=rel", "").Replace(",eps=1E-08", "");
        string config = Path.Combine(Out("plateau"), "config.json"), text = File.ReadAllText(config);
        Assert.Contains(",threshold-mode=rel,cooldown=0,min=0,eps=1E-08", text);
        File.WriteAllText(config, Earlier(text));
        // The checkpoint records the configuration too, as the earlier version wrote it.
        string checkpoint = Path.Combine(Out("plateau"), "checkpoint.state");
        var state = Descent.State.StateDict.Load(checkpoint);
        state.Set("run.config", Earlier(state.GetString("run.config")));
        state.Save(checkpoint);
        var (code, _, why) = Cli("train", "--resume", Out("plateau"), "--steps", "30");
        Assert.True(code == 0, why);
    }

    [Fact]
    public void A_warmup_stable_decay_run_resumed_from_its_stable_phase_with_a_longer_schedule_equals_the_longer_run_from_scratch()
    {
        string[] common = ["-o", "sgd", "--lr", "0.1", "--warmup", "5", "--eval-every", "10"];
        Assert.Equal(0, Cli(["train", .. common, "--schedule", "wsd", "--steps", "100", "--out", Out("long")]).Code);
        // Stopped at step 40 of a planned 60 (5 of warmup, 55 of wsd whose cooldown takes updates 50 to 60): in the stable phase.
        Assert.Equal(0, Cli(["train", .. common, "--schedule", "wsd:steps=55", "--steps", "40", "--out", Out("short")]).Code);

        // A schedule that disagrees with an update already taken is refused, and nothing is touched.
        var before = Directory.GetFiles(Out("short")).ToDictionary(f => f, File.ReadAllBytes);
        var (refused, _, why) = Cli("train", "--resume", Out("short"), "--steps", "100", "--schedule", "cosine");
        Assert.Equal(2, refused);
        Assert.Contains("would have given update 7 a learning rate of", why);
        Assert.Contains("change its schedule only after its checkpoint, step 40", why);
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
        Assert.Contains("neither swapped in nor out", Cli("train", "--resume", Out("short"), "--steps", "100", "--schedule", "plateau").Err);

        var (code, _, err) = Cli("train", "--resume", Out("short"), "--steps", "100", "--schedule", "wsd");
        Assert.True(code == 0, err);
        Assert.Contains("\"schedule\": \"wsd:decay=0.2,final=0,steps=95\"", File.ReadAllText(Path.Combine(Out("short"), "config.json")));
        foreach (var file in new[] { "metrics.csv", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Out("long"), file)), File.ReadAllBytes(Path.Combine(Out("short"), file)));
    }

    [Fact]
    public void Path_problems_are_reported_in_descents_words()
    {
        string file = Out("a-file.txt");
        File.WriteAllText(file, "not a directory");
        (string[] Args, string Message)[] cases =
        [
            (["--data", "csv", "--csv", _dir, "--out", Out("p1")], $"--csv {_dir} is a directory; give a file."),
            (["--data", "csv", "--csv", Out("missing.csv"), "--out", Out("p2")], "no such file; check the path."),
            (["--data", "mnist", "--data-dir", file, "--out", Out("p3")], "is a file; give the directory that holds the files."),
            (["--steps", "5", "--out", Path.Combine(file, "run")], $"cannot be created: {file} is a file, not a directory; choose another path."),
            (["--steps", "5", "--out", file], "is a file; give a directory"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, _, err) = Cli(["train", .. args]);
            Assert.True(code == 2, err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains(message, err);
            Assert.DoesNotContain("Access to the path", err);
            Assert.DoesNotContain("Could not find a part of the path", err);
        }
        if (!OperatingSystem.IsWindows() && Environment.UserName != "root")
        {
            // Permissions cannot be tested as root, who may read anything.
            string locked = Out("locked.csv");
            File.WriteAllText(locked, "x,label\n1,0\n2,1\n");
            File.SetUnixFileMode(locked, UnixFileMode.None);
            var (code, _, err) = Cli("train", "--data", "csv", "--csv", locked, "--out", Out("p6"));
            Assert.Equal(2, code);
            Assert.Contains("cannot be read (permission denied)", err);
        }
    }

    [Fact]
    public void A_start_where_the_surface_is_not_finite_is_named_as_such()
    {
        var (code, output, err) = Cli("trajectory", "-f", "log(x)", "-o", "sgd", "--steps", "3", "--start=-1,1");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("The surface log(x) is not finite at the start (-1, 1)", err);
        Assert.DoesNotContain("learning rate", err);
        var e = Assert.Throws<ArgumentException>(() => Descent.Landscapes.Trajectory.Run(Descent.Landscapes.Landscape.Get("log(x)"), "sgd", Descent.Optim.Optimizers.DefaultOptions("sgd"), (-1, 1), 3));
        Assert.Contains("not finite at the start", e.Message);
        e = Assert.Throws<ArgumentException>(() => Descent.Landscapes.Trajectory.RequireFiniteStart(Descent.Landscapes.Landscape.Get("sqrt(x)"), (0, 0)));
        Assert.Contains("no finite gradient at the start", e.Message);
    }

    [Fact]
    public void Train_threads_splits_each_minibatch_across_cores_and_refuses_batch_norm_by_the_flag()
    {
        string[] common = ["train", "--data", "mnist", "--model", "conv:4,k=3,s=2-relu-flatten-linear", "-o", "sgd", "--lr", "0.1", "--batch", "16", "--steps", "6", "--eval-every", "3"];
        var (code, _, err) = Cli([.. common, "--threads", "2", "--out", Out("two")]);
        Assert.True(code == 0, err);
        (code, _, err) = Cli([.. common, "--out", Out("one")]);
        Assert.True(code == 0, err);
        // The same run up to float rounding: the test loss of every evaluation agrees to 1e-5.
        double[] Losses(string run) => [.. File.ReadAllLines(Path.Combine(Out(run), "metrics.csv")).Skip(1).Select(l => double.Parse(l.Split(',')[6], System.Globalization.CultureInfo.InvariantCulture))];
        var (one, two) = (Losses("one"), Losses("two"));
        Assert.Equal(one.Length, two.Length);
        Assert.All(one.Zip(two), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5 * p.First, $"{p.First} vs {p.Second}"));
        Assert.Contains("\"threads\": 2", File.ReadAllText(Path.Combine(Out("two"), "config.json")));

        (code, _, err) = Cli("train", "--data", "mnist", "--model", "conv:4,k=3-batchnorm-relu-flatten-linear", "--threads", "2", "--steps", "2", "--out", Out("bn"));
        Assert.NotEqual(0, code);
        Assert.Contains("--threads", err);
        Assert.Contains("batch normalization", err);
        Assert.False(File.Exists(Path.Combine(Out("bn"), "config.json")));
    }
}
