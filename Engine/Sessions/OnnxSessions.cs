using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// Every ONNX Runtime session the engine opens is created and closed here, so that the number open can be read: a
/// session holds its graph's weights in native memory, and one that is never disposed (a load that fails half-way)
/// keeps them for the life of the process, out of the GC's sight.
/// </summary>
internal static class OnnxSessions
{
    private static int _open;

    /// <summary>Sessions created and not yet closed, over the whole process.</summary>
    public static int Open => Volatile.Read(ref _open);

    public static InferenceSession Create(string path, SessionOptions options) => Counted(new InferenceSession(path, options));

    public static InferenceSession Create(byte[] model, SessionOptions options) => Counted(new InferenceSession(model, options));

    public static void Close(InferenceSession? session)
    {
        if (session is null)
        {
            return;
        }

        session.Dispose();
        Interlocked.Decrement(ref _open);
    }

    private static InferenceSession Counted(InferenceSession session)
    {
        Interlocked.Increment(ref _open);
        return session;
    }
}
