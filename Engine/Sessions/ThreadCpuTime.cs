using System.Runtime.InteropServices;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// CPU time the calling thread has used (Linux's CLOCK_THREAD_CPUTIME_ID). A load phase's wall time includes waiting
/// for a core, which on a busy machine is most of it; its CPU time is about what the phase would take on an idle core,
/// so the load's chains of phases can be added up as they would run on an idle multi-core machine.
/// </summary>
internal static partial class ThreadCpuTime
{
    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

    /// <summary>Null where the clock is not available (not Linux, not glibc).</summary>
    public static TimeSpan? Now()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return ClockGetTime(ThreadCpuClock, out var t) == 0
                ? TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100)
                : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);
}
