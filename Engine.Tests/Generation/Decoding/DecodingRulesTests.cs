using ServerlessInference.Engine.Generation.Decoding;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Tests.Generation.Decoding;

public sealed class DecodingRulesTests
{
    private const int Start = 9;

    private static GenerationConfig Config(int? forcedEos = 2, int ngram = 0, double penalty = 1.0,
        bool renormalize = false, params int[][] badSequences)
    {
        return new GenerationConfig
        {
            DecoderStartTokenId = Start,
            EosTokenId = 2,
            PadTokenId = Start,
            ForcedEosTokenId = forcedEos,
            MaxLength = 6,
            NumBeams = 1,
            LengthPenalty = 1.0,
            EarlyStopping = false,
            BadTokenIds = [Start],
            BadSequences = badSequences,
            NoRepeatNgramSize = ngram,
            RepetitionPenalty = penalty,
            RenormalizeLogits = renormalize,
        };
    }

    private static DecodingRules Rules(GenerationConfig config, int maxNew = 5, Guardrails? guards = null) =>
        new(config, [maxNew], guards ?? Guardrails.Off);

    private static List<int> Bans(DecodingRules rules, params int[] generated)
    {
        var banned = new List<int>();
        rules.AddHistoryBans(generated, banned);
        return banned.Order().ToList();
    }

    [Fact]
    public void EosIsForcedOnlyAtTheLastStepAndOnlyWhenTheModelForcesIt()
    {
        var rules = Rules(Config());
        Assert.Null(rules.ForcedToken(0, [4, 5, 6]));
        Assert.Equal(2, rules.ForcedToken(0, [4, 5, 6, 7]));
        Assert.Null(Rules(Config(forcedEos: null)).ForcedToken(0, [4, 5, 6, 7]));
    }

    [Fact]
    public void NoRepeatNgramBansEveryTokenThatWouldCompleteAnNgramAlreadyGenerated()
    {
        // History (start token first) 9 4 5 4: the bigrams (4,5) is there, so after "4" the token 5 is banned.
        Assert.Equal([5], Bans(Rules(Config(ngram: 2)), 4, 5, 4));
        // Trigrams: (4,5,6) then the history ends with 4 5 → 6 is banned; it ends with 5 4 → nothing.
        Assert.Equal([6], Bans(Rules(Config(ngram: 3)), 4, 5, 6, 4, 5));
        Assert.Empty(Bans(Rules(Config(ngram: 3)), 4, 5, 6, 5, 4));
        // n = 1 bans every id of the decoder input, the start token included (as the processor sees it).
        Assert.Equal([4, 5, Start], Bans(Rules(Config(ngram: 1)), 4, 5));
    }

    [Fact]
    public void ALongerBadWordBansItsLastTokenOnlyWhereTheOutputEndsWithTheOthers()
    {
        var rules = Rules(Config(badSequences: [[4, 5], [6, 7, 8]]));
        Assert.Equal([5], Bans(rules, 3, 4));
        Assert.Empty(Bans(rules, 4, 3));
        Assert.Equal([8], Bans(rules, 6, 7));
        Assert.Empty(Bans(rules, 7));
    }

    [Fact]
    public void RepetitionPenaltyScalesEachGeneratedIdOnceTowardsLessLikely()
    {
        var rules = Rules(Config(penalty: 2.0));
        float[] logits = [1f, -1f, 4f, 0.5f, 3f, 0f, 0f, 0f, 0f, 0f];
        var processed = new float[logits.Length];
        rules.ProcessLogits(logits, [1, 4, 4], [Start], processed);
        Assert.Equal([1f, -2f, 4f, 0.5f, 1.5f], processed[..5]);
        Assert.Equal(float.NegativeInfinity, processed[Start]);
    }

    [Fact]
    public void RenormalizedLogProbabilitiesSumToOneOverTheAllowedIds()
    {
        var rules = Rules(Config(renormalize: true));
        float[] logits = [1f, 2f, 3f, 0f, 0f, 0f, 0f, 0f, 0f, 5f];
        var processed = new float[logits.Length];
        rules.ProcessLogProbs(logits, [], [Start], processed);
        Assert.Equal(float.NegativeInfinity, processed[Start]);
        Assert.Equal(1.0, processed.Sum(p => Math.Exp(p)), 5);
    }

    [Fact]
    public void TheLengthGuardBoundsOutputByAFactorOfTheSourceWithAFloorUnderTheLimit()
    {
        var guards = new Guardrails(3.0, 16, RepeatStop.Off);
        Assert.Equal(16, guards.MaxNewTokens(sourceTokens: 2, limit: 127));
        Assert.Equal(30, guards.MaxNewTokens(sourceTokens: 10, limit: 127));
        Assert.Equal(127, guards.MaxNewTokens(sourceTokens: 100, limit: 127));
        Assert.Equal(8, guards.MaxNewTokens(sourceTokens: 2, limit: 8));
        Assert.Equal(127, Guardrails.Off.MaxNewTokens(sourceTokens: 2, limit: 127));
    }

    [Fact]
    public void TheLoopStopFiresOnARunOfOneNgramButNotOnShorterRepeats()
    {
        var stop = new RepeatStop(Repeats: 4, MinTokens: 12);
        Assert.True(stop.EndsInLoop([.. Enumerable.Repeat(7, 12)]));
        Assert.False(stop.EndsInLoop([.. Enumerable.Repeat(7, 11)]));
        int[] pair = [5, 6];
        Assert.True(stop.EndsInLoop([3, .. Enumerable.Range(0, 6).SelectMany(_ => pair)]));
        Assert.False(stop.EndsInLoop([.. Enumerable.Range(0, 5).SelectMany(_ => pair)]));
        int[] triple = [5, 6, 7];
        Assert.True(stop.EndsInLoop([.. Enumerable.Range(0, 4).SelectMany(_ => triple)]));
        Assert.False(stop.EndsInLoop([.. Enumerable.Range(0, 4).SelectMany(_ => triple), 8]));
        Assert.False(RepeatStop.Off.EndsInLoop([.. Enumerable.Repeat(7, 100)]));
    }

    [Fact]
    public void TheLoopStopForcesEosOnceTheOutputRunsInALoop()
    {
        var rules = Rules(Config(forcedEos: null), maxNew: 100, new Guardrails(0, 1, new RepeatStop(4, 12)));
        Assert.Null(rules.ForcedToken(0, [.. Enumerable.Repeat(7, 11)]));
        Assert.Equal(2, rules.ForcedToken(0, [.. Enumerable.Repeat(7, 12)]));
    }
}
