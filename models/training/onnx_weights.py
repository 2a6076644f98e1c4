#!/usr/bin/python3
"""marian.py's MarianMT with the weights read back from a model folder's ONNX export, for references that need the
PyTorch model when the training checkpoint (checkpoints/final.pt, git-ignored) is not at hand.

Named initializers (model.shared.weight, positions, biases, layer norms; the merged decoder prefixes them "w<N>_")
map to the state dict by name. torch constant-folds Linear weights into transposed MatMul initializers (onnx::MatMul_N);
those are found through the MatMul node's name (/layers.3/self_attn/q_proj/MatMul) or, when unnamed, through the bias
of the Add that follows. The same approach as /work/shared/ctranslate2/marian_to_ct2.py (state_from_onnx), reduced to
what the project's exports hold. Every key marian.py expects must be found, and duplicates must agree.
"""
import json
import os
import re

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from marian import Config, MarianMT

_MATMUL = re.compile(r"(?:^|/)((?:layers\.\d+/(?:(?:self_attn|encoder_attn)/(?:q|k|v|out)_proj|fc1|fc2))|lm_head)"
                     r"/MatMul(?:_\d+)?$")


def _walk(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _walk(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _walk(g)


def state_from_onnx(model_dir):
    sd = {}

    def put(key, arr):
        if key in sd and not np.array_equal(sd[key], arr):
            raise SystemExit(f"{key}: two different tensors in the ONNX export")
        sd.setdefault(key, arr.copy())

    for stack, fname in (("encoder", "encoder_model.onnx"), ("decoder", "decoder_model_merged.onnx")):
        g = onnx.load(os.path.join(model_dir, "onnx", fname)).graph
        inits = {i.name: i for i in g.initializer}
        for name, init in inits.items():
            key = re.sub(r"^w\d+_", "", name)
            if key.startswith("model."):  # the export wraps MarianMT once more: model.model.encoder... -> model.encoder...
                put(key[len("model."):], numpy_helper.to_array(init))
        nodes = list(_walk(g))
        consumers = {}
        for node in nodes:
            for i in node.input:
                consumers.setdefault(i, []).append(node)
        for node in nodes:
            if node.op_type != "MatMul" or len(node.input) < 2 or node.input[1] not in inits:
                continue
            w = node.input[1]
            if re.sub(r"^w\d+_", "", w).startswith("model."):
                continue
            m = _MATMUL.search(node.name)
            if m:
                path = m.group(1).replace("/", ".")
                key = "lm_head.weight" if path == "lm_head" else f"model.{stack}.{path}.weight"
            else:
                adds = [n for n in consumers.get(node.output[0], []) if n.op_type == "Add"]
                bias = [i for a in adds for i in a.input if i in inits and i.endswith(".bias")]
                if len(bias) != 1:
                    raise SystemExit(f"{fname}: cannot tell which Linear the MatMul {node.name!r} belongs to")
                key = re.sub(r"^w\d+_", "", bias[0])[len("model."):-len(".bias")] + ".weight"
            put(key, numpy_helper.to_array(inits[w]).T)
    return sd


def load_model(model_dir):
    """MarianMT (eval mode) with the folder's ONNX weights; lm_head must be tied to the shared embedding."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    model = MarianMT(Config(c["vocab_size"], c["pad_token_id"], d_model=c["d_model"],
                            encoder_layers=c["encoder_layers"], decoder_layers=c["decoder_layers"],
                            heads=c["encoder_attention_heads"], ffn_dim=c["encoder_ffn_dim"],
                            max_position_embeddings=c["max_position_embeddings"]))
    sd = state_from_onnx(model_dir)
    lm = sd.pop("lm_head.weight", None)
    if lm is not None and not np.array_equal(lm, sd["model.shared.weight"]):
        raise SystemExit("lm_head differs from model.shared.weight: marian.py ties them")
    state = {k: torch.from_numpy(v) for k, v in sd.items()}
    for k in ("lm_head.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"):
        state.setdefault(k, state["model.shared.weight"])
    expected = set(model.state_dict().keys())
    missing = sorted(expected - state.keys())
    unexpected = sorted(state.keys() - expected)
    if missing or unexpected:
        raise SystemExit(f"ONNX weights do not fit marian.py: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.load_state_dict(state)
    model.eval()
    return model
