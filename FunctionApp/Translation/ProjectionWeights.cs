namespace ServerlessInference.Translation;

/// <summary>The output projection's weights: logits = hidden · Weightsᵀ + Bias.</summary>
/// <param name="Weights">[vocab, hidden], row-major: row i scores token i.</param>
internal sealed record ProjectionWeights(float[] Weights, float[] Bias, int Vocab, int Hidden)
{
    /// <summary>Same values (records compare arrays by reference).</summary>
    public bool SameAs(ProjectionWeights other) =>
        Weights.AsSpan().SequenceEqual(other.Weights) && Bias.AsSpan().SequenceEqual(other.Bias);
}
