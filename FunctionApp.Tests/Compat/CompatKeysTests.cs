using ServerlessInference.Compat;
using Xunit;

namespace ServerlessInference.Tests.Compat;

public sealed class CompatKeysTests
{
    private const string First = "first-key-0123456789";
    private const string Second = "second-key-0123456789";

    private static CompatKeys Keys(string value) => new(Microsoft.Extensions.Options.Options.Create(new CompatApiOptions { Keys = value }));

    [Theory]
    [InlineData(First, true)]
    [InlineData(Second, true)]
    [InlineData("first-key-012345678", false)]
    [InlineData("first-key-0123456789 ", false)]
    [InlineData("FIRST-KEY-0123456789", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void AnyConfiguredKeyIsAcceptedAndNothingElse(string? presented, bool accepted)
    {
        var keys = Keys($" {First} ;{Second};");

        Assert.True(keys.Enabled);
        Assert.Equal(accepted, keys.Accepts(presented));
    }

    [Fact]
    public void WithoutKeysTheApisAreOffAndNoKeyIsAccepted()
    {
        var keys = Keys(" ; ");

        Assert.False(keys.Enabled);
        Assert.False(keys.Accepts(""));
        Assert.False(keys.Accepts(";"));
    }

    [Fact]
    public void KeysAreComparedAsFixedLengthHashes()
    {
        // Equal-length digests are what FixedTimeEquals needs to take the same time whatever the key's length.
        Assert.Equal(32, CompatKeys.Hash("a").Length);
        Assert.Equal(32, CompatKeys.Hash(new string('a', 1000)).Length);
        Assert.NotEqual(CompatKeys.Hash(First), CompatKeys.Hash(Second));
    }

    [Theory]
    [InlineData("short", "16 to 256")]
    [InlineData("has a space in it, long enough", "printable ASCII")]
    [InlineData("long-enough-key-0123;tab\tinside-a-long-key", "key 2")]
    public void WeakOrMalformedKeysFailValidationWithoutQuotingThem(string value, string message)
    {
        var result = new CompatApiOptionsValidator().Validate(null, new CompatApiOptions { Keys = value });

        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage);
        Assert.DoesNotContain(value.Split(';')[^1], result.FailureMessage);
    }

    [Fact]
    public void NoKeysAndGoodKeysPassValidation()
    {
        var validator = new CompatApiOptionsValidator();

        Assert.True(validator.Validate(null, new CompatApiOptions()).Succeeded);
        Assert.True(validator.Validate(null, new CompatApiOptions { Keys = $"{First};{Second}" }).Succeeded);
    }
}
