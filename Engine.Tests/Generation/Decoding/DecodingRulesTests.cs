using ServerlessInference.Engine.Generation.Decoding;

namespace ServerlessInference.Engine.Tests.Generation.Decoding;

public sealed class DecodingRulesTests
{
    [Fact]
    public void EosIsForcedOnlyAtTheLastStepAndOnlyWhenTheModelForcesIt()
    {
        var rules = new DecodingRules([9], forcedEos: 2, maxNewTokens: 5);
        Assert.Null(rules.ForcedToken(3));
        Assert.Equal(2, rules.ForcedToken(4));
        Assert.Null(new DecodingRules([9], forcedEos: null, maxNewTokens: 5).ForcedToken(4));
    }
}
