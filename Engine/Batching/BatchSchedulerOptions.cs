namespace ServerlessInference.Engine.Batching;

/// <summary>How a <see cref="BatchScheduler"/> forms and runs batches.</summary>
public sealed record BatchSchedulerOptions
{
    /// <summary>Most sentence inputs in one engine run.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Engine runs at once for this model.</summary>
    public int MaxConcurrentBatches { get; init; } = 1;

    /// <summary>Merge concurrent callers' inputs into shared runs. Off, each caller's inputs run by themselves, one
    /// run per caller at a time, with no limit on runs at once: how requests were served before the scheduler (a
    /// baseline for the load benchmark). Backlog, priority and cancellation apply either way.</summary>
    public bool Batching { get; init; } = true;
}
