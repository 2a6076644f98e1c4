namespace ServerlessInference.Translation;

/// <summary>Creates <see cref="MarianTranslator"/>s; the app registers this as its <see cref="ITranslatorFactory"/>.</summary>
public sealed class MarianTranslatorFactory(MarianTranslatorOptions options) : ITranslatorFactory
{
    public MarianTranslatorFactory() : this(MarianTranslatorOptions.Default)
    {
    }

    public ITranslator Load(string modelName, string modelDirectory, string? dtype = null) =>
        MarianTranslator.Load(modelName, modelDirectory, options, dtype);

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null) =>
        MarianModelFolder.SelectFiles(available, dtype);

    public ITranslatorLoad BeginLoad(string modelName, string? dtype = null) => new MarianTranslatorLoad(modelName, options, dtype);
}
