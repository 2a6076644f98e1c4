using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Engine;

/// <summary>Engine settings that are not per request. The app binds them from the <see cref="Section"/> section and
/// validates the ranges below at start-up; tools set them in code.</summary>
public sealed record EngineOptions
{
    /// <summary>The app's configuration section for these settings (<c>Engine__IntraOpThreads</c>, …).</summary>
    public const string Section = "Engine";

    public static EngineOptions Default { get; } = new();

    /// <summary>Threads one ONNX Runtime Run may use; 0 lets ONNX Runtime pick.</summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; init; }

    /// <summary>Sentences decoded together; longer inputs are split into several batches.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Largest beam width a request may ask for, and the cap on a model's default beam width.</summary>
    [Range(1, 64)]
    public int MaxBeams { get; init; } = 8;

    /// <summary>Split the output projection off the decoder graph (see <see cref="Sessions.OutputProjection"/>); false runs
    /// the graphs as they are, which the benchmark uses as its baseline.</summary>
    public bool SplitOutputProjection { get; init; } = true;
}
