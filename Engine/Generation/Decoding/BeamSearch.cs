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
    private readonly int _eos;
    private readonly GenerationSettings _settings;
    private readonly DecodingRules _rules;
    private readonly Dictionary<int, SourceBeams> _sources = [];

    public BeamSearch(GenerationSettings settings, GenerationConfig defaults, DecodingRules rules)
    {
        _beams = settings.Beams;
        _eos = defaults.EosTokenId;
        _settings = settings;
        _rules = rules;
    }

    public int RowsPerSource => _beams;

    public void Start(int source) =>
        _sources.Add(source, new SourceBeams(_beams, _eos, _settings.LengthPenalty, _settings.EarlyStopping));

    public SearchStep Step(StepScores scores, IReadOnlyList<int> sources)
    {
        int vocab = scores.Vocab;
        var rows = new RowRules[sources.Count * _beams];
        for (int a = 0; a < sources.Count; a++)
        {
            var source = _sources[sources[a]];
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

                rows[a * _beams + k] = new RowRules(_rules.ForcedToken(sources[a], history), banned, history);
            }
        }

        var candidates = BeamCandidates.Select(scores.Logits, vocab, _beams,
            sources.Select(s => _sources[s].Scores).ToArray(), rows, _rules);
        var keep = new List<int>(sources.Count * _beams);
        var next = new List<long>(sources.Count * _beams);
        var running = new List<int>(sources.Count);
        var finished = new List<int>();
        var fromBeam = new int[_beams];
        for (int a = 0; a < sources.Count; a++)
        {
            var source = _sources[sources[a]];
            // Every beam of a source holds as many tokens: this step makes it one more.
            int generated = source.Tokens(0).Count + 1;
            if (!source.Advance(candidates.Scores(a), candidates.Ids(a), candidates.Count(a), vocab, generated,
                    _rules.MaxNewTokens(sources[a]), fromBeam))
            {
                finished.Add(sources[a]);
                continue;
            }

            running.Add(sources[a]);
            for (int j = 0; j < _beams; j++)
            {
                keep.Add(a * _beams + fromBeam[j]);
                next.Add(source.LastToken(j));
            }
        }

        return new SearchStep(keep.ToArray(), next.ToArray(), running.ToArray(), finished.ToArray());
    }

    public int[] Result(int source)
    {
        var result = _sources[source].Result();
        _sources.Remove(source);
        return result;
    }
}
