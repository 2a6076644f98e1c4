using ServerlessInference.Jobs;

namespace ServerlessInference.Tests.Jobs;

/// <summary>How a chunk message and a JSONL line are read, apart from storage: the rules every path shares.</summary>
public sealed class JobMessageParsingTests
{
    private const string JobId = "0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData(JobsOptions.MaxItems, true)]
    [InlineData(JobsOptions.MaxItems + 1, false)]
    [InlineData(int.MaxValue, false)]
    public void ChunkCountIsBoundedByTheChunksASubmissionCanMake(int chunkCount, bool valid)
    {
        var text = $$"""{"jobId":"{{JobId}}","chunk":0,"chunkCount":{{chunkCount}}}""";

        var ok = ChunkMessage.TryParse(text, out var message, out var reason);

        Assert.Equal(valid, ok);
        if (!valid)
        {
            Assert.Null(message);
            Assert.Contains($"at most {JobsOptions.MaxItems}", reason);
        }
    }

    [Fact]
    public void AnInputLineReadsALoneSurrogateAsTheReplacementCharacter()
    {
        var item = JobItem.Parse("""{"id":"7","text":"Hello \ud800 world.","extra":1}""");

        Assert.Equal(new JobItem("7", "Hello \uFFFD world."), item);
    }

    [Theory]
    [InlineData("""{"id":"1","text":"a","text":"b"}""")]
    [InlineData("""{"id":"1","id":"2","text":"a"}""")]
    [InlineData("""{"id":"1","text":"a","\ud800":1,"\ud800":2}""")]
    [InlineData("""{"id":1,"text":"a"}""")]
    [InlineData("""["1","a"]""")]
    [InlineData("{\"id\":\"1\",\"text\":\"a\"")]
    public void AMalformedInputLineIsRejectedWithoutThrowing(string line) => Assert.Null(JobItem.Parse(line));
}
