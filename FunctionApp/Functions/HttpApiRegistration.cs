using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ServerlessInference.Functions;

public static class HttpApiRegistration
{
    /// <summary>The HTTP API's own settings ("Http" section) and the worker's Kestrel limit they depend on.</summary>
    public static IServiceCollection AddHttpApi(this IServiceCollection services)
    {
        services.AddOptions<HttpOptions>()
            .BindConfiguration(HttpOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Kestrel lets a body over the app's limit arrive whole, so the app can drain it and its 413 reaches the
        // caller through the host's proxy (JsonRequest).
        services.AddOptions<KestrelServerOptions>().Configure(kestrel =>
            kestrel.Limits.MaxRequestBodySize = HttpOptions.MaxDrainedBodyBytes);
        return services;
    }
}
