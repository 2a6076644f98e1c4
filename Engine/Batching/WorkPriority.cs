namespace ServerlessInference.Engine.Batching;

/// <summary>Who is waiting: interactive callers (HTTP) are served before background work (queue chunks).</summary>
public enum WorkPriority { Interactive, Background }
