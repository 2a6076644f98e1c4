using System.Text.RegularExpressions;
using ServerlessInference.Jobs;

namespace ServerlessInference.Tests.Infra;

/// <summary>The queue triggers name their queues as constants (<see cref="JobsOptions"/>); the infrastructure that
/// creates the queues, grants access to them and scales on them must name the same ones.</summary>
public sealed class QueueNameTests
{
    [Fact]
    public void BicepCreatesTheQueueTheTriggerListensOnAndItsPoisonQueues()
    {
        var bicep = Read("infra", "azure", "main.bicep");

        Assert.Equal(JobsOptions.Queue, Regex.Match(bicep, @"^var jobsQueueName = '([^']*)'", RegexOptions.Multiline).Groups[1].Value);
        Assert.Contains($"'${{jobsQueueName}}{JobsOptions.PoisonSuffix}'", bicep);
        // The poison trigger's own failures move on once more; the host must be allowed to write there.
        Assert.Contains($"'${{jobsQueueName}}{JobsOptions.PoisonSuffix}{JobsOptions.PoisonSuffix}'", bicep);
        Assert.DoesNotMatch(@"(?m)^param jobsQueueName\b", bicep); // a parameter could be changed without the app
    }

    [Fact]
    public void KedaScalesTheWorkerOnTheJobQueueAndItsPoisonQueue()
    {
        var queues = Regex.Matches(Read("infra", "k8s", "base", "worker-keda.yaml"), @"queueName:\s*(\S+)")
            .Select(match => match.Groups[1].Value);

        Assert.Equal([JobsOptions.Queue, JobsOptions.PoisonQueue], queues.Order(StringComparer.Ordinal));
    }

    private static string Read(params string[] path) => File.ReadAllText(Path.Combine([RepoPaths.Root, .. path]));
}
