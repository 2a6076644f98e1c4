namespace ServerlessInference.Engine.Onnx;

/// <summary>Walking a graph into its subgraphs (an If's branches), which may read the enclosing graph's values by name.</summary>
internal static class GraphWalk
{
    /// <summary>The graphs a node holds in its attributes, in attribute order.</summary>
    public static IEnumerable<GraphProto> Subgraphs(NodeProto node) =>
        node.Attribute.SelectMany(a => a.Graphs.Prepend(a.G)).OfType<GraphProto>();

    /// <summary>Every value name a node of the graph or of its subgraphs reads.</summary>
    public static IEnumerable<string> Reads(GraphProto graph) =>
        graph.Node.SelectMany(n => n.Input.Concat(Subgraphs(n).SelectMany(Reads)));
}
