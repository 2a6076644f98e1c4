namespace ServerlessInference.Engine;

/// <summary>The caller's request cannot be served as asked (an option out of the model's range, a missing text); the
/// message is written for the caller. Any other exception from the engine is a fault of the service, never the
/// caller's: that is why this is not an <see cref="ArgumentException"/>, which the engine's own checks of its internal
/// arguments throw.</summary>
public sealed class InvalidRequestException(string message) : Exception(message);
