using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// Beam search as transformers' BeamSearchScorer does it, per source: scores are sums of float32 log-probabilities;
/// each step takes the 2·beams best (beam, token) candidates (<see cref="BeamCandidates"/>); a candidate ending in
/// eos among the first `beams` becomes a finished hypothesis (<see cref="BeamHypotheses"/>); a source is done when
/// `beams` hypotheses are finished and no running beam can beat the worst of them (or at once with early stopping).
/// models/training/beam_reference.py implements the same rules in PyTorch.
/// </summary>
internal sealed class BeamSearch : ISearch
{
    private readonly int _beams;
    private readonly DecodingRules _rules;
    private readonly SourceBeams[] _sources;
    private List<int> _active; // source indices, each with `_beams` consecutive rows
    private long[] _next;

    public BeamSearch(int batch, GenerationSettings settings, GenerationConfig defaults, DecodingRules rules)
    {
        _beams = settings.Beams;
        _rules = rules;
        _sources = Enumerable.Range(0, batch)
            .Select(_ => new SourceBeams(_beams, defaults.EosTokenId, settings.LengthPenalty, settings.EarlyStopping))
            .ToArray();
        _active = Enumerable.Range(0, batch).ToList();
        _next = Enumerable.Repeat((long)defaults.DecoderStartTokenId, batch * _beams).ToArray();
    }

    public long[] StartTokens() => _next;

    public int[]? Step(StepScores scores, int step)
    {
        int vocab = scores.Vocab;
        var rows = new RowRules[_active.Count * _beams];
        for (int a = 0; a < _active.Count; a++)
        {
            var source = _sources[_active[a]];
            for (int k = 0; k < _beams; k++)
            {
                var history = source.Tokens(k);
                IReadOnlyList<int> banned = _rules.Suppressed;
                if (_rules.HasHistoryBans)
                {
                    var list = new List<int>(_rules.Suppressed);
                    _rules.AddHistoryBans(history, list);
                    banned = list;
                }

                rows[a * _beams + k] = new RowRules(_rules.ForcedToken(_active[a], history), banned, history);
            }
        }

        var candidates = BeamCandidates.Select(scores.Logits, vocab, _beams,
            _active.Select(s => _sources[s].Scores).ToArray(), rows, _rules);
        var keep = new List<int>(_active.Count * _beams);
        var next = new List<long>(_active.Count * _beams);
        var stillActive = new List<int>(_active.Count);
        var fromBeam = new int[_beams];
        for (int a = 0; a < _active.Count; a++)
        {
            var source = _sources[_active[a]];
            if (!source.Advance(candidates.Scores(a), candidates.Ids(a), candidates.Count(a), vocab, step + 1,
                    _rules.MaxNewTokens(_active[a]), fromBeam))
            {
                continue;
            }

            stillActive.Add(_active[a]);
            for (int j = 0; j < _beams; j++)
            {
                keep.Add(a * _beams + fromBeam[j]);
                next.Add(source.LastToken(j));
            }
        }

        _active = stillActive;
        _next = next.ToArray();
        return keep.ToArray();
    }

    public long[] NextTokens() => _next;

    public int[][] Results() => _sources.Select(s => s.Result()).ToArray();
}
