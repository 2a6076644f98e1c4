using Microsoft.Extensions.DependencyInjection;

namespace ServerlessInference.Storage;

public static class StorageRegistration
{
    /// <summary>The storage clients every feature shares ("StorageClients" section: retries, timeouts).</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageClientOptions>()
            .BindConfiguration(StorageClientOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<StorageClientFactory>();
        return services;
    }
}
