namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>One decoding strategy's bookkeeping; the generator owns the tensors, the search owns the tokens.</summary>
internal interface ISearch
{
    long[] StartTokens();

    /// <summary>Consumes the scores ([rows, 1, vocab]) of step <paramref name="step"/> (0-based) and returns the rows
    /// to carry into the next step, in order (null: all rows, unchanged).</summary>
    int[]? Step(StepScores scores, int step);

    /// <summary>The tokens the carried rows feed into the next step.</summary>
    long[] NextTokens();

    int[][] Results();
}
