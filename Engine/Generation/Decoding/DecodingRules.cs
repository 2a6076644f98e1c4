using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// The logits processors transformers' generate applies to a Marian model, as rules the searches consult while they
/// scan a row instead of rewriting it: the row is an ONNX Runtime output read in place, a rule touches few ids, and
/// the search still needs the untouched log-softmax (it is taken before the processors, as transformers orders them).
/// </summary>
internal sealed class DecodingRules(IReadOnlyList<int> suppressed, int? forcedEos, int maxNewTokens)
{
    /// <summary>Ids never chosen: the model's single-token bad words (its pad token).</summary>
    public IReadOnlyList<int> Suppressed { get; } = suppressed;

    /// <summary>The one token step <paramref name="step"/> (0-based) must take, or null when any allowed token may
    /// follow: eos at the last step of the length limit, when the model forces one there.</summary>
    public int? ForcedToken(int step) => step == maxNewTokens - 1 ? forcedEos : null;

    public static DecodingRules For(GenerationConfig defaults, GenerationSettings settings) =>
        new(defaults.BadTokenIds, defaults.ForcedEosTokenId, settings.MaxNewTokens);
}
