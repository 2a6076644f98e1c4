using System.Globalization;
using System.Text;

namespace ServerlessInference.Tools;

/// <summary>What a flag's value must be; <see cref="None"/> is a switch that takes no value.</summary>
internal enum ValueKind
{
    None,
    Text,
    Int,
    IntList,
    Number,
}

/// <summary>A flag of a command: <c>--name value</c>, or <c>--name</c> alone for a switch.</summary>
/// <param name="Name">Without the leading dashes.</param>
/// <param name="Kind">What the value must be.</param>
/// <param name="Value">The value's placeholder in the usage (<c>&lt;dir&gt;</c>, <c>N</c>); null for a switch.</param>
/// <param name="Description">One sentence for the usage.</param>
/// <param name="Default">The value the command sees when the flag is not given; null: none (the description says what
/// its absence means).</param>
/// <param name="Required">The command cannot run without it.</param>
/// <param name="Choices">The only values it takes; null: any of its kind.</param>
internal sealed record Flag(string Name, ValueKind Kind, string? Value, string Description, string? Default = null,
    bool Required = false, IReadOnlyList<string>? Choices = null)
{
    public static Flag Text(string name, string value, string description, string? @default = null, bool required = false) =>
        new(name, ValueKind.Text, value, description, @default, required);

    public static Flag Int(string name, string description, string? @default = null, bool required = false) =>
        new(name, ValueKind.Int, "N", description, @default, required);

    public static Flag IntList(string name, string description, string? @default = null) =>
        new(name, ValueKind.IntList, "N,N", description, @default);

    public static Flag Number(string name, string value, string description, string? @default = null) =>
        new(name, ValueKind.Number, value, description, @default);

    public static Flag Choice(string name, IReadOnlyList<string> choices, string description, string? @default = null,
        bool required = false) =>
        new(name, ValueKind.Text, string.Join('|', choices), description, @default, required, choices);

    public static Flag Switch(string name, string description) => new(name, ValueKind.None, null, description);
}

/// <summary>An argument given by position rather than by name (for tools that take them).</summary>
internal sealed record Positional(string Name, string Description, bool Required = true, string? Default = null);

/// <summary>One command (verb) of a tool and everything it accepts. A tool without verbs has one, named "".</summary>
/// <param name="Tail">Shown after the options in the usage line (<c>&lt; input.txt</c>).</param>
internal sealed record Verb(string Name, string Summary, IReadOnlyList<Flag> Flags, IReadOnlyList<Positional>? Positionals = null,
    string? Tail = null)
{
    public IReadOnlyList<Positional> Arguments => Positionals ?? [];
}

/// <summary>
/// The outcome of <see cref="CommandLine.Parse"/>: either a verb to run with its values (the flags given, every other
/// flag with a default at its default, positionals by name), or an exit code with what to print: the usage on stdout
/// (exit 0, after --help or -h), or an error naming the flag and the verb's usage on stderr (exit 2).
/// </summary>
internal sealed record ParseResult(Verb? Verb, Dictionary<string, string> Values, int? ExitCode, string Output, string Error)
{
    /// <summary>True when the tool should stop: prints <see cref="Output"/> and <see cref="Error"/> and gives the exit code.</summary>
    public bool Finished(out int exitCode)
    {
        Console.Out.Write(Output);
        Console.Error.Write(Error);
        exitCode = ExitCode ?? 0;
        return ExitCode is not null;
    }
}

/// <summary>
/// A small command-line parser: <c>tool [verb] --flag value --switch positional…</c>. Each verb declares its flags
/// (<see cref="Flag"/>); <c>--help</c> or <c>-h</c> anywhere prints the verb's usage (before any verb: the tool's,
/// every verb and flag) and exits 0. An unknown verb or flag, a flag given twice, a flag without its value, a value
/// that is not of the flag's kind or choices, a missing required flag or an extra argument is an error: the message
/// and the verb's usage on stderr, exit code 2.
/// </summary>
/// <param name="Program">The tool's name in the usage.</param>
/// <param name="Summary">What the tool is, for the top-level usage.</param>
/// <param name="Verbs">Its verbs; a single one named "" for a tool without verbs.</param>
/// <param name="DefaultVerb">The verb that runs when the first argument is a flag; null: a verb must be named.</param>
internal sealed record CommandLine(string Program, string Summary, IReadOnlyList<Verb> Verbs, string? DefaultVerb = null)
{
    public const int UsageError = 2;
    private const int Width = 100;

