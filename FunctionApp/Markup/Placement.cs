using AngleSharp.Dom;
using static ServerlessInference.Markup.InlineRun;

namespace ServerlessInference.Markup;

/// <summary>Where a run's inline tags and atoms go in its translation. Every place is inside its parent's and clear
/// of every other placed sibling or cousin, so the result always nests.</summary>
internal sealed class Placement(string translation, string raw, IReadOnlyList<string> translations)
{
    private readonly List<Slot> _located = [];
    private readonly HashSet<Slot> _enclosing = [];
    private int _sequence;

    /// <summary>A stretch of the translation: the run itself or a located inline tag, with the tags that could not be
    /// located wrapping all of it (<see cref="Chain"/>, outermost first) and what was placed inside.</summary>
    public sealed class Slot(IElement? element, INode? atom, int start, int end, int sequence, bool spaceAfter = false)
    {
        /// <summary>An atom that stood between spaces, placed after a space of the translation, gets one after it too.</summary>
        public bool SpaceAfter { get; } = spaceAfter;
        public IElement? Element { get; } = element;
        public INode? Atom { get; } = atom;
        public int Start { get; } = start;
        public int End { get; } = end;
        public int Sequence { get; } = sequence;
        public List<IElement> Chain { get; } = [];
        public List<Slot> Inner { get; } = [];
    }

    private sealed record PendingAtom(AtomPiece Atom, int SourceStart, int SourceEnd);

    public Slot Place(IReadOnlyList<Piece> pieces, string text)
    {
        var root = new Slot(null, null, 0, translation.Length, _sequence++);
        Build(root, pieces, 0, raw.Length, text);
        return root;
    }

    private void Build(Slot slot, IReadOnlyList<Piece> pieces, int sourceStart, int sourceEnd, string text)
    {
        _enclosing.Add(slot);
        var points = new List<PendingAtom>();
        var descend = new List<(Slot Slot, WrapperPiece Wrapper)>();
        Fill(slot, pieces, sourceStart, sourceEnd, text, points, descend);
        foreach (var point in points)
        {
            var position = Position(slot, point);
            var spaced = position > slot.Start && MarkupText.IsSpace(translation[position - 1])
                && (position == slot.End || !MarkupText.IsSpace(translation[position]))
                && raw[point.Atom.SourceEnd..point.SourceEnd] is [var next, ..] && MarkupText.IsSpace(next);
            slot.Inner.Add(new Slot(null, point.Atom.Node, position, position, _sequence++, spaced && position < slot.End));
        }
        foreach (var (child, wrapper) in descend)
        {
            Build(child, wrapper.Children, wrapper.SourceStart, wrapper.SourceEnd, wrapper.Text);
        }
        _enclosing.Remove(slot);
    }

    /// <summary>Locates the direct pieces; a tag not located joins the slot's chain and its children are placed in
    /// the same slot.</summary>
    private void Fill(Slot slot, IReadOnlyList<Piece> pieces, int sourceStart, int sourceEnd, string text,
        List<PendingAtom> points, List<(Slot, WrapperPiece)> descend)
    {
        var unlocated = new List<WrapperPiece>();
        foreach (var piece in pieces)
        {
            switch (piece)
            {
                case WrapperPiece wrapper:
                    if (wrapper.Segment < 0 || wrapper.Text == text
                        || Find(slot, Candidates(translations[wrapper.Segment], wrapper.Text)) is not { } found)
                    {
                        unlocated.Add(wrapper);
                        break;
                    }
                    var child = new Slot(wrapper.Element, null, found.Start, found.End, _sequence++);
                    slot.Inner.Add(child);
                    _located.Add(child);
                    descend.Add((child, wrapper));
                    break;
                case AtomPiece atom when atom.Spoken.Length > 0 && Find(slot, [atom.Spoken]) is { } at:
                    var replaced = new Slot(null, atom.Node, at.Start, at.End, _sequence++);
                    slot.Inner.Add(replaced);
                    _located.Add(replaced);
                    break;
                case AtomPiece atom:
                    points.Add(new PendingAtom(atom, sourceStart, sourceEnd));
                    break;
                default:
                    break;
            }
        }
        foreach (var wrapper in unlocated)
        {
            slot.Chain.Add(wrapper.Element);
            Fill(slot, wrapper.Children, wrapper.SourceStart, wrapper.SourceEnd, wrapper.Text, points, descend);
        }
    }

