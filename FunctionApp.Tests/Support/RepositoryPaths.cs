namespace ServerlessInference.Tests.Support;

public static class RepositoryPaths
{
    /// <summary>The folder holding ServerlessInference.sln, found by walking up from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    public static string ModelName => "marian-tiny-en-zh";

    public static string ModelDirectory => Path.Combine(Root, "models", ModelName);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ServerlessInference.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No ServerlessInference.sln above {AppContext.BaseDirectory}.");
    }
}
