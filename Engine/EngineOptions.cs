using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Engine;

/// <summary>Engine settings that are not per request. The app binds them from the <see cref="Section"/> section and
/// validates the ranges below at start-up; tools set them in code.</summary>
public sealed record EngineOptions
{
    /// <summary>The app's configuration section for these settings (<c>Engine__IntraOpThreads</c>, …).</summary>
    public const string Section = "Engine";

    public static EngineOptions Default { get; } = new();

    /// <summary>These options with the guardrails off (<see cref="OutputLengthFactor"/> and
    /// <see cref="RepeatStopRepeats"/> 0): the engine then generates exactly what transformers' generate would, which
    /// the reference comparisons and the before/after measurements need.</summary>
    public EngineOptions WithoutGuardrails() => this with { OutputLengthFactor = 0, RepeatStopRepeats = 0 };

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

    /// <summary>Give the decoder graph per-row positions at load (<see cref="Sessions.DecoderRowPositions"/>), so that
    /// sentences join a running batch at a step boundary instead of waiting for it to end (continuous batching; the
    /// outputs do not change). False runs the graph as exported, and batches run to their end.</summary>
    public bool ContinuousBatching { get; init; } = true;

    /// <summary>Guardrail: a sentence may generate at most max(<see cref="OutputLengthFloor"/>, ⌈factor × its source
    /// tokens⌉) tokens (eos included; source tokens counted as the model sees them, eos included), and never more than
    /// the request's or model's limit; 0 turns the bound off. 3 is Marian's max-length-factor default: the embedded
    /// model's translations of the 500 dev sentences are at most 1.9 tokens per source token (2.3 for "Run.", under
    /// the floor), and a factor of 3 leaves room for language pairs whose output runs longer than their input.</summary>
    [Range(0.0, 100.0)]
    public double OutputLengthFactor { get; init; } = 3.0;

    /// <summary>Guardrail: the output length bound is never below this many tokens, so very short inputs ("OK.",
    /// a name) keep room for a translation that is naturally longer than them.</summary>
    [Range(1, 4096)]
    public int OutputLengthFloor { get; init; } = 16;

    /// <summary>Guardrail: a sentence whose output ends with the same 1-4 token n-gram repeated back to back at least
    /// this many times, and over at least <see cref="RepeatStopMinTokens"/> tokens, ends there (eos); 0 turns the
    /// loop stop off. See <see cref="Generation.Decoding.RepeatStop"/>.</summary>
    [Range(0, 1024)]
    public int RepeatStopRepeats { get; init; } = 4;

    /// <summary>Guardrail: the fewest tokens the repeats must cover before the loop stop ends a sentence (8: a single
    /// token 8 times, a pair, 3- or 4-gram <see cref="RepeatStopRepeats"/> times). On the 500 test and 500 dev sentences
    /// it fires only on the model's own loops ("面" 10 times, "作" 13 times).</summary>
    [Range(1, 4096)]
    public int RepeatStopMinTokens { get; init; } = 8;
}
