using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Kernels;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>One decoder step's scores for the search: full logits, or (greedy with a split-off projection) the
/// hidden states and approximate scores from which <see cref="OutputProjection.ArgMax"/> finds the exact argmax.</summary>
internal sealed class StepScores : IDisposable
{
    private readonly OrtValue? _logits;
    private readonly bool _ownsLogits;
    private readonly OutputProjection? _projection;
    private readonly OrtValue? _hidden;
    private readonly OrtValue? _approximate;

    public StepScores(OrtValue logits, int vocab, bool owned)
    {
        (_logits, Vocab, _ownsLogits) = (logits, vocab, owned);
    }

    public StepScores(OutputProjection projection, OrtValue hidden, OrtValue approximate)
    {
        (_projection, _hidden, _approximate, Vocab) = (projection, hidden, approximate, projection.Vocab);
    }

    public int Vocab { get; }

    /// <summary>[rows, 1, vocab] float32 logits (not available on the greedy fast path).</summary>
    public ReadOnlySpan<float> Logits => (_logits ?? throw new InvalidOperationException("no full logits this step"))
        .GetTensorDataAsSpan<float>();

    /// <summary>The first index of the largest allowed logit of a row.</summary>
    public int ArgMax(int row, IReadOnlyList<int> banned)
    {
        if (_projection is null)
        {
            return RowKernels.ArgMax(Logits.Slice(row * Vocab, Vocab), banned);
        }

        int hidden = _projection.Hidden;
        return _projection.ArgMax(_hidden!.GetTensorDataAsSpan<float>().Slice(row * hidden, hidden),
            _approximate!.GetTensorMutableDataAsSpan<float>().Slice(row * Vocab, Vocab), banned);
    }

    public void Dispose()
    {
        if (_ownsLogits)
        {
            _logits?.Dispose();
        }

        _approximate?.Dispose();
    }
}
