namespace ServerlessInference.Engine;

/// <summary>
/// A decode that model inputs join between its steps and leave as they finish (continuous batching): an input that
/// arrives while others decode starts at the next step instead of waiting for the whole batch to end, and a short
/// input's caller gets its output as soon as it is done. Each input's output is the same as when it runs alone.
/// Not thread-safe: one scheduler loop drives it. Disposing it releases its cache.
/// </summary>
public interface IContinuousDecode : IDisposable
{
    /// <summary>Inputs still generating.</summary>
    int Running { get; }

    /// <summary>Time spent inside ONNX Runtime so far.</summary>
    TimeSpan OnnxRuntime { get; }

    /// <summary>Encodes <paramref name="sources"/> (all with the decode's settings) and takes their first step;
    /// returns a number for each, by which <see cref="Step"/> reports it finished.</summary>
    /// <exception cref="OperationCanceledException">The decode's token was cancelled.</exception>
    int[] Join(IReadOnlyList<int[]> sources);

    /// <summary>Runs one decoder step for every running input (none when nothing runs) and returns the inputs that
    /// finished since the last call, at a join or at this step.</summary>
    /// <exception cref="OperationCanceledException">The decode's token was cancelled.</exception>
    IReadOnlyList<DecodedInput> Step();
}

/// <summary>A finished input of an <see cref="IContinuousDecode"/>: its number and generated ids.</summary>
public sealed record DecodedInput(int Input, int[] Ids);
