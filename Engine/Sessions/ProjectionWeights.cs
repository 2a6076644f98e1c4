using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.Engine.Sessions;

/// <summary>The output projection's weights: logits = hidden · Weightsᵀ + Bias.</summary>
/// <param name="Weights">[vocab, hidden], row-major: row i scores token i.</param>
internal sealed record ProjectionWeights(float[] Weights, float[] Bias, int Vocab, int Hidden)
{
    /// <summary>Where W is stored in the model file, when it came from one: the float32 projection graph then reads
    /// it from there instead of from a serialised copy of <see cref="Weights"/>.</summary>
    public ProjectionSource? Source { get; init; }

    /// <summary>Same values (records compare arrays by reference).</summary>
    public bool SameAs(ProjectionWeights other) =>
        Weights.AsSpan().SequenceEqual(other.Weights) && Bias.AsSpan().SequenceEqual(other.Bias);
}

/// <param name="Tensor">W's initializer, [vocab, hidden] or (folded) [hidden, vocab], inline or external data.</param>
/// <param name="Folder">The folder its external data is relative to.</param>
internal sealed record ProjectionSource(TensorProto Tensor, bool Folded, string Folder);
