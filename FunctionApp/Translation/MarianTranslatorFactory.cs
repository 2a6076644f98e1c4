namespace ServerlessInference.Translation;

/// <summary>Creates <see cref="MarianTranslator"/>s; the app registers this as its <see cref="ITranslatorFactory"/>.</summary>
public sealed class MarianTranslatorFactory(MarianTranslatorOptions options) : ITranslatorFactory
{
    public MarianTranslatorFactory() : this(MarianTranslatorOptions.Default)
    {
    }

    public ITranslator Load(string modelName, string modelDirectory) => MarianTranslator.Load(modelName, modelDirectory, options);

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => MarianModelFolder.SelectFiles(available);
}
