using ServerlessInference.Engine.Kernels;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>Greedy: the most likely allowed token after the rules (lowest id on ties, like argmax); a row leaves at
/// eos or at its source's length bound.</summary>
internal sealed class GreedySearch : ISearch
{
    private readonly int _eos;
    private readonly DecodingRules _rules;
    private readonly Dictionary<int, List<int>> _outputs = [];
    private readonly List<int> _banned = [];
    private float[] _scratch = [];

    public GreedySearch(GenerationConfig defaults, DecodingRules rules)
    {
        _eos = defaults.EosTokenId;
        _rules = rules;
    }

    public int RowsPerSource => 1;

    public void Start(int source) => _outputs.Add(source, []);

    public SearchStep Step(StepScores scores, IReadOnlyList<int> sources)
    {
        var keep = new List<int>(sources.Count);
        var next = new List<long>(sources.Count);
        var running = new List<int>(sources.Count);
        var finished = new List<int>();
        for (int r = 0; r < sources.Count; r++)
        {
            int source = sources[r];
            var output = _outputs[source];
            int token = _rules.ForcedToken(source, output) ?? Choose(scores, r, output);
            output.Add(token);
            if (token != _eos && output.Count < _rules.MaxNewTokens(source))
            {
                keep.Add(r);
                next.Add(token);
                running.Add(source);
            }
            else
            {
                finished.Add(source);
            }
        }

        return new SearchStep(keep.ToArray(), next.ToArray(), running.ToArray(), finished.ToArray());
    }

    public int[] Result(int source)
    {
        var output = _outputs[source];
        _outputs.Remove(source);
        return output.ToArray();
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

}
