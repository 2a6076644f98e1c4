namespace ServerlessInference.Engine.Loading;

/// <summary>Generation settings a model ships with (generation_config.json, then config.json), applied as
/// transformers' generate applies them to a Marian model (see <see cref="Generation.Decoding.DecodingRules"/>).</summary>
public sealed record GenerationConfig
{
    public required int DecoderStartTokenId { get; init; }
    public required int EosTokenId { get; init; }
    public required int PadTokenId { get; init; }
    public int? ForcedEosTokenId { get; init; }

    /// <summary>Maximum sequence length, the decoder start token included (transformers' max_length).</summary>
    public required int MaxLength { get; init; }
    public required int NumBeams { get; init; }
    public required double LengthPenalty { get; init; }
    public required bool EarlyStopping { get; init; }

    /// <summary>The one-token bad_words_ids entries (opus-mt: its pad token): never generated.</summary>
    public required IReadOnlyList<int> BadTokenIds { get; init; }

    /// <summary>The longer bad_words_ids entries: the last token is banned where the output so far ends with the
    /// others (NoBadWordsLogitsProcessor).</summary>
    public IReadOnlyList<int[]> BadSequences { get; init; } = [];

    /// <summary>repetition_penalty; 1 is off.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>no_repeat_ngram_size; 0 is off.</summary>
    public int NoRepeatNgramSize { get; init; }

    /// <summary>renormalize_logits: log-softmax again after the processors (opus-mt ships true).</summary>
    public bool RenormalizeLogits { get; init; }

    /// <summary>generation_config.json keys this engine does not apply (unknown, or a value it cannot honour), each
    /// with its value, for the host to log once at load; metadata keys (transformers_version) are not listed.</summary>
    public IReadOnlyList<string> IgnoredSettings { get; init; } = [];
}
