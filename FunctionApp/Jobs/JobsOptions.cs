using System.ComponentModel.DataAnnotations;
using ServerlessInference.Storage;

namespace ServerlessInference.Jobs;

/// <summary>Batch jobs ("Jobs" section). Jobs always use the <c>AzureWebJobsStorage</c> connection, because the
/// queue trigger listens there and job blobs must live next to their messages.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";
    public const string Connection = "AzureWebJobsStorage";

    /// <summary>The job queue: a fixed name, not a setting. An app-setting binding expression (<c>%Jobs:Queue%</c>)
    /// has no default in the host, so every deployment would need the setting, and the platform's scale components
    /// have failed to resolve nested setting names in trigger expressions (azure-functions-host#8261), which would
    /// leave a scaled-to-zero app asleep beside a full queue. Bicep and the KEDA manifest spell the same names;
    /// FunctionApp.Tests checks that they match.</summary>
    public const string Queue = "translation-jobs";

    /// <summary>Where the queue trigger moves a message after host.json's maxDequeueCount failed attempts (the host's
    /// naming convention, not ours to choose).</summary>
    public const string PoisonQueue = Queue + PoisonSuffix;

    public const string PoisonSuffix = "-poison";

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
