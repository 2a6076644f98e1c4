namespace ServerlessInference.Engine.Onnx;

/// <summary>Clean-up after a graph rewrite (the split output projection, the quantizer).</summary>
internal static class GraphPruning
{
    /// <summary>Drops initializers that no node of the graph or of its subgraphs (an If's branches) reads any more:
    /// ONNX Runtime would otherwise keep them in memory and warn about them.</summary>
    public static void RemoveUnusedInitializers(GraphProto graph)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        void Collect(GraphProto g)
        {
            foreach (var node in g.Node)
            {
                used.UnionWith(node.Input);
                foreach (var sub in GraphWalk.Subgraphs(node))
                {
                    Collect(sub);
                }
            }

            used.UnionWith(g.Output.Select(o => o.Name));
        }

        Collect(graph);
        void Prune(GraphProto g)
        {
            foreach (var unused in g.Initializer.Where(t => !used.Contains(t.Name)).ToList())
            {
                g.Initializer.Remove(unused);
            }

            foreach (var sub in g.Node.SelectMany(GraphWalk.Subgraphs))
            {
                Prune(sub);
            }
        }

        Prune(graph);
    }
}
