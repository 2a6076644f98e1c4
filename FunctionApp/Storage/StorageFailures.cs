using Azure;
using Azure.Identity;

namespace ServerlessInference.Storage;

/// <summary>Tells "storage cannot serve us right now" (retry later: 503, or a queue retry) apart from errors the
/// request itself caused. The Azure SDK reports a failed try as <see cref="RequestFailedException"/> (status 0 when
/// no response came), gives up after its retries with an <see cref="AggregateException"/> of those, and ends a try
/// that outlived <c>NetworkTimeout</c> with a <see cref="TaskCanceledException"/> around a
/// <see cref="TimeoutException"/>.</summary>
public static class StorageFailures
{
    /// <summary>A one-line reason for a storage failure, fit for a caller or a job status (the SDK's own message
    /// embeds the whole response; status and error code are what an operator needs); null when it is not one.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        RequestFailedException { Status: not 0 } r => $"Storage request failed: {r.Status} {r.ErrorCode}.",
        AuthenticationFailedException or CredentialUnavailableException => "Authenticating to storage failed.",
        _ when IsUnavailable(exception) => "Storage is unreachable.",
        _ => null,
    };

    public static bool IsUnavailable(Exception exception) => exception switch
    {
        // 401/403: the app's own identity or key is refused, which no caller can fix; 408/429/5xx: overloaded or down.
        RequestFailedException r => r.Status is 0 or 401 or 403 or 408 or 429 or >= 500,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(IsUnavailable),
        AuthenticationFailedException or CredentialUnavailableException => true,
        HttpRequestException or TimeoutException or System.Net.Sockets.SocketException => true,
        OperationCanceledException { InnerException: TimeoutException } => true,
        _ => false,
    };
}
