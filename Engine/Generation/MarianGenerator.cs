using ServerlessInference.Engine.Generation.Decoding;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Generation;

/// <summary>Runs a batch of sources to the end: one <see cref="DecodeRun"/> they all join at once.</summary>
internal sealed class MarianGenerator(MarianOnnxModel model, Guardrails guards)
{
    /// <summary>Generated ids for each source (eos included, start token excluded), in input order.</summary>
    public int[][] Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, InferenceCall call)
    {
        using var run = Start(settings);
        var numbers = run.Join(sources, call);
        while (run.Running > 0)
        {
            run.Step(call);
        }

        return numbers.Select(run.Result).ToArray();
    }

    /// <summary>A run that sources join as they come (continuous batching).</summary>
    public DecodeRun Start(GenerationSettings settings) => new(model, guards, settings);
}
