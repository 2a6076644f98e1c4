using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.ModelHosting;

/// <summary>How concurrent requests share the engine ("Serving" section); see <c>Serving/BatchScheduler</c>.</summary>
public sealed class ServingOptions
{
    public const string Section = "Serving";

    /// <summary>Engine runs at once per model. Each run is given an equal share of the cores (unless
    /// Engine:IntraOpThreads is set), so more runs never oversubscribe them.</summary>
    [Range(1, 64)]
    public int MaxConcurrentBatches { get; set; } = 1;

    /// <summary>Merge concurrent requests' sentences into shared engine runs. Off, every request runs by itself at
    /// once (no limit on runs at once): the behaviour before dynamic batching, kept as the load benchmark's
    /// baseline, not for production.</summary>
    public bool Batching { get; set; } = true;

    /// <summary>Sentence inputs queued or running on this instance, over all models, before new work is turned away
    /// (HTTP 503 with Retry-After; queue chunks are put back on the queue, hidden for that Retry-After). Background work
    /// may use half.</summary>
    [Range(1, 10_000_000)]
    public int MaxPendingSentences { get; set; } = 2048;

    /// <summary>ONNX Runtime intra-op threads per run: the configured value, or the cores shared among the
    /// concurrent runs (0, the runtime's own choice, when a single run may use them all).</summary>
    public int IntraOpThreads(int configured, int processorCount) =>
        configured != 0 || MaxConcurrentBatches == 1 ? configured : Math.Max(1, processorCount / MaxConcurrentBatches);
}
