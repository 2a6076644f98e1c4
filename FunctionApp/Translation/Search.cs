using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Translation;

/// <summary>One decoding strategy's bookkeeping; the generator owns the tensors, the search owns the tokens.</summary>
internal interface ISearch
{
    long[] StartTokens();

    /// <summary>Consumes this step's scores ([rows, 1, vocab]) and returns the rows to carry into the next step, in
    /// order (null: all rows, unchanged).</summary>
    int[]? Step(StepScores scores, bool forceEos, int step);

    /// <summary>The tokens the carried rows feed into the next step.</summary>
    long[] NextTokens();

    int[][] Results();
}

/// <summary>Greedy: the most likely allowed token (lowest id on ties, like argmax); rows leave at eos.</summary>
internal sealed class GreedySearch : ISearch
{
    private readonly GenerationDefaults _g;
    private readonly List<int>[] _outputs;
    private int[] _active;
    private long[] _next;

    public GreedySearch(int batch, GenerationDefaults defaults)
    {
        _g = defaults;
        _outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        _active = Enumerable.Range(0, batch).ToArray();
        _next = Enumerable.Repeat((long)defaults.DecoderStartTokenId, batch).ToArray();
    }

    public long[] StartTokens() => _next;

    public int[]? Step(StepScores scores, bool forceEos, int step)
    {
        var keep = new List<int>(_active.Length);
        var next = new List<long>(_active.Length);
        for (int r = 0; r < _active.Length; r++)
        {
            int token = forceEos ? _g.ForcedEosTokenId!.Value : scores.ArgMax(r, _g.BadTokenIds);
            _outputs[_active[r]].Add(token);
            if (token != _g.EosTokenId)
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

/// <summary>
/// Beam search as transformers' BeamSearchScorer does it, per source: scores are sums of float32 log-probabilities;
/// each step takes the 2·beams best (beam, token) candidates; a candidate ending in eos among the first `beams`
/// becomes a finished hypothesis scored sum / length^penalty (length = generated tokens, eos included); a source is
/// done when `beams` hypotheses are finished and no running beam can beat the worst of them (or at once with
/// early stopping). models/training/beam_reference.py implements the same rules in PyTorch.
/// </summary>
internal sealed class BeamSearch : ISearch
{
    private readonly int _beams;
    private readonly GenerationSettings _settings;
    private readonly GenerationDefaults _g;
    private readonly Source[] _sources;
    private List<int> _active; // source indices, each with `_beams` consecutive rows
    private long[] _next;

    private sealed class Source(int beams)
    {
        public float[] Scores = new float[beams];
        public List<int>[] Tokens = Enumerable.Range(0, beams).Select(_ => new List<int>()).ToArray();
        public List<(float Score, int[] Tokens)> Finished = [];
        public bool Done;
    }

    public BeamSearch(int batch, int beams, GenerationSettings settings, GenerationDefaults defaults)
    {
        _beams = beams;
        _settings = settings;
        _g = defaults;
        _sources = Enumerable.Range(0, batch).Select(_ => new Source(beams)).ToArray();
        foreach (var s in _sources)
        {
            // Only the first beam is live at the start, or all beams would pick the same tokens.
            for (int k = 1; k < beams; k++)
            {
                s.Scores[k] = -1e9f;
            }
        }

        _active = Enumerable.Range(0, batch).ToList();
        _next = Enumerable.Repeat((long)defaults.DecoderStartTokenId, batch * beams).ToArray();
    }

    public long[] StartTokens() => _next;

    public int[]? Step(StepScores scores, bool forceEos, int step)
    {
        var logits = scores.Logits;
        int vocab = scores.Vocab;
        int k2 = 2 * _beams;
        var keep = new List<int>(_active.Count * _beams);
        var next = new List<long>(_active.Count * _beams);
        var stillActive = new List<int>(_active.Count);

        // Selecting each source's candidates reads every logit of its rows (a log-sum-exp and a scan per row): the
        // bulk of the search's time, independent across sources, so it runs on all cores while ONNX Runtime waits.
        var candScoresAll = new float[_active.Count * k2];
        var candIdsAll = new int[_active.Count * k2];
        var filledAll = new int[_active.Count];
        unsafe
        {
            fixed (float* logitsPtr = logits)
            {
                var all = (IntPtr)logitsPtr;
                int length = logits.Length;
                void Select(int a) => filledAll[a] = SelectCandidates(
                    new ReadOnlySpan<float>((float*)all, length).Slice(a * _beams * vocab, _beams * vocab), vocab,
                    _sources[_active[a]].Scores, forceEos, candScoresAll.AsSpan(a * k2, k2), candIdsAll.AsSpan(a * k2, k2));
                if (_active.Count > 1)
                {
                    Parallel.For(0, _active.Count, Select);
                }
                else
                {
                    Select(0);
                }
            }
        }

        for (int a = 0; a < _active.Count; a++)
        {
            var src = _sources[_active[a]];
            int baseRow = a * _beams;
            int filled = filledAll[a];
            var candScores = candScoresAll.AsSpan(a * k2, k2);
            var candIds = candIdsAll.AsSpan(a * k2, k2);

            // Walk the candidates best first: eos among the first `beams` finishes a hypothesis; others continue.
            var newScores = new float[_beams];
            var newTokens = new List<int>[_beams];
            var fromBeam = new int[_beams];
            int taken = 0;
            for (int rank = 0; rank < filled && taken < _beams; rank++)
            {
                int beam = candIds[rank] / vocab;
                int token = candIds[rank] % vocab;
                if (token == _g.EosTokenId)
                {
                    if (rank < _beams && candScores[rank] != float.NegativeInfinity)
                    {
                        var tokens = new List<int>(src.Tokens[beam]) { token };
                        AddHypothesis(src, candScores[rank], tokens);
                    }

                    continue;
                }

                newScores[taken] = candScores[rank];
                newTokens[taken] = new List<int>(src.Tokens[beam]) { token };
                fromBeam[taken] = beam;
                taken++;
            }

            src.Scores = newScores;
            src.Tokens = newTokens;
            src.Done = taken < _beams || IsDone(src, candScores[0], step + 1);
            if (src.Done)
            {
                continue;
            }

            stillActive.Add(_active[a]);
            for (int j = 0; j < _beams; j++)
            {
                keep.Add(baseRow + fromBeam[j]);
                next.Add(newTokens[j][^1]);
            }
        }

        _active = stillActive;
        _next = next.ToArray();
        return keep.ToArray();
    }

    /// <summary>The 2·beams best (beam, token) candidates of one source, best first; returns how many.</summary>
    private int SelectCandidates(ReadOnlySpan<float> rows, int vocab, float[] beamScores, bool forceEos,
        Span<float> candScores, Span<int> candIds)
    {
        int k2 = candScores.Length;
        int filled = 0;
        for (int k = 0; k < _beams; k++)
        {
            // log_softmax over the whole vocabulary first, then the processors (as transformers orders them):
            // banned ids drop out, and a forced eos keeps its own log-probability.
            var row = rows.Slice(k * vocab, vocab);
            var (max, logSum) = Sampling.LogSumExpParts(row);
            float beamScore = beamScores[k];
            if (forceEos)
            {
                int eos = _g.ForcedEosTokenId!.Value;
                float lp = row[eos] - max - logSum;
                filled = Sampling.TopKInsert(candScores, candIds, filled,
                    beamScore + (float.IsNegativeInfinity(lp) ? 0 : lp), k * vocab + eos);
                continue;
            }

            filled = Sampling.TopKScan(row, beamScore, max, logSum, _g.BadTokenIds, k * vocab, candScores, candIds, filled);
        }

        return filled;
    }

    private void AddHypothesis(Source src, float sumLogProbs, List<int> tokens)
    {
        float score = (float)(sumLogProbs / Math.Pow(tokens.Count, _settings.LengthPenalty));
        if (src.Finished.Count < _beams)
        {
            src.Finished.Add((score, tokens.ToArray()));
            return;
        }

        int worst = 0;
        for (int i = 1; i < src.Finished.Count; i++)
        {
            if (src.Finished[i].Score < src.Finished[worst].Score)
            {
                worst = i;
            }
        }

        if (score > src.Finished[worst].Score)
        {
            src.Finished[worst] = (score, tokens.ToArray());
        }
    }

    private bool IsDone(Source src, float bestSumLogProbs, int generated)
    {
        if (src.Finished.Count < _beams)
        {
            return false;
        }

        if (_settings.EarlyStopping)
        {
            return true;
        }

        float worst = src.Finished.Min(h => h.Score);
        float highestAttainable = (float)(bestSumLogProbs / Math.Pow(generated, _settings.LengthPenalty));
        return worst >= highestAttainable;
    }

    public long[] NextTokens() => _next;

    public int[][] Results()
    {
        var results = new int[_sources.Length][];
        for (int i = 0; i < _sources.Length; i++)
        {
            var src = _sources[i];
            if (!src.Done || src.Finished.Count == 0)
            {
                // Ran out of length without eos (no forced eos configured): running beams compete as they are.
                for (int k = 0; k < _beams; k++)
                {
                    if (src.Tokens[k] is { } tokens)
                    {
                        AddHypothesis(src, src.Scores[k], tokens);
                    }
                }
            }

            if (src.Finished.Count == 0)
            {
                results[i] = [];
                continue;
            }

            var best = src.Finished[0];
            foreach (var h in src.Finished)
            {
                if (h.Score > best.Score)
                {
                    best = h;
                }
            }

            results[i] = best.Tokens;
        }

        return results;
    }
}

/// <summary>One decoder step's scores for the search: full logits, or (greedy with a split-off projection) the
/// hidden states and approximate scores from which <see cref="OutputProjection.ArgMax"/> finds the exact argmax.</summary>
internal sealed class StepScores : IDisposable
{
    private readonly OrtValue? _logits;
    private readonly bool _ownsLogits;
    private readonly OutputProjection? _projection;
    private readonly OrtValue? _hidden;
    private readonly OrtValue? _approximate;

    public StepScores(OrtValue logits, int vocab, bool owned)
    {
        (_logits, Vocab, _ownsLogits) = (logits, vocab, owned);
    }

    public StepScores(OutputProjection projection, OrtValue hidden, OrtValue approximate)
    {
        (_projection, _hidden, _approximate, Vocab) = (projection, hidden, approximate, projection.Vocab);
    }

    public int Vocab { get; }

    /// <summary>[rows, 1, vocab] float32 logits (not available on the greedy fast path).</summary>
    public ReadOnlySpan<float> Logits => (_logits ?? throw new InvalidOperationException("no full logits this step"))
        .GetTensorDataAsSpan<float>();

    /// <summary>The first index of the largest allowed logit of a row.</summary>
    public int ArgMax(int row, IReadOnlyList<int> banned)
    {
        if (_projection is null)
        {
            return Sampling.ArgMax(Logits.Slice(row * Vocab, Vocab), banned);
        }

        int hidden = _projection.Hidden;
        return _projection.ArgMax(_hidden!.GetTensorDataAsSpan<float>().Slice(row * hidden, hidden),
            _approximate!.GetTensorMutableDataAsSpan<float>().Slice(row * Vocab, Vocab), banned);
    }

    public void Dispose()
    {
        if (_ownsLogits)
        {
            _logits?.Dispose();
        }

        _approximate?.Dispose();
    }
}

internal static class Sampling
{
    /// <summary>The first index of the largest allowed logit, as a scalar argmax that skips banned ids returns it.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits, IReadOnlyList<int> banned)
    {
        // The row's maximum is found with SIMD; only if it sits on a banned id does the scalar scan run.
        int first = logits.IndexOf(Max(logits));
        if (first >= 0 && !IsBanned(banned, first))
        {
            return first;
        }

        int best = -1;
        float bestValue = float.NegativeInfinity;
        for (int v = 0; v < logits.Length; v++)
        {
            if (logits[v] > bestValue && !IsBanned(banned, v))
            {
                bestValue = logits[v];
                best = v;
            }
        }

        return best < 0 ? 0 : best;
    }

    public static bool IsBanned(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The largest value of a row (NaN-free logits). Its own loop rather than TensorPrimitives.Max, which
    /// also propagates NaN: 1.85 µs against 2.45 µs for 7,933 floats here, and it runs for every row of every step.</summary>
    public static float Max(ReadOnlySpan<float> values)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            var vmax = Vector256.Create(float.NegativeInfinity);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                vmax = Vector256.Max(vmax, Vector256.LoadUnsafe(ref start, (nuint)i));
            }

            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                max = Math.Max(max, vmax[lane]);
            }
        }

        for (; i < values.Length; i++)
        {
            max = Math.Max(max, values[i]);
        }

        return max;
    }

