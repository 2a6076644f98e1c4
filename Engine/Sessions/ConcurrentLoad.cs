using System.Runtime.ExceptionServices;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// Runs two independent parts of a model load at once (a session beside another, the tokenizer beside the sessions),
/// so that a load takes its longest chain of dependent steps rather than the sum of all of them.
/// <para>
/// The first part runs on a thread of its own, not the thread pool's: the caller blocks until both are done, and a
/// load that runs while the pool is busy (a cold burst) must not wait for the pool to grow. The second runs on the
/// calling thread, which would otherwise only wait.
/// </para>
/// <para>
/// Both parts always run to their end, also when the other fails, so that nothing is still being opened once the
/// caller releases what a failed load opened; a part that succeeded beside a failed one is handed to its release.
/// </para>
/// </summary>
internal static class ConcurrentLoad
{
    /// <exception cref="Exception">The first part's failure when it failed, else the second's, as it was thrown (its
    /// own type, e.g. <see cref="Loading.ModelFormatException"/>): the order is fixed, not whichever failed first.</exception>
    public static (T1 First, T2 Second) Run<T1, T2>(Func<T1> first, Func<T2> second,
        Action<T1>? releaseFirst = null, Action<T2>? releaseSecond = null)
    {
        var own = Task.Factory.StartNew(first, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Task<T2> inline;
        try
        {
            inline = Task.FromResult(second());
        }
        catch (Exception e)
        {
            inline = Task.FromException<T2>(e);
        }

        // Waits for the other part whatever this one did; its outcome is read below.
        ((Task)own).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        Task? failed = own.IsFaulted ? own : inline.IsFaulted ? inline : null;
        if (failed is not null)
        {
            if (own.IsCompletedSuccessfully)
            {
                releaseFirst?.Invoke(own.Result);
            }

            if (inline.IsCompletedSuccessfully)
            {
                releaseSecond?.Invoke(inline.Result);
            }

            ExceptionDispatchInfo.Throw(failed.Exception!.InnerException!);
        }

        return (own.Result, inline.Result);
    }
}
