namespace ServerlessInference.Engine;

/// <summary>Resolved settings for one generate call; equal settings may share a batch.</summary>
public sealed record GenerationSettings(int Beams, int MaxNewTokens, double LengthPenalty, bool EarlyStopping);
