namespace ServerlessInference.Tests.Support;

/// <summary>Paths inside the repository, found from the test binaries by walking up to the solution file.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public const string ShippedModelName = "marian-tiny-en-zh";

    public static string ShippedModel => Path.Combine(Root, "models", ShippedModelName);

    public static string Fixtures => Path.Combine(Root, "Engine.Tests", "Fixtures");

    public static string DevSet => Path.Combine(Root, "models", "training", "data", "dev.tsv");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ServerlessInference.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ServerlessInference.sln not found above " + AppContext.BaseDirectory);
    }
}