    /// <summary>The tag's translation, the same without the full stop a model adds to a fragment, and its source text
    /// (names and numbers a model copies through).</summary>
    private static IEnumerable<string> Candidates(string translated, string source)
    {
        var collapsed = MarkupText.Collapse(translated);
        return new[] { collapsed, collapsed.TrimEnd('.', '。', '!', '！', '?', '？', ',', '，', ';', '；', ':', '：'), source }
            .Where(c => c.Length > 0)
            .Distinct(StringComparer.Ordinal);
    }

    private (int Start, int End)? Find(Slot slot, IEnumerable<string> candidates)
    {
        foreach (var candidate in candidates)
        {
            var from = slot.Start;
            while (from < slot.End)
            {
                var index = translation.IndexOf(candidate, from, slot.End - from, StringComparison.OrdinalIgnoreCase);
                if (index < 0)
                {
                    break;
                }

                var end = index + candidate.Length;
                if (AtWordEdges(index, end) && _located.All(l => _enclosing.Contains(l) || end <= l.Start || index >= l.End))
                {
                    return (index, end);
                }

                from = index + 1;
            }
        }
        return null;
    }

    /// <summary>In scripts that space their words, a match must not cut a word ("here" is not in "where").</summary>
    private bool AtWordEdges(int start, int end) =>
        !(start > 0 && IsSpacedWordChar(translation[start - 1]) && IsSpacedWordChar(translation[start]))
        && !(end < translation.Length && IsSpacedWordChar(translation[end - 1]) && IsSpacedWordChar(translation[end]));

    private static bool IsSpacedWordChar(char c) => c < '\u2E80' && char.IsLetterOrDigit(c);

    /// <summary>An atom keeps its relative position in its parent: at the start or the end when it was there, else at
    /// the same fraction of the text, moved to the end of a word and out of any placed tag.</summary>
    private int Position(Slot slot, PendingAtom point)
    {
        var before = raw[point.SourceStart..point.Atom.SourceStart];
        var after = raw[point.Atom.SourceEnd..point.SourceEnd];
        int position;
        if (MarkupText.IsBlank(before))
        {
            position = slot.Start;
        }
        else if (MarkupText.IsBlank(after))
        {
            position = slot.End;
        }
        else
        {
            var fraction = (double)(point.Atom.SourceStart - point.SourceStart) / Math.Max(1, point.SourceEnd - point.SourceStart);
            position = slot.Start + (int)Math.Round(fraction * (slot.End - slot.Start));
            while (position < slot.End && position > slot.Start
                && ((IsSpacedWordChar(translation[position - 1]) && IsSpacedWordChar(translation[position]))
                    || char.IsLowSurrogate(translation[position])))
            {
                position++;
            }

            // After the space that ends the word, as it was in the source.
            if (position < slot.End && MarkupText.IsSpace(translation[position]) && before.Length > 0 && MarkupText.IsSpace(before[^1]))
            {
                position++;
            }
        }

        var moved = true;
        while (moved)
        {
            moved = false;
            foreach (var placed in slot.Inner.Where(p => p.Start < position && position < p.End))
            {
                position = placed.End;
                moved = true;
            }
        }
        return position;
    }

    /// <summary>The nodes for a slot's stretch: its text, with what was placed inside, wrapped in its chain.</summary>
    public List<INode> Emit(Slot slot, IDocument document)
    {
        var nodes = new List<INode>();
        var cursor = slot.Start;
        foreach (var item in slot.Inner.OrderBy(i => i.Start).ThenBy(i => i.End - i.Start).ThenBy(i => i.Sequence))
        {
            if (item.Start > cursor)
            {
                nodes.Add(document.CreateTextNode(translation[cursor..item.Start]));
            }

            if (item.Atom is not null)
            {
                nodes.Add(item.Atom);
                if (item.SpaceAfter)
                {
                    nodes.Add(document.CreateTextNode(" "));
                }
            }
            else
            {
                var element = (IElement)item.Element!.Clone(deep: false);
                element.Append([.. Emit(item, document)]);
                nodes.Add(element);
            }
            cursor = Math.Max(cursor, item.End);
        }
        if (cursor < slot.End)
        {
            nodes.Add(document.CreateTextNode(translation[cursor..slot.End]));
        }

        for (var i = slot.Chain.Count - 1; i >= 0; i--)
        {
            var element = (IElement)slot.Chain[i].Clone(deep: false);
            element.Append([.. nodes]);
            nodes = [element];
        }
        return nodes;
    }
}
