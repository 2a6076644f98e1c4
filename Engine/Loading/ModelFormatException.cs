namespace ServerlessInference.Engine.Loading;

/// <summary>The model folder is incomplete or malformed.</summary>
public sealed class ModelFormatException(string message, Exception? inner = null) : Exception(message, inner);
