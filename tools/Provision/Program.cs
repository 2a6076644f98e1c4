using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;

// Usage: Provision <connection-string> <model-dir> <model-prefix> [models-container] [jobs-container]
if (args.Length < 3)
{
    Console.Error.WriteLine(
        "usage: Provision <connection-string> <model-dir> <model-prefix> [models-container=models] [jobs-container=jobs]");
    return 2;
}
var (connection, modelDir, prefix) = (args[0], args[1], args[2]);
var modelsContainer = args.Length > 3 ? args[3] : "models";
var jobsContainer = args.Length > 4 ? args[4] : "jobs";
if (!Directory.Exists(modelDir))
{
    Console.Error.WriteLine($"Model folder {modelDir} does not exist.");
    return 1;
}

var blobs = new BlobServiceClient(connection);
await blobs.GetBlobContainerClient(jobsContainer).CreateIfNotExistsAsync();
var queues = new QueueServiceClient(connection);
foreach (var queue in new[] { JobsOptions.Queue, JobsOptions.PoisonQueue })
{
    await queues.GetQueueClient(queue).CreateIfNotExistsAsync();
}

var files = await ModelUploader.UploadDirectoryAsync(blobs.GetBlobContainerClient(modelsContainer), modelDir, prefix);
Console.WriteLine($"Created containers '{modelsContainer}', '{jobsContainer}' and queues '{JobsOptions.Queue}', " +
                  $"'{JobsOptions.PoisonQueue}'; " +
                  $"uploaded {files} files from {modelDir} to {modelsContainer}/{prefix}.");
return 0;
