namespace ServerlessInference.Engine;

/// <summary>What a caller asks for: texts and generation options; null options take the model's
/// generation_config.json values. The HTTP API and each batch-job chunk build one of these.</summary>
public sealed record TranslationRequest(IReadOnlyList<string> Texts)
{
    /// <summary>Beam width; 1 is greedy.</summary>
    public int? Beams { get; init; }

    /// <summary>Cap on generated tokens per sentence (the end-of-sentence token included).</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>A multi-target model's target language (cmn_Hant for the token &gt;&gt;cmn_Hant&lt;&lt;), put in front
    /// of every model input; null leaves the texts as they are.</summary>
    public string? TargetLanguage { get; init; }
}
