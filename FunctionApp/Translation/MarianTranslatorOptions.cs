namespace ServerlessInference.Translation;

/// <summary>Engine settings that are not per request.</summary>
public sealed record MarianTranslatorOptions
{
    public static MarianTranslatorOptions Default { get; } = new();

    /// <summary>Threads one ONNX Runtime Run may use; 0 lets ONNX Runtime pick.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Sentences decoded together; longer inputs are split into several batches.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Largest beam width a request may ask for.</summary>
    public int MaxBeams { get; init; } = 8;

    /// <summary>Split the output projection off the decoder graph (see <see cref="OutputProjection"/>); false runs
    /// the graphs as they are, which the benchmark uses as its baseline.</summary>
    public bool SplitOutputProjection { get; init; } = true;
}
