using Descent.Numerics;
using System.Globalization;

namespace Descent.Training;

/// <summary>One evaluation of a run.</summary>
public sealed record MetricsRow(long Step, long Epoch, double LearningRate, double BatchLoss, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy)
{
    /// <summary>Column names of <c>metrics.csv</c>.</summary>
    public const string CsvHeader = "step,epoch,lr,batch_loss,train_loss,train_accuracy,test_loss,test_accuracy";

    /// <summary>The row as CSV, numbers in round-trip precision.</summary>
    public string ToCsv() => string.Join(',', Step.ToString(CultureInfo.InvariantCulture), Epoch.ToString(CultureInfo.InvariantCulture),
        Format(LearningRate), Format(BatchLoss), Format(TrainLoss), Format(TrainAccuracy), Format(TestLoss), Format(TestAccuracy));

    /// <summary>The row as one JSON object.</summary>
    public string ToJson() =>
        $"{{\"step\":{Step},\"epoch\":{Epoch},\"lr\":{J(LearningRate)},\"batch_loss\":{J(BatchLoss)},\"train_loss\":{J(TrainLoss)},\"train_accuracy\":{J(TrainAccuracy)},\"test_loss\":{J(TestLoss)},\"test_accuracy\":{J(TestAccuracy)}}}";

    /// <summary>
    /// Reads the rows of a <c>metrics.csv</c> written by <see cref="Trainer.Run"/>, finding columns by their
    /// header names (empty and <c>NaN</c> cells read as NaN).
    /// </summary>
    public static IReadOnlyList<MetricsRow> ReadCsv(string path)
    {
        using var reader = new StreamReader(path);
        var header = (reader.ReadLine() ?? "").Split(',');
        int Column(string name) => Array.IndexOf(header, name) is int i and >= 0 ? i
            : throw new InvalidDataException($"{path} has no '{name}' column; is it a metrics.csv written by descent train?");
        int step = Column("step"), epoch = Column("epoch"), lr = Column("lr"), batchLoss = Column("batch_loss"), trainLoss = Column("train_loss"),
            trainAccuracy = Column("train_accuracy"), testLoss = Column("test_loss"), testAccuracy = Column("test_accuracy");
        var rows = new List<MetricsRow>();
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != header.Length)
                throw new InvalidDataException($"{path}, row {rows.Count + 2}: {cells.Length} cells where the header has {header.Length}.");
            double D(int i) => double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
            long L(int i) => long.TryParse(cells[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v
                : throw new InvalidDataException($"{path}, row {rows.Count + 2}: '{cells[i]}' is not a whole number.");
            rows.Add(new MetricsRow(L(step), L(epoch), D(lr), D(batchLoss), D(trainLoss), D(trainAccuracy), D(testLoss), D(testAccuracy)));
        }
        return rows;
    }

    /// <summary>A number as the metrics files write it: the shortest text that parses back to the same double.</summary>
    public static string Format(double v) => RoundTrip.Format(v);

    private static string J(double v) => double.IsFinite(v) ? Format(v) : "null";
}
