namespace ServerlessInference.Engine.Batching;

/// <summary>
/// A loaded engine with a scheduler of its own: how a process that translates by itself (the command-line tools,
/// the engine's tests) runs texts. It takes exactly the path the app's callers take (<see cref="BatchScheduler"/>
/// plans and batches, the engine generates), so there is one batching path. Disposing it disposes the engine.
/// </summary>
public sealed class Translator : IDisposable
{
    public Translator(TranslationEngine engine, int maxBatchSize = 32)
    {
        Engine = engine;
        Scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = maxBatchSize });
    }

    /// <param name="dtype">The graph variant to load (<see cref="Loading.ModelDtype"/>); null loads the fp32 graphs.</param>
    public static Translator Load(string modelName, string modelDirectory, EngineOptions? options = null, string? dtype = null)
    {
        options ??= EngineOptions.Default;
        return new Translator(TranslationEngine.Load(modelName, modelDirectory, options, dtype), options.MaxBatchSize);
    }

    public TranslationEngine Engine { get; }

    public BatchScheduler Scheduler { get; }

    public string ModelName => Engine.ModelName;

    public ModelLimits Limits => Engine.Limits;

    public Tokenization.MarianTokenizer Tokenizer => Engine.Tokenizer;

    /// <summary>Translates the request's texts; results are in input order.</summary>
    /// <exception cref="InvalidRequestException">An option is out of the model's range, or a text is null.</exception>
    public Task<TranslationResult> TranslateAsync(TranslationRequest request, CancellationToken cancellationToken = default) =>
        Scheduler.TranslateAsync(request, cancellationToken);

    public void Dispose() => Engine.Dispose();
}