    /// <summary>The max and log(sum(exp(x - max))) of a row, so that log_softmax(x) = x - max - logSum; the sum is
    /// kept in double so row length does not cost precision. Beam search reads every logit of every row through
    /// this each step, so it is vectorised (Vector256.Exp, within 1 ulp of MathF.Exp).</summary>
    public static (float Max, float LogSum) LogSumExpParts(ReadOnlySpan<float> logits)
    {
        float max = Max(logits);
        int i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && logits.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(logits);
            var vmax = Vector256.Create(max);
            var acc = Vector256<double>.Zero;
            for (; i <= logits.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Exp(Vector256.LoadUnsafe(ref start, (nuint)i) - vmax));
                acc += lower + upper;
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < logits.Length; i++)
        {
            sum += MathF.Exp(logits[i] - max);
        }

        return (max, (float)Math.Log(sum));
    }

    /// <summary>
    /// Adds the (score, offset + v) candidates of one row to a descending top-k list, score = beamScore + (row[v] -
    /// max - logSum) in float32 exactly as a scalar loop computes it. Eight scores are computed and compared at once;
    /// only lanes that beat the list's current last entry go through the (rare) insertion.
    /// </summary>
    public static int TopKScan(ReadOnlySpan<float> row, float beamScore, float max, float logSum,
        IReadOnlyList<int> banned, int offset, Span<float> scores, Span<int> ids, int filled)
    {
        int k = scores.Length;
        int v = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetReference(row);
            var vBeam = Vector256.Create(beamScore);
            var vMax = Vector256.Create(max);
            var vLogSum = Vector256.Create(logSum);
            for (; v <= row.Length - Vector256<float>.Count; v += Vector256<float>.Count)
            {
                var score = vBeam + (Vector256.LoadUnsafe(ref start, (nuint)v) - vMax - vLogSum);
                uint lanes = filled < k
                    ? 0xFFu
                    : Vector256.GreaterThan(score, Vector256.Create(scores[k - 1])).ExtractMostSignificantBits();
                while (lanes != 0)
                {
                    int lane = System.Numerics.BitOperations.TrailingZeroCount(lanes);
                    lanes &= lanes - 1;
                    if (!IsBanned(banned, v + lane))
                    {
                        filled = TopKInsert(scores, ids, filled, score[lane], offset + v + lane);
                    }
                }
            }
        }

        for (; v < row.Length; v++)
        {
            float score = beamScore + (row[v] - max - logSum);
            if (filled == k && !(score > scores[k - 1]))
            {
                continue;
            }

            if (!IsBanned(banned, v))
            {
                filled = TopKInsert(scores, ids, filled, score, offset + v);
            }
        }

        return filled;
    }

    /// <summary>Inserts (score, id) into a descending top-k list of capacity scores.Length; returns the new count.
    /// Equal scores keep the earlier id first, as a stable top-k does.</summary>
    public static int TopKInsert(Span<float> scores, Span<int> ids, int count, float score, int id)
    {
        int capacity = scores.Length;
        if (count == capacity && !(score > scores[capacity - 1]))
        {
            return count;
        }

        int pos = count == capacity ? capacity - 1 : count;
        while (pos > 0 && score > scores[pos - 1])
        {
            if (pos < capacity)
            {
                scores[pos] = scores[pos - 1];
                ids[pos] = ids[pos - 1];
            }

            pos--;
        }

        scores[pos] = score;
        ids[pos] = id;
        return Math.Min(count + 1, capacity);
    }
}
