#!/usr/bin/python3
"""Export a trained checkpoint to the Hugging Face Optimum / transformers.js layout.

Usage:
  /usr/bin/python3 models/training/export_onnx.py [--checkpoint models/training/checkpoints/final.pt]
        [--out models/marian-tiny-en-zh] [--layout merged|split]

merged (default): onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx (what transformers.js loads).
split: onnx/encoder_model.onnx + onnx/decoder_model.onnx + onnx/decoder_with_past_model.onnx (older Optimum exports).

torch 1.13 cannot export a decoder that branches on the cache, so the no-past and with-past decoders are exported
separately and joined under an ONNX `If` on `use_cache_branch`, each weight stored once in the outer graph.
Also writes config.json, generation_config.json and the tokenizer files (see tokenizer_files.py).
"""
import argparse
import hashlib
import json
import os
import shutil
import tempfile

import onnx
import onnx.numpy_helper
import torch
from onnx import TensorProto, helper

from marian import Config, MarianMT
from tokenizer_files import write_model_files

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 14


class EncoderWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model.encode(input_ids, attention_mask)


class DecoderWrapper(torch.nn.Module):
    """No-past decoder: returns logits and every layer's self- and cross-attention keys and values."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, encoder_attention_mask, encoder_hidden_states):
        logits, present = self.model.decode(input_ids, encoder_hidden_states, encoder_attention_mask)
        return (logits,) + tuple(t for layer in present for t in layer)


class DecoderWithPastWrapper(torch.nn.Module):
    """With-past decoder (one token a step): returns logits and the grown self-attention cache only; the
    cross-attention cache never changes after the first step (Optimum's convention)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, encoder_attention_mask, encoder_hidden_states, *past):
        layers = [past[i:i + 4] for i in range(0, len(past), 4)]
        logits, present = self.model.decode(input_ids, encoder_hidden_states, encoder_attention_mask,
                                            past=layers, causal=False)
        return (logits,) + tuple(t for layer in present for t in layer[:2])


def kv_names(prefix, n_layers, parts=("decoder", "encoder")):
    return [f"{prefix}.{i}.{part}.{kind}" for i in range(n_layers) for part in parts for kind in ("key", "value")]


def export(model, config, out_dir, layout, fold_decoders=False):
    model.eval()
    L, H, Dh = config.decoder_layers, config.decoder_heads, config.d_model // config.decoder_heads
    b, s, t = 2, 7, 3
    ids = torch.randint(2, config.vocab_size - 1, (b, s))
    mask = torch.ones(b, s, dtype=torch.long)
    mask[1, 5:] = 0
    enc_wrapper = EncoderWrapper(model).eval()
    enc = enc_wrapper(ids, mask)
    onnx_dir = os.path.join(out_dir, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    enc_axes = {0: "batch_size", 1: "encoder_sequence_length"}
    torch.onnx.export(enc_wrapper, (ids, mask), os.path.join(onnx_dir, "encoder_model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                      dynamic_axes={"input_ids": enc_axes, "attention_mask": enc_axes, "last_hidden_state": enc_axes},
                      opset_version=OPSET, do_constant_folding=True)

    dec_ids = torch.randint(2, config.vocab_size - 1, (b, t))
    common_axes = {
        "input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
        "encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
        "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
        "logits": {0: "batch_size", 1: "decoder_sequence_length"},
    }
    # No constant folding in the decoders by default: it would store the lm_head's transposed copy of the shared
    # embedding (8 MB) beside the embedding; ONNX Runtime folds that Transpose in memory when it loads the session.
    # fold_decoders=True writes it as a default torch/Optimum export does (the projection as its own initializer).
    tmp = tempfile.mkdtemp()
    no_past_path = os.path.join(tmp, "decoder_model.onnx")
    present_all = kv_names("present", L)
    axes = dict(common_axes)
    for name in present_all:
        axes[name] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in name
                      else "past_decoder_sequence_length + 1"}
    dec_wrapper = DecoderWrapper(model).eval()
    torch.onnx.export(dec_wrapper, (dec_ids, mask, enc), no_past_path,
                      input_names=["input_ids", "encoder_attention_mask", "encoder_hidden_states"],
                      output_names=["logits"] + present_all, dynamic_axes=axes,
                      opset_version=OPSET, do_constant_folding=fold_decoders)

    with torch.no_grad():
        outs = dec_wrapper(dec_ids, mask, enc)
    past = outs[1:]
    with_past_path = os.path.join(tmp, "decoder_with_past_model.onnx")
    past_names = kv_names("past_key_values", L)
    present_dec = kv_names("present", L, parts=("decoder",))
    axes = dict(common_axes)
    axes["input_ids"] = {0: "batch_size"}
    axes["logits"] = {0: "batch_size"}
    for name in past_names:
        axes[name] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in name
                      else "past_decoder_sequence_length"}
    for name in present_dec:
        axes[name] = {0: "batch_size", 2: "past_decoder_sequence_length + 1"}
    past_wrapper = DecoderWithPastWrapper(model).eval()
    torch.onnx.export(past_wrapper, (dec_ids[:, :1], mask, enc) + tuple(past), with_past_path,
                      input_names=["input_ids", "encoder_attention_mask", "encoder_hidden_states"] + past_names,
                      output_names=["logits"] + present_dec, dynamic_axes=axes,
                      opset_version=OPSET, do_constant_folding=fold_decoders)

    for stale in ("decoder_model.onnx", "decoder_with_past_model.onnx", "decoder_model_merged.onnx"):
        if os.path.exists(os.path.join(onnx_dir, stale)):
            os.remove(os.path.join(onnx_dir, stale))
    if layout == "split":
        shutil.move(no_past_path, os.path.join(onnx_dir, "decoder_model.onnx"))
        shutil.move(with_past_path, os.path.join(onnx_dir, "decoder_with_past_model.onnx"))
    else:
        merged = merge_decoders(onnx.load(no_past_path), onnx.load(with_past_path), L, H, Dh, config.vocab_size)
        onnx.save(merged, os.path.join(onnx_dir, "decoder_model_merged.onnx"))
    shutil.rmtree(tmp)


def merge_decoders(no_past, with_past, L, H, Dh, vocab):
    """Join the two decoders under If(use_cache_branch); identical weights are stored once in the outer graph."""
    shared, canonical = {}, {}
    for tag, model in (("no_past", no_past), ("with_past", with_past)):
        for init in model.graph.initializer:
            data = onnx.numpy_helper.to_array(init)
            key = hashlib.sha256(data.tobytes() + str((data.dtype, data.shape)).encode()).hexdigest()
            if key not in shared:
                copy = onnx.numpy_helper.from_array(data, name=f"w{len(shared)}_{init.name}".replace("::", "_"))
                shared[key] = copy
            canonical[(tag, init.name)] = shared[key].name

    outer_inputs = ["input_ids", "encoder_attention_mask", "encoder_hidden_states"] + kv_names("past_key_values", L)

    def branch(model, tag, out_names):
        rename = {}
        for init in model.graph.initializer:
            rename[init.name] = canonical[(tag, init.name)]
        for name in outer_inputs:
            rename[name] = name

        def r(name):
            if name == "":
                return name
            if name not in rename:
                rename[name] = f"{tag}/{name}"
            return rename[name]

        nodes = []
        for node in model.graph.node:
            n = onnx.NodeProto()
            n.CopyFrom(node)
            n.name = f"{tag}/{node.name}"
            del n.input[:]
            del n.output[:]
            n.input.extend(r(x) for x in node.input)
            n.output.extend(r(x) for x in node.output)
            nodes.append(n)
        produced = {o.name: r(o.name) for o in model.graph.output}
        outputs = []
        for name in out_names:
            if name in produced:
                value = produced[name]
            else:
                # with-past: the cross-attention cache passes through unchanged.
                value = f"{tag}/{name}"
                nodes.append(helper.make_node("Identity", [name.replace("present", "past_key_values")], [value],
                                              name=f"{tag}/passthrough/{name}"))
            outputs.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, None))
        return helper.make_graph(nodes, f"{tag}_branch", [], outputs)

    out_names = ["logits"] + kv_names("present", L)
    then_branch = branch(with_past, "with_past", out_names)
    else_branch = branch(no_past, "no_past", out_names)
    if_node = helper.make_node("If", ["use_cache_branch"], out_names, name="optimum::if",
                               then_branch=then_branch, else_branch=else_branch)

    def vi(name, elem, dims):
        return helper.make_tensor_value_info(name, elem, dims)

    inputs = [
        vi("input_ids", TensorProto.INT64, ["batch_size", "decoder_sequence_length"]),
        vi("encoder_attention_mask", TensorProto.INT64, ["batch_size", "encoder_sequence_length"]),
        vi("encoder_hidden_states", TensorProto.FLOAT, ["batch_size", "encoder_sequence_length", H * Dh]),
    ]
    for name in kv_names("past_key_values", L):
        seq = "encoder_sequence_length_out" if ".encoder." in name else "past_decoder_sequence_length"
        inputs.append(vi(name, TensorProto.FLOAT, ["batch_size", H, seq, Dh]))
    inputs.append(vi("use_cache_branch", TensorProto.BOOL, [1]))
    outputs = [vi("logits", TensorProto.FLOAT, ["batch_size", "decoder_sequence_length", vocab])]
    for name in kv_names("present", L):
        seq = "encoder_sequence_length_out" if ".encoder." in name else "past_decoder_sequence_length + 1"
        outputs.append(vi(name, TensorProto.FLOAT, ["batch_size", H, seq, Dh]))
    graph = helper.make_graph([if_node], "merged_decoder", inputs, outputs, initializer=list(shared.values()))
    merged = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="marian-tiny")
    merged.ir_version = no_past.ir_version
    onnx.checker.check_model(merged)
    return merged


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "final.pt"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "marian-tiny-en-zh"))
    ap.add_argument("--layout", choices=["merged", "split"], default="merged")
    ap.add_argument("--tokenizer-from", default=os.path.join(HERE, "..", "marian-tiny-en-zh"),
                    help="folder with source.spm, target.spm and vocab.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    ckpt = torch.load(args.checkpoint)
    state = ckpt["state_dict"] if "state_dict" in ckpt else ckpt
    if "config" in ckpt:
        config = Config(**ckpt["config"])
    else:  # a per-epoch checkpoint of train.py's default architecture
        with open(os.path.join(args.tokenizer_from, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        config = Config(len(vocab), vocab["<pad>"])
    model = MarianMT(config)
    model.load_state_dict(state)
    os.makedirs(args.out, exist_ok=True)
    if os.path.abspath(args.tokenizer_from) != os.path.abspath(args.out):
        for f in ("source.spm", "target.spm", "vocab.json"):
            shutil.copy(os.path.join(args.tokenizer_from, f), os.path.join(args.out, f))
    export(model, config, args.out, args.layout)
    write_model_files(args.out, config)
    print(f"exported {args.layout} to {args.out}")


if __name__ == "__main__":
    main()
