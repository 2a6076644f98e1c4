using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine;

/// <summary>Creates <see cref="TranslationEngine"/>s; the app registers this as its <see cref="IEngineFactory"/>.</summary>
public sealed class EngineFactory(EngineOptions options) : IEngineFactory
{
    public EngineFactory() : this(EngineOptions.Default)
    {
    }

    public ITranslationEngine Load(string modelName, string modelDirectory, string? dtype = null) =>
        TranslationEngine.Load(modelName, modelDirectory, options, dtype);

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null) =>
        MarianModelFolder.SelectFiles(available, dtype);

    public IEngineLoad BeginLoad(string modelName, string? dtype = null) => new EngineLoad(modelName, options, dtype);
}
