namespace ServerlessInference.Engine.Generation.Decoding;

/// <summary>
/// The engine's own bounds on a sentence's output, beyond what the model's generation_config.json asks for, so that
/// input a model was never trained on (a run of one unusual character, say) cannot make it generate to the length
/// limit: the output length bound (<see cref="MaxNewTokens"/>) and the loop stop (<see cref="RepeatStop"/>).
/// Settings: <see cref="EngineOptions"/>.
/// </summary>
internal sealed record Guardrails(double LengthFactor, int LengthFloor, RepeatStop RepeatStop)
{
    public static Guardrails Off { get; } = new(0, 0, RepeatStop.Off);

    public static Guardrails From(EngineOptions options) => new(options.OutputLengthFactor, options.OutputLengthFloor,
        new RepeatStop(options.RepeatStopRepeats, options.RepeatStopMinTokens));

    /// <summary>The most tokens a source of <paramref name="sourceTokens"/> ids (eos included) may generate:
    /// min(limit, max(floor, ⌈factor · sourceTokens⌉)), or the limit when the factor is 0.</summary>
    public int MaxNewTokens(int sourceTokens, int limit) => LengthFactor <= 0
        ? limit
        : Math.Min(limit, Math.Max(LengthFloor, (int)Math.Ceiling(LengthFactor * sourceTokens)));
}

/// <summary>
/// Stops a sentence that runs in a loop: when the tokens generated so far end with the same n-gram (1 ≤ n ≤
/// <see cref="MaxNgram"/>) repeated back to back at least max(<paramref name="Repeats"/>, ⌈<paramref name="MinTokens"/>
/// / n⌉) times, the next token is eos. With the defaults (4 repeats, 8 tokens) that is one token 8 times in a row, or
/// two, three or four tokens 4 times: more than ordinary text repeats (a number's zeros, "哈哈哈", "……").
/// The repeats are kept; the sentence just ends there instead of at the length limit.
/// </summary>
internal sealed record RepeatStop(int Repeats, int MinTokens)
{
    public const int MaxNgram = 4;

    public static RepeatStop Off { get; } = new(0, 0);

    public bool EndsInLoop(IReadOnlyList<int> tokens)
    {
        if (Repeats <= 0)
        {
            return false;
        }

        for (int n = 1; n <= MaxNgram; n++)
        {
            int copies = Math.Max(Repeats, (MinTokens + n - 1) / n);
            int span = copies * n;
            if (tokens.Count < span)
            {
                continue;
            }

            // The last `span` tokens are `copies` copies of the last n-gram when each equals the one n places later.
            int start = tokens.Count - span;
            bool loop = true;
            for (int i = start; i < tokens.Count - n && loop; i++)
            {
                loop = tokens[i] == tokens[i + n];
            }

            if (loop)
            {
                return true;
            }
        }

        return false;
    }
}
