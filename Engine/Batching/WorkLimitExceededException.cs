namespace ServerlessInference.Engine.Batching;

/// <summary>One call's texts come to more source tokens (after normalisation and segmentation) than a request may
/// send (HTTP 413). The message names the count and the limit.</summary>
public sealed class WorkLimitExceededException(int sourceTokens, int limit)
    : Exception($"The texts come to {sourceTokens} source tokens after normalisation; the limit is {limit} per request " +
                "(Translation__MaxSourceTokens). Send fewer or shorter texts, or use a batch job.")
{
    public int SourceTokens { get; } = sourceTokens;
    public int Limit { get; } = limit;
}
