using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// One caller's use of the model's shared sessions: the RunOptions through which a cancelled caller's Runs are
/// terminated, and the time its Runs spend inside ONNX Runtime. Created once per translate call and handed to every
/// Run made for it.
/// </summary>
internal sealed class InferenceCall : IDisposable
{
    private readonly CancellationTokenRegistration _registration;

    public InferenceCall(CancellationToken cancellationToken)
    {
        Options = new RunOptions();
        _registration = cancellationToken.Register(() => Options.Terminate = true);
    }

    public RunOptions Options { get; }

    /// <summary>Time inside ONNX Runtime's Runs.</summary>
    public ScopedTimer Timer { get; } = new();

    /// <summary>Runs <paramref name="session"/> with this call's options, timed.</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, IReadOnlyCollection<string> inputNames,
        IReadOnlyCollection<OrtValue> inputs, IReadOnlyCollection<string> outputNames)
    {
        using (Timer.Measure())
        {
            return session.Run(Options, inputNames, inputs, outputNames);
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        Options.Dispose();
    }
}
