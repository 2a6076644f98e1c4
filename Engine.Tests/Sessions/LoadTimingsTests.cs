using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Sessions;

/// <summary>The load benchmarks read where a cold start spends its time from <see cref="TranslationEngine.LoadTimings"/>.</summary>
public sealed class LoadTimingsTests
{
    [Fact]
    public void ALoadWithTheSplitProjectionRecordsEachOfItsPhases()
    {
        using var engine = TranslationEngine.Load("timed", RepoPaths.ShippedModel);

        var phases = engine.LoadTimings.Phases;

        Assert.Equal(
            ["decoder rewrite", "decoder session", "encoder session", TranslationEngine.WallClockPhase, "graph traits (decoder)",
                "graph traits (encoder)", "model folder", "projection 4-bit quantisation", "projection 4-bit session",
                "projection float32 session", "return load memory", "tokenizer"],
            phases.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.All(phases, p => Assert.True(p.Value > TimeSpan.Zero, p.Key));
    }

    [Fact]
    public void OnLinuxEachMeasuredPhaseAlsoRecordsTheCpuTimeOfItsThread()
    {
        using var engine = TranslationEngine.Load("timed", RepoPaths.ShippedModel);

        var cpu = engine.LoadTimings.CpuPhases;

        if (!OperatingSystem.IsLinux())
        {
            Assert.Empty(cpu);
            return;
        }

        // Every phase but the wall clock, which is no one thread's.
        var measured = engine.LoadTimings.Phases.Select(p => p.Key).Where(n => n != TranslationEngine.WallClockPhase);
        Assert.Equal(measured.Order(StringComparer.Ordinal), cpu.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Contains(cpu, p => p.Key == "decoder session" && p.Value > TimeSpan.Zero);
    }

    [Fact]
    public void ALoadThatRunsTheGraphsAsExportedRecordsNoRewriteOrProjection()
    {
        using var engine = TranslationEngine.Load("timed", RepoPaths.ShippedModel,
            EngineOptions.Default with { SplitOutputProjection = false, ContinuousBatching = false });

        var names = engine.LoadTimings.Phases.Select(p => p.Key).ToList();

        Assert.Contains("decoder session", names);
        Assert.DoesNotContain(names, n => n.StartsWith("projection", StringComparison.Ordinal) || n == "decoder rewrite");
    }
}
