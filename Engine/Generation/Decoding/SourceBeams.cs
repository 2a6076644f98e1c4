namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>One source's running beams (tokens and summed log-probabilities) and its finished hypotheses.</summary>
internal sealed class SourceBeams
{
    private readonly int _beams;
    private readonly int _eos;
    private readonly BeamHypotheses _finished;
    private float[] _scores;
    private List<int>?[] _tokens;
    private bool _outOfLength;

    public SourceBeams(int beams, int eos, double lengthPenalty, bool earlyStopping)
    {
        _beams = beams;
        _eos = eos;
        _finished = new BeamHypotheses(beams, lengthPenalty, earlyStopping);
        _scores = new float[beams];
        _tokens = Enumerable.Range(0, beams).Select(_ => (List<int>?)new List<int>()).ToArray();
        // Only the first beam is live at the start, or all beams would pick the same tokens.
        for (int k = 1; k < beams; k++)
        {
            _scores[k] = -1e9f;
        }
    }

    /// <summary>The summed log-probabilities of the running beams, which this step's candidates extend.</summary>
    public float[] Scores => _scores;

    public bool Done { get; private set; }

    /// <summary>The tokens running beam <paramref name="beam"/> has generated.</summary>
    public IReadOnlyList<int> Tokens(int beam) => _tokens[beam]!;

    /// <summary>
    /// Takes this step's candidates (best first; id = beam · vocab + token): eos among the first `beams` finishes a
    /// hypothesis, other candidates continue as the next beams until `beams` of them run. Returns false when the
    /// source is done; otherwise <paramref name="fromBeam"/>[j] is the beam that new beam j continues.
    /// </summary>
    /// <param name="generated">Tokens each beam holds after this step.</param>
    /// <param name="maxNew">The most tokens this source may generate: at that many the source is done.</param>
    public bool Advance(ReadOnlySpan<float> candScores, ReadOnlySpan<int> candIds, int count, int vocab, int generated,
        int maxNew, Span<int> fromBeam)
    {
        var newScores = new float[_beams];
        var newTokens = new List<int>?[_beams];
        int taken = 0;
        for (int rank = 0; rank < count && taken < _beams; rank++)
        {
            int beam = candIds[rank] / vocab;
            int token = candIds[rank] % vocab;
            if (token == _eos)
            {
                if (rank < _beams && candScores[rank] != float.NegativeInfinity)
                {
                    _finished.Add(new List<int>(_tokens[beam]!) { token }, candScores[rank]);
                }

                continue;
            }

            newScores[taken] = candScores[rank];
            newTokens[taken] = new List<int>(_tokens[beam]!) { token };
            fromBeam[taken] = beam;
            taken++;
        }

        _scores = newScores;
        _tokens = newTokens;
        Done = taken < _beams || _finished.IsDone(candScores[0], generated);
        if (!Done && generated >= maxNew)
        {
            _outOfLength = true;
            Done = true;
        }

        return !Done;
    }

    /// <summary>The last token of running beam <paramref name="beam"/>, which it feeds into the next step.</summary>
    public long LastToken(int beam) => _tokens[beam]![^1];

    /// <summary>The best hypothesis's tokens (empty when there is none).</summary>
    public int[] Result()
    {
        if (!Done || _outOfLength || _finished.Count == 0)
        {
            // Ran out of length without eos (no forced eos configured): running beams compete as they are.
            for (int k = 0; k < _beams; k++)
            {
                if (_tokens[k] is { } tokens)
                {
                    _finished.Add(tokens, _scores[k]);
                }
            }
        }

        return _finished.Best() ?? [];
    }
}
