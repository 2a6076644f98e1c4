using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Options;

/// <summary>Batch jobs ("Jobs" section). Jobs always use the <c>AzureWebJobsStorage</c> connection, because the
/// queue trigger listens there and job blobs must live next to their messages.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";
    public const string Connection = "AzureWebJobsStorage";
    public const string Queue = "translation-jobs";
    public const string PoisonQueue = "translation-jobs-poison";

    /// <summary>Largest job accepted in one submission; keeps the submit request bounded.</summary>
    public const int MaxItems = 100_000;

    [Required, RegularExpression(StorageNames.ContainerPattern, ErrorMessage = "Jobs:Container is not a valid blob container name.")]
    public string Container { get; set; } = "jobs";

    [Range(1, 1000)]
    public int ChunkSize { get; set; } = 32;
}
