using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine;

/// <summary>Loads a model folder (Optimum / transformers.js layout) into a ready engine.</summary>
public interface IEngineFactory
{
    /// <exception cref="ModelFormatException">A file is missing or malformed; the message names it.</exception>
    /// <param name="dtype">The graph variant (<see cref="ModelDtype"/>); null means fp32.</param>
    ITranslationEngine Load(string modelName, string modelDirectory, string? dtype = null);

    /// <summary>Which of a model folder's files (relative paths, '/'-separated) <see cref="Load"/> needs for
    /// <paramref name="dtype"/>; only these are downloaded.</summary>
    IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null);

    /// <summary>Starts a load that may begin work on each file as soon as it is on disk, while the rest still
    /// downloads. The default waits for the whole folder and calls <see cref="Load"/>.</summary>
    IEngineLoad BeginLoad(string modelName, string? dtype = null) => new WholeFolderLoad(this, modelName, dtype);

    private sealed class WholeFolderLoad(IEngineFactory factory, string modelName, string? dtype) : IEngineLoad
    {
        public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => factory.SelectFiles(available, dtype);

        public Task? FileReady(string relativePath, string path) => null;

        public Task<ITranslationEngine> CompleteAsync(string modelDirectory, CancellationToken cancellationToken) =>
            Task.FromResult(factory.Load(modelName, modelDirectory, dtype));

        public void Dispose()
        {
        }
    }
}