    public ParseResult Parse(IReadOnlyList<string> args)
    {
        var (verb, rest) = Select(args);
        if (verb is null)
        {
            bool help = args.Count > 0 && IsHelp(args[0]);
            return help ? Stop(null, 0, Usage(), "")
                : Stop(null, UsageError, "", (args.Count == 0 ? "" : $"error: unknown command '{args[0]}'\n") + Usage());
        }

        if (rest.Any(IsHelp))
        {
            return Stop(verb, 0, Usage(verb), "");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        int position = 0;
        for (int i = 0; i < rest.Count; i++)
        {
            string token = rest[i];
            if (!IsFlag(token))
            {
                if (position >= verb.Arguments.Count)
                {
                    return Error(verb, $"unexpected argument '{token}'");
                }

                values[verb.Arguments[position++].Name] = token;
                continue;
            }

            var flag = token.StartsWith("--", StringComparison.Ordinal) ? verb.Flags.FirstOrDefault(f => f.Name == token[2..]) : null;
            if (flag is null)
            {
                return Error(verb, $"unknown flag '{token}'");
            }

            if (values.ContainsKey(flag.Name))
            {
                return Error(verb, $"--{flag.Name} is given twice");
            }

            if (flag.Kind == ValueKind.None)
            {
                values[flag.Name] = "true";
                continue;
            }

            if (i + 1 >= rest.Count || rest[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                return Error(verb, $"--{flag.Name} needs a value ({flag.Value})");
            }

            string value = rest[++i];
            if (Invalid(flag, value) is { } problem)
            {
                return Error(verb, $"--{flag.Name} {problem}, not '{value}'");
            }

            values[flag.Name] = value;
        }

        if (verb.Flags.FirstOrDefault(f => f.Required && !values.ContainsKey(f.Name)) is { } missing)
        {
            return Error(verb, $"--{missing.Name} is required");
        }

        if (verb.Arguments.Skip(position).FirstOrDefault(p => p.Required) is { } absent)
        {
            return Error(verb, $"<{absent.Name}> is required");
        }

        foreach (var flag in verb.Flags.Where(f => f.Default is not null && !values.ContainsKey(f.Name)))
        {
            values[flag.Name] = flag.Default!;
        }

        foreach (var argument in verb.Arguments.Skip(position).Where(p => p.Default is not null))
        {
            values[argument.Name] = argument.Default!;
        }

        return new ParseResult(verb, values, null, "", "");
    }

    /// <summary>The tool's usage: its verbs, then each verb's usage with every flag.</summary>
    public string Usage()
    {
        if (Verbs is [{ Name: "" } only])
        {
            return Usage(only);
        }

        var text = new StringBuilder();
        text.Append($"usage: {Program} <command> [options]\n");
        Wrap(text, Summary, "");
        text.Append(DefaultVerb is null ? "commands:\n" : $"commands ({DefaultVerb} when the first argument is a flag):\n");
        int width = Verbs.Max(v => v.Name.Length) + 4;
        foreach (var verb in Verbs)
        {
            Wrap(text, verb.Summary.Split(". ")[0].TrimEnd('.') + ".", "  " + verb.Name.PadRight(width - 2));
        }

        foreach (var verb in Verbs)
        {
            text.Append('\n').Append(Usage(verb));
        }

        return text.ToString();
    }

    /// <summary>One verb's usage: the line with its required flags and positionals, its summary, every flag.</summary>
    public string Usage(Verb verb)
    {
        var line = new StringBuilder($"usage: {Program}");
        if (verb.Name != "")
        {
            line.Append(' ').Append(verb.Name);
        }

        foreach (var flag in verb.Flags.Where(f => f.Required))
        {
            line.Append($" --{flag.Name} {flag.Value}");
        }

        if (verb.Flags.Any(f => !f.Required))
        {
            line.Append(" [options]");
        }

        foreach (var argument in verb.Arguments)
        {
            line.Append(argument.Required ? $" <{argument.Name}>" : $" [{argument.Name}]");
        }

        if (verb.Tail is not null)
        {
            line.Append(' ').Append(verb.Tail);
        }

        var text = new StringBuilder();
        text.Append(line).Append('\n');
        Wrap(text, verb.Summary, "  ");
        var rows = verb.Arguments.Select(a => ($"<{a.Name}>", a.Description + (a.Default is null or "" ? "" : $" (default: {a.Default})")))
            .Concat(verb.Flags.Select(f => ($"--{f.Name}" + (f.Value is null ? "" : " " + f.Value),
                f.Description + (f.Required ? " (required)" : f.Default is null or "" ? "" : $" (default: {f.Default})"))))
            .ToList();
        rows.Add(("-h, --help", "print this usage"));
        int width = Math.Min(rows.Max(r => r.Item1.Length) + 4, 30);
        foreach (var (name, description) in rows)
        {
            string head = "  " + name;
            if (head.Length + 2 > width)
            {
                text.Append(head).Append('\n');
                head = "";
            }

            Wrap(text, description, head.PadRight(width), new string(' ', width));
        }

        return text.ToString();
    }

    private (Verb? Verb, IReadOnlyList<string> Tokens) Select(IReadOnlyList<string> args)
    {
        if (Verbs is [{ Name: "" } only])
        {
            return (only, args);
        }

        if (args.Count == 0 || IsHelp(args[0]))
        {
            return (null, args);
        }

        if (Verbs.FirstOrDefault(v => v.Name == args[0]) is { } named)
        {
            return (named, args.Skip(1).ToList());
        }

        return IsFlag(args[0]) && DefaultVerb is not null ? (Verbs.Single(v => v.Name == DefaultVerb), args) : (null, args);
    }

    private ParseResult Error(Verb verb, string message) => Stop(verb, UsageError, "", $"error: {message}\n{Usage(verb)}");

    private static ParseResult Stop(Verb? verb, int exitCode, string output, string error) =>
        new(verb, new Dictionary<string, string>(), exitCode, output, error);

    private static bool IsHelp(string token) => token is "--help" or "-h";

    // "-" alone is an argument (stdin, by convention); so is a negative number.
    private static bool IsFlag(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>Why <paramref name="value"/> is no value of <paramref name="flag"/>; null when it is one.</summary>
    private static string? Invalid(Flag flag, string value) => flag switch
    {
        { Choices: { } choices } when !choices.Contains(value) =>
            choices.Count <= 2 ? "must be " + string.Join(" or ", choices) : "must be one of " + string.Join(", ", choices),
        { Kind: ValueKind.Int } when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) =>
            "must be an integer",
        { Kind: ValueKind.IntList } when !ParsedValues.TrySplitInts(value, out _) => "must be integers separated by commas",
        { Kind: ValueKind.Number } when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) =>
            "must be a number",
        _ => null,
    };

    /// <summary>Appends <paramref name="text"/> word-wrapped at <see cref="Width"/>, the first line after
    /// <paramref name="first"/>, the others after <paramref name="indent"/> (default: as long as the first).</summary>
    private static void Wrap(StringBuilder output, string text, string first, string? indent = null)
    {
        var line = new StringBuilder(first);
        bool empty = true;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > Width)
            {
                output.Append(line).Append('\n');
                line.Clear().Append(indent ?? new string(' ', first.Length));
                empty = true;
            }

            line.Append(empty ? "" : " ").Append(word);
            empty = false;
        }

        output.Append(line).Append('\n');
    }
}

/// <summary>Typed reads of what <see cref="CommandLine.Parse"/> returned: the parser has checked every value, so these
/// do not fail on a value the user gave; a name that is absent (not given, no default) is a bug in the tool.</summary>
internal static class ParsedValues
{
    public static int Int(this IReadOnlyDictionary<string, string> values, string name) =>
        int.Parse(values[name], NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static int? IntOrNull(this IReadOnlyDictionary<string, string> values, string name) =>
        values.ContainsKey(name) ? values.Int(name) : null;

    public static int[] Ints(this IReadOnlyDictionary<string, string> values, string name) =>
        TrySplitInts(values[name], out var list) ? list : throw new FormatException($"--{name}: '{values[name]}'");

    public static double Number(this IReadOnlyDictionary<string, string> values, string name) =>
        double.Parse(values[name], NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>A comma-separated list of integers; empty entries are skipped, so "" is an empty list.</summary>
    public static bool TrySplitInts(string value, out int[] list)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        list = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out list[i]))
            {
                return false;
            }
        }

        return true;
    }
}
