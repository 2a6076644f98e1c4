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

    /// <summary>Most texts in one chunk (one queue message).</summary>
    [Range(1, 1000)]
    public int ChunkSize { get; set; } = 32;

    /// <summary>Most characters in one chunk, so that a chunk's work, not only its count, stays well inside
    /// host.json's functionTimeout; a longer text gets a chunk of its own. The default's measurement is in
    /// docs/settings.md.</summary>
    [Range(1, 10_000_000)]
    public int ChunkCharacters { get; set; } = 20_000;
}
