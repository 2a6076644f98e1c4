using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine;

/// <summary>One model load in progress, fed the model's files as they arrive. Disposing it releases whatever it
/// created and did not hand over in <see cref="CompleteAsync"/>.</summary>
public interface IEngineLoad : IDisposable
{
    /// <summary>The files to download, as <see cref="IEngineFactory.SelectFiles"/>.</summary>
    IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available);

    /// <summary>A selected file is complete and verified at <paramref name="path"/> (which may be a staging path that
    /// stays valid only until the returned work has finished). Returns that work, or null if it starts none. Called
    /// concurrently for different files.</summary>
    Task? FileReady(string relativePath, string path);

    /// <summary>Every selected file is in <paramref name="modelDirectory"/>: builds the engine, using the work
    /// started early.</summary>
    /// <exception cref="ModelFormatException">A file is missing or malformed; the message names it.</exception>
    Task<ITranslationEngine> CompleteAsync(string modelDirectory, CancellationToken cancellationToken);
}
