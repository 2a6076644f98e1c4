using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine;

/// <summary>
/// One loaded model: what it accepts, how texts become its inputs, and one generation run over a batch of inputs.
/// Planning texts into inputs and batching inputs of many callers is the scheduler's job
/// (<see cref="Batching.BatchScheduler"/>); the engine only runs what it is given. Thread-safe. Disposing it releases
/// the model's native ONNX Runtime sessions.
/// </summary>
public interface ITranslationEngine : IDisposable
{
    /// <summary>The model's name as the catalog knows it.</summary>
    string ModelName { get; }

    /// <summary>The ranges this model accepts for a <see cref="TranslationRequest"/>.</summary>
    ModelLimits Limits { get; }

    /// <summary>generation_config.json settings the engine does not apply ("key=value"), for the host to log once at
    /// load.</summary>
    IReadOnlyList<string> IgnoredGenerationSettings { get; }

    /// <summary>The model's source tokenizer, which turns texts into its inputs.</summary>
    MarianTokenizer Tokenizer { get; }

    /// <summary>Source tokens (eos included) one model input may hold. A sentence with more is cut into consecutive
    /// pieces of this size, translated one by one and joined: the model's positions and its output length limit
    /// both bound it, so that a piece's translation fits in one generation.</summary>
    int MaxInputTokens { get; }

    /// <summary>The request's generation settings, its nulls filled from the model's generation_config.json; the one
    /// place a request is checked against the model.</summary>
    /// <exception cref="InvalidRequestException">An option is out of the model's range; the message says which.</exception>
    GenerationSettings Resolve(TranslationRequest request);

    /// <summary>Runs the model once over <paramref name="sources"/> (all with <paramref name="settings"/>); blocks the
    /// calling thread. Outputs are in input order.</summary>
    BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken);

    /// <summary>Starts a decode that inputs (all with <paramref name="settings"/>) join between steps; null when this
    /// engine cannot run inputs at different steps together (its decoder graph could not take per-row positions, or
    /// <see cref="EngineOptions.ContinuousBatching"/> is off): then only whole batches run, through
    /// <see cref="Generate"/>.</summary>
    IContinuousDecode? StartContinuous(GenerationSettings settings, CancellationToken cancellationToken) => null;
}
