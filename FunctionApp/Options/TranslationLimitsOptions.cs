using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Options;

/// <summary>Request limits and engine settings ("Translation" section).</summary>
public sealed class TranslationLimitsOptions
{
    public const string Section = "Translation";

    /// <summary>Hard cap on <c>maxNewTokens</c>; not a setting because the model's positions end there anyway.</summary>
    public const int MaxNewTokensLimit = 512;

    [Range(1, 10_000)]
    public int MaxTexts { get; set; } = 64;

    /// <summary>Sum of the characters of all texts in one request.</summary>
    [Range(1, 10_000_000)]
    public int MaxCharacters { get; set; } = 20_000;

    [Range(1, 64)]
    public int MaxBeams { get; set; } = 8;

    /// <summary>ONNX Runtime intra-op threads; 0 lets the runtime choose (one per core).</summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>Split the output projection off the decoder graphs (faster greedy decoding, one more copy of the
    /// projection in memory); false runs the model's graphs as they are.</summary>
    public bool SplitOutputProjection { get; set; } = true;
}
