using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Sessions;

/// <summary>A load's parts run at once; when one fails, what the others made is released and the failure keeps its type.</summary>
public sealed class ConcurrentLoadTests
{
    [Fact]
    public void BothPartsResultsAreReturnedInArgumentOrder()
    {
        var (first, second) = ConcurrentLoad.Run(() => "first", () => 2);

        Assert.Equal(("first", 2), (first, second));
    }

    [Fact]
    public void APartThatSucceededBesideAFailedOneIsReleasedAndTheFailureKeepsItsType()
    {
        var released = new List<string>();

        var e = Assert.Throws<ModelFormatException>(() => ConcurrentLoad.Run<string, string>(
            () => "session", () => throw new ModelFormatException("graph.onnx is broken"), released.Add, released.Add));

        Assert.Equal("graph.onnx is broken", e.Message);
        Assert.Equal(["session"], released);
    }

    [Fact]
    public void WhenBothPartsFailTheFirstPartsFailureIsThrown()
    {
        // The second part fails at once while the first is still running: the order is fixed, not the first to fail.
        using var secondFailed = new ManualResetEventSlim();

        var e = Assert.Throws<ModelFormatException>(() => ConcurrentLoad.Run<int, int>(
            () =>
            {
                secondFailed.Wait();
                throw new ModelFormatException("tokenizer");
            },
            () =>
            {
                secondFailed.Set();
                throw new InvalidOperationException("session");
            }));

        Assert.Equal("tokenizer", e.Message);
    }

    [Fact]
    public void TheCallerGetsControlBackOnlyAfterTheOtherPartHasEnded()
    {
        // A failure on the calling thread must not release anything while the other part may still be opening.
        bool otherEnded = false;
        using var inlineFailed = new ManualResetEventSlim();

        Assert.Throws<InvalidOperationException>(() => ConcurrentLoad.Run<int, int>(
            () =>
            {
                inlineFailed.Wait();
                Volatile.Write(ref otherEnded, true);
                return 1;
            },
            () =>
            {
                inlineFailed.Set();
                throw new InvalidOperationException("decoder");
            }));

        Assert.True(Volatile.Read(ref otherEnded));
    }
}
