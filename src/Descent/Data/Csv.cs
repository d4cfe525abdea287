using System.Globalization;

namespace Descent.Data;

/// <summary>
/// Classification data from a CSV file: numeric feature columns and one label column (integers
/// 0..k-1), comma-separated, with an optional header row. The label column is the one named
/// <c>label</c> in the header, or else the last.
/// </summary>
public static class Csv
{
    /// <summary>Reads <paramref name="path"/>; a malformed line is reported with its number and the problem.</summary>
    public static Dataset Load(string path, string? labelColumn = null)
    {
        var lines = File.ReadAllLines(path);
        int first = 0;
        while (first < lines.Length && string.IsNullOrWhiteSpace(lines[first])) first++;
        if (first == lines.Length) throw new InvalidDataException($"{path}: the file is empty.");
        var head = lines[first].Split(',');
        bool hasHeader = head.Any(h => !double.TryParse(h.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        int labelIndex = head.Length - 1;
        if (hasHeader)
        {
            string wanted = labelColumn ?? "label";
            int found = Array.FindIndex(head, h => string.Equals(h.Trim(), wanted, StringComparison.OrdinalIgnoreCase));
            if (found >= 0) labelIndex = found;
            else if (labelColumn is not null) throw new InvalidDataException($"{path}: no column named '{labelColumn}' in the header ({string.Join(", ", head.Select(h => h.Trim()))}).");
            first++;
        }
        else if (labelColumn is not null)
        {
            throw new InvalidDataException($"{path}: has no header row, so the label column cannot be found by the name '{labelColumn}'.");
        }
        int columns = head.Length;
        if (columns < 2) throw new InvalidDataException($"{path}: needs at least one feature column and a label column, found {columns} column(s).");
        var features = new List<float>();
        var labels = new List<int>();
        for (int i = first; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var cells = lines[i].Split(',');
            if (cells.Length != columns)
                throw new InvalidDataException($"{path}, line {i + 1}: {cells.Length} columns where the first row has {columns}.");
            for (int c = 0; c < columns; c++)
            {
                string cell = cells[c].Trim();
                if (c == labelIndex)
                {
                    if (!int.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out int label) || label < 0)
                        throw new InvalidDataException($"{path}, line {i + 1}: label '{cell}' is not a class number (a whole number >= 0).");
                    labels.Add(label);
                }
                else
                {
                    if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                        throw new InvalidDataException($"{path}, line {i + 1}, column {c + 1}: '{cell}' is not a finite number.");
                    features.Add(v);
                }
            }
        }
        if (labels.Count == 0) throw new InvalidDataException($"{path}: no data rows.");
        int classes = Math.Max(2, labels.Max() + 1);
        return new Dataset(Path.GetFileName(path), [.. features], [.. labels], columns - 1, classes);
    }
}
