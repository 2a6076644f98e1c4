namespace ServerlessInference.Translation;

/// <summary>Resolved settings for one generate call.</summary>
internal sealed record GenerationSettings(int Beams, int MaxNewTokens, double LengthPenalty, bool EarlyStopping);
