using System.Text;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.E2ETests.Http;

/// <summary>The app's Prometheus endpoint, scraped as Prometheus does while calls go through the host.</summary>
[Collection(HostCollection.Name)]
public sealed class PrometheusTests(HostFixture fixture)
{
    private FunctionsHost Host => fixture.Host;

    [HostFact]
    public async Task RequestCountsEqualTheCallsMadeByFunctionAndStatus()
    {
        var before = await fixture.App.ScrapeAsync();
        var made = new List<(string Function, int Status)>();
        for (var i = 0; i < 3; i++)
        {
            made.Add(("Translate", (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = $"Hello {i}." })).Status));
        }

        for (var i = 0; i < 2; i++)
        {
            using var broken = Host.Request(HttpMethod.Post, "api/translate");
            broken.Content = new StringContent("{\"text\":", Encoding.UTF8, "application/json");
            made.Add(("Translate", (await Host.SendAsync(broken)).Status));
        }

        made.Add(("Translate", (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hi.", model = "nope" })).Status));
        made.Add(("GetJob", (await Host.SendAsync(HttpMethod.Get, $"api/jobs/{new string('b', 32)}")).Status));
        made.Add(("Health", (await Host.SendAsync(HttpMethod.Get, "api/health", withKey: false)).Status));
        // Refused by the host before the worker sees them: no app metric can count these.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(401, (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hi." }, withKey: false)).Status);
        }

        var after = await fixture.App.ScrapeAsync();

        Assert.Equal([200, 200, 200, 400, 400, 404, 404, 200], made.Select(m => m.Status));
        foreach (var group in made.GroupBy(m => m))
        {
            (string, string)[] labels =
                [("faas_invoked_name", group.Key.Function), ("http_response_status_code", group.Key.Status.ToString())];
            var counted = after.Sum("http_server_request_duration_seconds_count", labels)
                          - before.Sum("http_server_request_duration_seconds_count", labels);
            Assert.True(counted == group.Count(), $"{group.Key}: counted {counted}, made {group.Count()}");
        }

        var translateAll = after.Sum("http_server_request_duration_seconds_count", ("faas_invoked_name", "Translate"))
                           - before.Sum("http_server_request_duration_seconds_count", ("faas_invoked_name", "Translate"));
        Assert.Equal(6, translateAll);
    }

    [HostFact]
    public async Task TheScrapeNamesTheServiceItsVersionAndTheInstance()
    {
        var target = (await fixture.App.ScrapeAsync()).Samples().Single(s => s.Name == "target_info").Labels;

        Assert.Equal("serverless-inference", target.GetValueOrDefault("service_name"));
        Assert.False(string.IsNullOrEmpty(target.GetValueOrDefault("service_version")), string.Join(", ", target));
        Assert.False(string.IsNullOrEmpty(target.GetValueOrDefault("service_instance_id")), string.Join(", ", target));
    }
}
