using System.Text;
using AngleSharp.Dom;

namespace ServerlessInference.Markup;

/// <summary>A run of inline content (sibling nodes in one block) translated as one segment, and put back around its
/// translation (the placement rules are <see cref="MarkupDocument"/>'s).</summary>
internal sealed class InlineRun
{
    private readonly INode[] _nodes;
    private readonly List<Piece> _pieces;
    private readonly string _raw;
    private readonly string _text;
    private readonly int _segment;

    private InlineRun(INode[] nodes, List<Piece> pieces, string raw, int segment)
    {
        _nodes = nodes;
        _pieces = pieces;
        _raw = raw;
        _text = MarkupText.Collapse(raw);
        _segment = segment;
    }

    /// <returns>Null when the run has no words to translate (only whitespace, atoms and comments); it is then left
    /// as it is, attributes apart.</returns>
    public static InlineRun? Create(INode[] nodes, MarkupRules rules, Func<string, int> segment, Action<IElement> attributes)
    {
        var raw = new StringBuilder();
        var pieces = nodes.Select(n => Build(n, rules, raw, attributes)).ToList();
        if (!pieces.Any(HasWords))
        {
            return null;
        }

        var run = new InlineRun(nodes, pieces, raw.ToString(), segment(MarkupText.Collapse(raw.ToString())));
        foreach (var wrapper in pieces.SelectMany(Wrappers))
        {
            var parentText = wrapper.Parent?.Text ?? run._text;
            if (wrapper.Text != parentText)
            {
                wrapper.Segment = segment(wrapper.Text);
            }
        }
        return run;
    }

    private static IEnumerable<WrapperPiece> Wrappers(Piece piece) => piece is WrapperPiece wrapper
        ? wrapper.Children.SelectMany(Wrappers).Prepend(wrapper)
        : [];

    private static bool HasWords(Piece piece) => piece switch
    {
        TextPiece text => !MarkupText.IsBlank(text.Node.TextContent),
        WrapperPiece wrapper => wrapper.Children.Any(HasWords),
        _ => false,
    };

    private static Piece Build(INode node, MarkupRules rules, StringBuilder raw, Action<IElement> attributes, WrapperPiece? parent = null)
    {
        var start = raw.Length;
        Piece piece;
        if (node is IElement element && !rules.IsUntouched(element) && !rules.IsVoid(element))
        {
            attributes(element);
            var wrapper = new WrapperPiece(element, parent);
            foreach (var child in element.ChildNodes)
            {
                wrapper.Children.Add(Build(child, rules, raw, attributes, wrapper));
            }
            wrapper.Text = MarkupText.Collapse(raw.ToString(start, raw.Length - start));
            // A wrapper without words of its own (a link around an image or a code span) is kept whole, as an atom.
            piece = wrapper.Children.Any(HasWords) ? wrapper : new AtomPiece(node, wrapper.Text);
        }
        else if (node is IElement atom)
        {
            if (!rules.IsUntouched(atom))
            {
                CollectAll(atom, rules, attributes);
            }

            var spoken = rules.IsUntouched(atom) ? rules.SpokenText(atom) : "";
            raw.Append(spoken);
            piece = new AtomPiece(node, MarkupText.Collapse(spoken));
        }
        else if (node.NodeType == NodeType.Text)
        {
            raw.Append(node.TextContent);
            piece = new TextPiece(node);
        }
        else
        {
            piece = new AtomPiece(node, "");
        }
        piece.SourceStart = start;
        piece.SourceEnd = raw.Length;
        return piece;
    }

    /// <summary>Attributes of a void element and what it holds (a picture's img).</summary>
    private static void CollectAll(IElement element, MarkupRules rules, Action<IElement> attributes)
    {
        attributes(element);
        foreach (var child in element.Children.Where(c => !rules.IsUntouched(c)))
        {
            CollectAll(child, rules, attributes);
        }
    }

    /// <summary>Puts the run's translation (and its inline tags) in place of its nodes.</summary>
    public void Replace(IReadOnlyList<string> translations)
    {
        var parent = _nodes[0].Parent!;
        var next = _nodes[^1].NextSibling;
        var document = _nodes[0].Owner!;
        // Detached first: placing an atom inside a new tag moves it, and a moved node can no longer be removed here.
        foreach (var node in _nodes)
        {
            parent.RemoveChild(node);
        }

        var translation = MarkupText.Collapse(translations[_segment]);
        var placement = new Placement(translation, _raw, translations);
        var root = placement.Place(_pieces, _text);
        var nodes = new List<INode>();
        var leading = MarkupText.LeadingSpace(_raw);
        if (leading > 0)
        {
            nodes.Add(document.CreateTextNode(_raw[..leading]));
        }

        nodes.AddRange(placement.Emit(root, document));
        var trailing = MarkupText.TrailingSpace(_raw);
        if (trailing > 0 && trailing < _raw.Length)
        {
            nodes.Add(document.CreateTextNode(_raw[^trailing..]));
        }

        foreach (var node in nodes)
        {
            parent.InsertBefore(node, next);
        }
    }

    internal abstract class Piece
    {
        public int SourceStart { get; set; }
        public int SourceEnd { get; set; }
    }

    internal sealed class TextPiece(INode node) : Piece
    {
        public INode Node { get; } = node;
    }

    /// <summary>A node kept as it is; <see cref="Spoken"/> is the text it contributes to the sentence.</summary>
    internal sealed class AtomPiece(INode node, string spoken) : Piece
    {
        public INode Node { get; } = node;
        public string Spoken { get; } = spoken;
    }

    internal sealed class WrapperPiece(IElement element, WrapperPiece? parent) : Piece
    {
        public IElement Element { get; } = element;
        public WrapperPiece? Parent { get; } = parent;
        public List<Piece> Children { get; } = [];
        public string Text { get; set; } = "";

        /// <summary>The segment of its own text; -1 when that is its parent's (it then takes the parent's place).</summary>
        public int Segment { get; set; } = -1;
    }
}
