using System.Net;
using System.Net.Sockets;

namespace ServerlessInference.Tests.Support;

/// <summary>Loopback ports for the servers tests start (Azurite, a Functions host, Prometheus); shared with the
/// end-to-end suite.</summary>
internal static class LoopbackPorts
{
    /// <summary>Distinct free ports: every listener is held until all are chosen, so no two probes get the same one.</summary>
    public static int[] Free(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    /// <summary>Polls until something listens on <paramref name="port"/>.</summary>
    /// <param name="failure">Checked before each attempt: a reason to give up at once (the server died), or null.</param>
    public static async Task WaitUntilListeningAsync(int port, TimeSpan timeout, Func<string?> failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (failure() is { } reason)
            {
                throw new InvalidOperationException(reason);
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // polling a port that is not open yet, not synchronising tests
            }
            catch (SocketException)
            {
                throw new TimeoutException($"Nothing listened on port {port} within {timeout.TotalSeconds:F0} s.");
            }
        }
    }
}
