namespace ServerlessInference.Storage;

/// <summary>Name rules settings are validated against.</summary>
public static class StorageNames
{
    public const string ContainerPattern = "^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$";
    public const string ModelNamePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$";
}
