using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>Greedy: the most likely allowed token (lowest id on ties, like argmax); rows leave at eos.</summary>
internal sealed class GreedySearch : ISearch
{
    private readonly int _eos;
    private readonly DecodingRules _rules;
    private readonly List<int>[] _outputs;
    private int[] _active;
    private long[] _next;

    public GreedySearch(int batch, GenerationConfig defaults, DecodingRules rules)
    {
        _eos = defaults.EosTokenId;
        _rules = rules;
        _outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        _active = Enumerable.Range(0, batch).ToArray();
        _next = Enumerable.Repeat((long)defaults.DecoderStartTokenId, batch).ToArray();
    }

    public long[] StartTokens() => _next;

    public int[]? Step(StepScores scores, int step)
    {
        int? forced = _rules.ForcedToken(step);
        var keep = new List<int>(_active.Length);
        var next = new List<long>(_active.Length);
        for (int r = 0; r < _active.Length; r++)
        {
            int token = forced ?? scores.ArgMax(r, _rules.Suppressed);
            _outputs[_active[r]].Add(token);
            if (token != _eos)
            {
                keep.Add(r);
                next.Add(token);
            }
        }

        bool unchanged = keep.Count == _active.Length;
        _active = keep.Select(r => _active[r]).ToArray();
        _next = next.ToArray();
        return unchanged ? null : keep.ToArray();
    }

    public long[] NextTokens() => _next;

    public int[][] Results() => _outputs.Select(o => o.ToArray()).ToArray();
}
