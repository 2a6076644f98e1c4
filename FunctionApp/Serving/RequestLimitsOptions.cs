using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Serving;

/// <summary>Limits on what one request may send ("Translation" section). Engine settings, the beam limit among them,
/// are <see cref="Engine.EngineOptions"/> ("Engine" section).</summary>
public sealed class RequestLimitsOptions
{
    public const string Section = "Translation";

    [Range(1, 10_000)]
    public int MaxTexts { get; set; } = 64;

    /// <summary>Sum of the characters of all texts in one request (and the most one job text may hold).</summary>
    [Range(1, 10_000_000)]
    public int MaxCharacters { get; set; } = 20_000;

    /// <summary>Source tokens one HTTP request may send to the engine, counted after normalisation and segmentation
    /// (the model inputs themselves), so that no request buys more than a few seconds of engine time: NFKC expands
    /// some characters up to 18-fold ("\uFDFA"), which <see cref="MaxCharacters"/> cannot see. 20,000 characters of
    /// English are ~6,000 tokens with the embedded model.</summary>
    [Range(16, 10_000_000)]
    public int MaxSourceTokens { get; set; } = 8192;
}
