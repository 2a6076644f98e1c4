namespace ServerlessInference.Engine.Batching;

/// <summary>The instance holds as much pending work as it accepts; HTTP answers 503 with <see cref="RetryAfter"/>,
/// a queue chunk is put back on the queue, hidden for <see cref="RetryAfter"/>.</summary>
public sealed class ServerBusyException(string message, TimeSpan retryAfter) : Exception(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
