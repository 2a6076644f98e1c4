namespace ServerlessInference.Translation;

/// <summary>Model inputs decoded together, each with its index in the list it was drawn from (the pairing
/// CTranslate2's rebatch_input returns), so that outputs can be put back in place.</summary>
internal sealed record SourceBatch(int[] Indices, int[][] Sources)
{
    /// <summary>
    /// The inputs sorted by length, shortest first (equal lengths keep their order), and cut into batches of at most
    /// <paramref name="maxBatchSize"/>: similar lengths together keep padding, which costs as much as text, low.
    /// </summary>
    public static IReadOnlyList<SourceBatch> Rebatch(IReadOnlyList<int[]> inputs, int maxBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        var order = Enumerable.Range(0, inputs.Count).OrderBy(i => inputs[i].Length).ToArray();
        var batches = new List<SourceBatch>();
        for (int start = 0; start < order.Length; start += maxBatchSize)
        {
            var indices = order[start..Math.Min(start + maxBatchSize, order.Length)];
            batches.Add(new SourceBatch(indices, indices.Select(i => inputs[i]).ToArray()));
        }

        return batches;
    }
}
