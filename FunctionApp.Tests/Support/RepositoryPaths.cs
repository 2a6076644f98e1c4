namespace ServerlessInference.Tests.Support;

/// <summary>The app tests' view of <see cref="RepoPaths"/>: the repo root and the shipped model folder.</summary>
public static class RepositoryPaths
{
    public static string Root => RepoPaths.Root;

    public static string ModelName => "marian-tiny-en-zh";

    public static string ModelDirectory => RepoPaths.ShippedModel;
}
