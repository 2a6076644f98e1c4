namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// The finished hypotheses of one source, at most <c>capacity</c> of them, as transformers' BeamHypotheses keeps
/// them: each is scored by its summed log-probabilities / length^lengthPenalty (length = generated tokens, eos
/// included), and a new one enters a full set only by beating the worst.
/// </summary>
internal sealed class BeamHypotheses(int capacity, double lengthPenalty, bool earlyStopping)
{
    private readonly List<(float Score, int[] Tokens)> _hypotheses = [];

    public int Count => _hypotheses.Count;

    public void Add(IReadOnlyCollection<int> tokens, float sumLogProbs)
    {
        float score = (float)(sumLogProbs / Math.Pow(tokens.Count, lengthPenalty));
        if (_hypotheses.Count < capacity)
        {
            _hypotheses.Add((score, tokens.ToArray()));
            return;
        }

        int worst = 0;
        for (int i = 1; i < _hypotheses.Count; i++)
        {
            if (_hypotheses[i].Score < _hypotheses[worst].Score)
            {
                worst = i;
            }
        }

        if (score > _hypotheses[worst].Score)
        {
            _hypotheses[worst] = (score, tokens.ToArray());
        }
    }

    /// <summary>Whether a running beam whose best sum of log-probabilities is <paramref name="bestSumLogProbs"/> after
    /// <paramref name="generated"/> tokens could still score above the worst finished hypothesis.</summary>
    public bool CanImprove(float bestSumLogProbs, int generated)
    {
        float worst = _hypotheses.Min(h => h.Score);
        float highestAttainable = (float)(bestSumLogProbs / Math.Pow(generated, lengthPenalty));
        return !(worst >= highestAttainable);
    }

    /// <summary>The set is full and cannot improve any more (or, with early stopping, is full).</summary>
    public bool IsDone(float bestSumLogProbs, int generated)
    {
        if (_hypotheses.Count < capacity)
        {
            return false;
        }

        return earlyStopping || !CanImprove(bestSumLogProbs, generated);
    }

    /// <summary>The tokens of the best-scoring hypothesis (the first of equal ones), or null when there is none.</summary>
    public int[]? Best()
    {
        if (_hypotheses.Count == 0)
        {
            return null;
        }

        var best = _hypotheses[0];
        foreach (var h in _hypotheses)
        {
            if (h.Score > best.Score)
            {
                best = h;
            }
        }

        return best.Tokens;
    }
}
