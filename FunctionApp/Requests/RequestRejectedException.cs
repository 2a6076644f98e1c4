namespace ServerlessInference.Requests;

/// <summary>A request the API rejects, with the status and message to send back.</summary>
public sealed class RequestRejectedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
