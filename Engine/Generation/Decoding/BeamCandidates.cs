using System.Buffers;
using ServerlessInference.Engine.Kernels;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// One step's 2·beams best (beam, token) candidates of each running source, best first; a candidate's id is
/// beam · vocab + token and its score the beam's sum plus the token's log-probability.
/// </summary>
internal sealed class BeamCandidates
{
    private readonly int _perSource;
    private readonly float[] _scores;
    private readonly int[] _ids;
    private readonly int[] _counts;

    private BeamCandidates(int sources, int perSource)
    {
        _perSource = perSource;
        _scores = new float[sources * perSource];
        _ids = new int[sources * perSource];
        _counts = new int[sources];
    }

    /// <summary>The candidate scores of source <paramref name="source"/>: the first <see cref="Count"/> are set.</summary>
    public ReadOnlySpan<float> Scores(int source) => _scores.AsSpan(source * _perSource, _perSource);

    public ReadOnlySpan<int> Ids(int source) => _ids.AsSpan(source * _perSource, _perSource);

    public int Count(int source) => _counts[source];

    /// <summary>Selects the candidates of every source whose `beams` rows lie consecutively in
    /// <paramref name="logits"/> ([sources · beams, 1, vocab]).</summary>
    /// <param name="beamScores">Each source's running beam scores.</param>
    /// <param name="rows">Each row's rules this step (sources · beams, in row order).</param>
    public static BeamCandidates Select(ReadOnlySpan<float> logits, int vocab, int beams,
        IReadOnlyList<float[]> beamScores, IReadOnlyList<RowRules> rows, DecodingRules rules)
    {
        int sources = beamScores.Count;
        var result = new BeamCandidates(sources, 2 * beams);
        // Selection reads every logit of a source's rows (a log-sum-exp and a scan per row): the bulk of the search's
        // time, independent across sources, so it runs on all cores while ONNX Runtime waits.
        unsafe
        {
            fixed (float* logitsPtr = logits)
            {
                var all = (IntPtr)logitsPtr;
                int length = logits.Length;
                void SelectSource(int s) => result._counts[s] = SelectForSource(
                    new ReadOnlySpan<float>((float*)all, length).Slice(s * beams * vocab, beams * vocab), vocab, beams,
                    beamScores[s], rows, s * beams, rules,
                    result._scores.AsSpan(s * result._perSource, result._perSource),
                    result._ids.AsSpan(s * result._perSource, result._perSource));
                if (sources > 1)
                {
                    Parallel.For(0, sources, SelectSource);
                }
                else
                {
                    SelectSource(0);
                }
            }
        }

        return result;
    }

    /// <summary>The best candidates of one source's rows, best first; returns how many.</summary>
    private static int SelectForSource(ReadOnlySpan<float> rows, int vocab, int beams, float[] beamScores,
        IReadOnlyList<RowRules> rules, int firstRow, DecodingRules decoding, Span<float> candScores, Span<int> candIds)
    {
        int filled = 0;
        float[]? processed = null;
        try
        {
            for (int k = 0; k < beams; k++)
            {
                var row = rows.Slice(k * vocab, vocab);
                var rule = rules[firstRow + k];
                float beamScore = beamScores[k];
                if (rule.Forced is { } token)
                {
                    // ForcedEOSTokenLogitsProcessor: the forced token scores 0, every other -inf, so the sum stays.
                    filled = TopK.Insert(candScores, candIds, filled, beamScore + 0f, k * vocab + token);
                    continue;
                }

                if (!decoding.RewritesRows && filled == candScores.Length && !(beamScore > candScores[^1]))
                {
                    // No token of this row can enter the full list: its log-probabilities are ≤ 0 (x − max ≤ 0, and the
                    // log of a sum that includes exp(0) is ≥ 0), so its scores are ≤ beamScore (float rounding is
                    // monotonic), and a candidate must beat the last entry strictly. Beams come best first, so the
                    // weaker beams' rows are often skipped whole (at the first step all but the first, at -1e9).
                    continue;
                }

                if (!decoding.RewritesRows)
                {
                    // log_softmax over the whole vocabulary, then the bans, in one pass over the row.
                    var (max, logSum) = RowKernels.LogSumExpParts(row);
                    filled = TopK.Scan(row, beamScore, max, logSum, rule.Banned, k * vocab, candScores, candIds, filled);
                    continue;
                }

                processed ??= ArrayPool<float>.Shared.Rent(vocab);
                var span = processed.AsSpan(0, vocab);
                decoding.ProcessLogProbs(row, rule.History, rule.Banned, span);
                // beamScore + (x - 0 - 0) is beamScore + x: the same float sum as ranking the processed row itself.
                filled = TopK.Scan(span, beamScore, 0f, 0f, [], k * vocab, candScores, candIds, filled);
            }
        }
        finally
        {
            if (processed is not null)
            {
                ArrayPool<float>.Shared.Return(processed);
            }
        }

        return filled;
    }
}

/// <summary>What the rules say about one beam row this step: a forced token, or the ids it may not take and the
/// tokens it has generated (for the rules that read them).</summary>
internal readonly record struct RowRules(int? Forced, IReadOnlyList<int> Banned, IReadOnlyList<int> History);
