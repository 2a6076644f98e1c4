namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// One decoding strategy's bookkeeping; the generator owns the tensors, the search owns the tokens. Sources are
/// numbered as <see cref="DecodingRules.AddSource"/> numbers them and may join between steps: each step names the
/// sources its rows belong to, in row order, <see cref="RowsPerSource"/> rows each.
/// </summary>
internal interface ISearch
{
    /// <summary>Rows one source occupies: 1, or the beam width.</summary>
    int RowsPerSource { get; }

    /// <summary>Starts a source (already added to the rules); its rows first feed the decoder start token.</summary>
    void Start(int source);

    /// <summary>Consumes the scores ([rows, 1, vocab]) of <paramref name="sources"/>' rows and says which rows carry
    /// into the next step, in order, with the tokens they feed; sources that finished leave.</summary>
    SearchStep Step(StepScores scores, IReadOnlyList<int> sources);

    /// <summary>The generated ids of a finished source (eos included, start token excluded).</summary>
    int[] Result(int source);
}

/// <param name="Keep">Rows of the step carried into the next, in order (a beam may be taken twice).</param>
/// <param name="NextTokens">The token each carried row feeds next.</param>
/// <param name="Running">The sources still running, in the carried rows' order.</param>
/// <param name="Finished">The sources that finished at this step.</param>
internal sealed record SearchStep(int[] Keep, long[] NextTokens, int[] Running, int[] Finished);
