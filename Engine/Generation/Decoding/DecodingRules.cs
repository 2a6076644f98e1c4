using ServerlessInference.Engine.Kernels;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// The logits processors transformers' generate applies to a Marian model, plus this engine's guardrails, as rules
/// the searches consult row by row. Order and values follow transformers 5.x (generation/utils.py
/// _get_logits_processor; logits_process.py read at commit 00857b6c): repetition_penalty, no_repeat_ngram_size,
/// bad_words_ids, forced_eos_token_id, then renormalize_logits last. Beam search runs them on log_softmax(logits)
/// (_beam_search), greedy search on the raw logits (_sample). A forced token's score is 0, every other -inf
/// (ForcedEOSTokenLogitsProcessor), so a hypothesis forced to end keeps its sum unchanged.
/// <para>
/// The history a processor sees is the decoder input: the start token, then the tokens generated so far.
/// </para>
/// </summary>
internal sealed class DecodingRules
{
    private readonly GenerationConfig _config;
    private readonly List<int> _maxNew;
    private readonly Guardrails _guards;
    private readonly float _penalty;

    public DecodingRules(GenerationConfig config, int[] maxNewPerSource, Guardrails guards)
    {
        _config = config;
        _maxNew = [.. maxNewPerSource];
        _guards = guards;
        // transformers multiplies a float32 tensor by the Python float: the penalty is rounded to float32 first.
        _penalty = (float)config.RepetitionPenalty;
    }

    /// <summary>Ids never chosen: the model's one-token bad words (its pad token).</summary>
    public IReadOnlyList<int> Suppressed => _config.BadTokenIds;

    /// <summary>Whether a row's scores change with its history beyond banned ids (repetition_penalty): greedy search
    /// then needs the full float32 logits instead of the approximate projection's exact argmax.</summary>
    public bool PenalizesRepeats => _penalty != 1f;

    /// <summary>Whether beam search must build each row's processed log-probabilities before ranking them; false
    /// keeps the single fused scan over the raw logits (same floats: the log-softmax is computed alike).</summary>
    public bool RewritesRows => PenalizesRepeats || _config.RenormalizeLogits || HasHistoryBans;

    /// <summary>Whether some ids are banned by what a row has generated (no_repeat_ngram_size, longer bad words).</summary>
    public bool HasHistoryBans => _config.NoRepeatNgramSize > 0 || _config.BadSequences.Count > 0;

    /// <summary>A source joining the decode (continuous batching): its index, the next after the last.</summary>
    public int AddSource(int maxNewTokens)
    {
        _maxNew.Add(maxNewTokens);
        return _maxNew.Count - 1;
    }

    /// <summary>The most tokens <paramref name="source"/> may generate (eos included).</summary>
    public int MaxNewTokens(int source) => _maxNew[source];

    /// <summary>The one token the next step of a row must take, or null when any allowed token may follow: eos at
    /// the source's last allowed step when the model forces one there, or eos once the row runs in a loop
    /// (<see cref="Guardrails.RepeatStop"/>).</summary>
    public int? ForcedToken(int source, IReadOnlyList<int> generated)
    {
        if (generated.Count == _maxNew[source] - 1 && _config.ForcedEosTokenId is { } eos)
        {
            return eos;
        }

        return _guards.RepeatStop.EndsInLoop(generated) ? _config.EosTokenId : null;
    }

    /// <summary>Adds the ids the row's history bans to <paramref name="banned"/>, which already holds
    /// <see cref="Suppressed"/>: tokens that would repeat an n-gram (NoRepeatNGramLogitsProcessor) and the last
    /// token of every longer bad word whose other tokens end the history (NoBadWordsLogitsProcessor).</summary>
    public void AddHistoryBans(IReadOnlyList<int> generated, List<int> banned)
    {
        int n = _config.NoRepeatNgramSize;
        int length = generated.Count + 1; // the start token leads the decoder input
        if (n > 0 && length >= n)
        {
            // A window of n tokens whose first n-1 equal the last n-1 of the history bans its last token.
            for (int start = 0; start + n <= length; start++)
            {
                bool match = true;
                for (int j = 0; j < n - 1 && match; j++)
                {
                    match = History(generated, start + j) == History(generated, length - (n - 1) + j);
                }

                if (match)
                {
                    banned.Add(History(generated, start + n - 1));
                }
            }
        }

        foreach (var bad in _config.BadSequences)
        {
            int prefix = bad.Length - 1;
            if (bad.Length > length)
            {
                continue;
            }

            bool match = true;
            for (int j = 0; j < prefix && match; j++)
            {
                match = History(generated, length - prefix + j) == bad[j];
            }

            if (match)
            {
                banned.Add(bad[^1]);
            }
        }
    }

    /// <summary>
    /// Beam search's processed log-probabilities of one row into <paramref name="processed"/>: log_softmax of
    /// <paramref name="logits"/>, repetition_penalty on the history's ids, the banned ids at -inf, and log_softmax
    /// again with renormalize_logits. (A forced token never comes here: its score is 0 whatever the row holds.)
    /// </summary>
    public void ProcessLogProbs(ReadOnlySpan<float> logits, IReadOnlyList<int> generated, IReadOnlyList<int> banned,
        Span<float> processed)
    {
        var (max, logSum) = RowKernels.LogSumExpParts(logits);
        for (int v = 0; v < logits.Length; v++)
        {
            processed[v] = logits[v] - max - logSum;
        }

        Penalize(processed, generated);
        foreach (var id in banned)
        {
            if ((uint)id < (uint)processed.Length)
            {
                processed[id] = float.NegativeInfinity;
            }
        }

        if (_config.RenormalizeLogits)
        {
            var (max2, logSum2) = RowKernels.LogSumExpParts(processed);
            for (int v = 0; v < processed.Length; v++)
            {
                processed[v] = processed[v] - max2 - logSum2;
            }
        }
    }

    /// <summary>Greedy search's processed logits of one row (repetition_penalty on the history's ids, banned ids at
    /// -inf; renormalize_logits is a log-softmax, which keeps the argmax where it is).</summary>
    public void ProcessLogits(ReadOnlySpan<float> logits, IReadOnlyList<int> generated, IReadOnlyList<int> banned,
        Span<float> processed)
    {
        logits.CopyTo(processed);
        Penalize(processed, generated);
        foreach (var id in banned)
        {
            if ((uint)id < (uint)processed.Length)
            {
                processed[id] = float.NegativeInfinity;
            }
        }
    }

    /// <summary>RepetitionPenaltyLogitsProcessor: each id of the history once, score &lt; 0 → score · penalty,
    /// otherwise score / penalty.</summary>
    private void Penalize(Span<float> scores, IReadOnlyList<int> generated)
    {
        if (!PenalizesRepeats)
        {
            return;
        }

        var seen = new HashSet<int>();
        for (int i = 0; i <= generated.Count; i++)
        {
            int id = History(generated, i);
            if ((uint)id < (uint)scores.Length && seen.Add(id))
            {
                float s = scores[id];
                scores[id] = s < 0 ? s * _penalty : s / _penalty;
            }
        }
    }

    private int History(IReadOnlyList<int> generated, int index) =>
        index == 0 ? _config.DecoderStartTokenId : generated[index - 1];
}
