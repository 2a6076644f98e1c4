using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessInference.Storage;

namespace ServerlessInference.Jobs;

public static class JobsRegistration
{
    /// <summary>Batch jobs: their store (the jobs container and the chunk queue) and the service the job triggers
    /// call ("Jobs" section).</summary>
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.AddOptions<JobsOptions>()
            .BindConfiguration(JobsOptions.Section)
            .ValidateDataAnnotations()
            .Validate<IConfiguration>((_, configuration) => StorageClientFactory.IsConfigured(configuration, JobsOptions.Connection),
                $"Jobs need the '{JobsOptions.Connection}' storage connection.")
            .ValidateOnStart();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobService>();
        return services;
    }
}
