namespace ServerlessInference.Engine;

/// <summary>What one model accepts: beam widths up to <paramref name="MaxBeams"/> and up to
/// <paramref name="MaxNewTokens"/> generated tokens (its max_length less the decoder start token), and the
/// target-language codes its vocab holds (<paramref name="TargetLanguages"/>; empty for a single-target model).</summary>
public sealed record ModelLimits(string ModelName, int MaxBeams, int MaxNewTokens, IReadOnlyList<string> TargetLanguages)
{
    /// <summary>Whether a sentence's translation is the same whichever sentences share its batch. False for graphs that
    /// quantize activations with one scale over the batch (quantize_dynamic's DynamicQuantizeLinear: this repo's and
    /// Xenova's <c>q8</c>, <c>int8</c>, <c>uint8</c>); the scheduler then runs every sentence in a batch of its own.</summary>
    public bool BatchInvariant { get; init; } = true;

    /// <summary>What loading the model did differently from the usual, for the host's log (empty normally).</summary>
    public IReadOnlyList<string> LoadNotes { get; init; } = [];

    /// <exception cref="InvalidRequestException">An option is out of range; the message gives the model's range.</exception>
    public void Check(TranslationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Beams is { } beams && (beams < 1 || beams > MaxBeams))
        {
            throw new InvalidRequestException($"'beams' must be between 1 and {MaxBeams} for model '{ModelName}'; it is {beams}.");
        }

        if (request.MaxNewTokens is { } maxNew && (maxNew < 1 || maxNew > MaxNewTokens))
        {
            throw new InvalidRequestException(
                $"'maxNewTokens' must be between 1 and {MaxNewTokens} for model '{ModelName}'; it is {maxNew}.");
        }

        if (request.TargetLanguage is { } language && !TargetLanguages.Contains(language, StringComparer.Ordinal))
        {
            throw new InvalidRequestException(TargetLanguages.Count == 0
                ? $"Model '{ModelName}' has a single target language and takes no 'targetLanguage'; leave it out."
                : $"'targetLanguage' '{Shown(language)}' is not supported by model '{ModelName}'; it supports " +
                  $"{string.Join(", ", TargetLanguages)}.");
        }
    }

    /// <summary>A caller's value quoted back in an error, cut short.</summary>
    private static string Shown(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
