using ServerlessInference.Engine.Kernels;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>Greedy: the most likely allowed token after the rules (lowest id on ties, like argmax); a row leaves at
/// eos or at its source's length bound.</summary>
internal sealed class GreedySearch : ISearch
{
    private readonly int _eos;
    private readonly DecodingRules _rules;
    private readonly List<int>[] _outputs;
    private readonly List<int> _banned = [];
    private float[] _scratch = [];
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
        var keep = new List<int>(_active.Length);
        var next = new List<long>(_active.Length);
        for (int r = 0; r < _active.Length; r++)
        {
            int source = _active[r];
            var output = _outputs[source];
            int token = _rules.ForcedToken(source, output) ?? Choose(scores, r, output);
            output.Add(token);
            if (token != _eos && output.Count < _rules.MaxNewTokens(source))
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

    private int Choose(StepScores scores, int row, List<int> output)
    {
        IReadOnlyList<int> banned = _rules.Suppressed;
        if (_rules.HasHistoryBans)
        {
            _banned.Clear();
            _banned.AddRange(_rules.Suppressed);
            _rules.AddHistoryBans(output, _banned);
            banned = _banned;
        }

        if (!_rules.PenalizesRepeats)
        {
            // Bans alone keep the approximate projection's argmax exact: it skips them like the float32 scan does.
            return scores.ArgMax(row, banned);
        }

        // The penalty moves scores of the history's ids: rank the processed float32 logits (the generator asks for
        // full logits whenever the rules penalize repeats).
        if (_scratch.Length != scores.Vocab)
        {
            _scratch = new float[scores.Vocab];
        }

        _rules.ProcessLogits(scores.Logits.Slice(row * scores.Vocab, scores.Vocab), output, banned, _scratch);
        return RowKernels.ArgMax(_scratch, []);
    }

    public long[] NextTokens() => _next;

    public int[][] Results() => _outputs.Select(o => o.ToArray()).ToArray();
}
