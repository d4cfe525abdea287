using System.Globalization;

namespace Descent.Training;

/// <summary>One evaluation of a run.</summary>
public sealed record MetricsRow(long Step, long Epoch, double LearningRate, double BatchLoss, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy)
{
    /// <summary>Column names of <c>metrics.csv</c>.</summary>
    public const string CsvHeader = "step,epoch,lr,batch_loss,train_loss,train_accuracy,test_loss,test_accuracy";

    /// <summary>The row as CSV, numbers in round-trip precision.</summary>
    public string ToCsv() => string.Join(',', Step.ToString(CultureInfo.InvariantCulture), Epoch.ToString(CultureInfo.InvariantCulture),
        F(LearningRate), F(BatchLoss), F(TrainLoss), F(TrainAccuracy), F(TestLoss), F(TestAccuracy));

    /// <summary>The row as one JSON object.</summary>
    public string ToJson() =>
        $"{{\"step\":{Step},\"epoch\":{Epoch},\"lr\":{J(LearningRate)},\"batch_loss\":{J(BatchLoss)},\"train_loss\":{J(TrainLoss)},\"train_accuracy\":{J(TrainAccuracy)},\"test_loss\":{J(TestLoss)},\"test_accuracy\":{J(TestAccuracy)}}}";

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string J(double v) => double.IsFinite(v) ? F(v) : "null";
}
