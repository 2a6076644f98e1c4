namespace ServerlessInference.Engine.Loading;

/// <summary>Generation settings a model ships with (generation_config.json, then config.json).</summary>
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
    public required IReadOnlyList<int> BadTokenIds { get; init; }
}
