namespace ServerlessInference.ModelHosting;

/// <summary>The caller named a model the catalog does not list (HTTP 404).</summary>
public sealed class UnknownModelException(string model)
    : Exception($"Unknown model '{(model.Length <= 64 ? model : model[..64] + "…")}'.")
{
    public string Model { get; } = model;
}

/// <summary>The model is in the catalog but cannot be served right now (HTTP 503 with Retry-After).
/// <see cref="Exception.Message"/> is safe to show callers: it never carries a stack trace or secrets.</summary>
public sealed class ModelUnavailableException(string model, string reason, TimeSpan retryAfter, Exception? inner = null)
    : Exception($"Model '{model}' is unavailable: {reason}", inner)
{
    public string Model { get; } = model;
    public string Reason { get; } = reason;
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>Storage holds no blobs under the model's prefix.</summary>
public sealed class ModelNotProvisionedException(string message) : Exception(message);

/// <summary>A downloaded blob does not match its listed size or Content-MD5.</summary>
public sealed class ModelIntegrityException(string message) : Exception(message);

/// <summary>A catalog entry asks for something the loaded model cannot do (a target language its vocab lacks): only a
/// change of settings fixes it, so the load fails with the setting named instead of every request failing later.</summary>
public sealed class ModelConfigurationException(string message) : Exception(message);
