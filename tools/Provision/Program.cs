using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;
using ServerlessInference.Tools;

// Usage: Provision <connection-string> <model-dir> <model-prefix> [models-container] [jobs-container]; --help says more.
var parsed = new CommandLine("Provision", "",
[
    new Verb("", "Creates the app's containers and queues in the storage account and uploads a model folder to the "
        + "models container (scripts/start-local.sh runs it against Azurite).", [],
    [
        new Positional("connection-string", "the storage connection string"),
        new Positional("model-dir", "the model folder to upload"),
        new Positional("model-prefix", "the blob prefix to upload it under (the model's name and a slash)"),
        new Positional("models-container", "the models container", Required: false, Default: "models"),
        new Positional("jobs-container", "the jobs container", Required: false, Default: "jobs"),
    ]),
]).Parse(args);
if (parsed.Finished(out int exitCode))
{
    return exitCode;
}

var values = parsed.Values;
var (connection, modelDir, prefix) = (values["connection-string"], values["model-dir"], values["model-prefix"]);
var (modelsContainer, jobsContainer) = (values["models-container"], values["jobs-container"]);
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
