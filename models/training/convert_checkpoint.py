#!/usr/bin/python3
"""Converts a Hugging Face Marian checkpoint folder (what Helsinki-NLP/opus-mt-* hold: config.json,
pytorch_model.bin or model.safetensors, source.spm, target.spm, vocab.json, generation_config.json,
tokenizer_config.json) into the folder the app serves, in the Optimum / transformers.js layout:
onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx, config.json, generation_config.json, tokenizer.json,
tokenizer_config.json, special_tokens_map.json, the spm files and vocab.json.

Usage:
  /usr/bin/python3 models/training/convert_checkpoint.py <checkpoint-dir> <out-dir> [--weights FILE] [--layout merged|split]

Needs only Debian's python3-torch, python3-onnx, python3-sentencepiece and python3-numpy (no transformers, no
Optimum). The architecture comes from the checkpoint's own config.json, with MarianConfig's defaults for keys it
lacks; the weights are loaded by name into marian.py (MarianMTModel's parameter names) and exported by
export_onnx.py. Whatever cannot be converted faithfully is refused with a message saying why, before anything is
written: another model_type, weights missing or of the wrong shape, weights the model has no place for, an
activation or layer layout marian.py does not implement, a separate target vocabulary.

model.safetensors is preferred when both weight files are present (it needs no unpickling); --weights picks one.
"""
import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SHARDED = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


class ConversionError(Exception):
    """A checkpoint this converter refuses; the message says why and what would be needed."""


def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConversionError(f"{what} not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ConversionError(f"{path} is not valid JSON: {e}") from None


def model_config(hf):
    """marian.Config from a config.json, refusing what marian.py does not implement. Defaults are MarianConfig's."""
    from marian import ACTIVATIONS, Config

    model_type = hf.get("model_type")
    if model_type != "marian":
        raise ConversionError(f"config.json has model_type {model_type!r}; only Marian checkpoints (model_type "
                              "'marian', MarianMTModel) can be converted")
    architectures = hf.get("architectures") or ["MarianMTModel"]
    if "MarianMTModel" not in architectures:
        raise ConversionError(f"config.json's architectures are {architectures}; only MarianMTModel (an encoder-"
                              "decoder with an lm_head) can be converted")
    activation = hf.get("activation_function", "gelu")
    if activation not in ACTIVATIONS:
        raise ConversionError(f"activation_function {activation!r} is not one this converter implements "
                              f"({', '.join(sorted(ACTIVATIONS))})")
    for key, meaning in (("normalize_before", "pre-norm layers"), ("add_final_layer_norm", "a final layer norm"),
                         ("normalize_embedding", "a layer norm on the embeddings"),
                         ("add_bias_logits", "a bias on the logits besides final_logits_bias")):
        if hf.get(key):
            raise ConversionError(f"config.json sets {key} (true: {meaning}); Marian's post-norm layout without it "
                                  "is the only one this converter implements")
    # static_position_embeddings is not read: transformers' MarianMTModel always builds the sinusoidal table (and
    # loads a stored one over it), and so does build_model.
    vocab_size = hf.get("vocab_size", 50265)
    decoder_vocab = hf.get("decoder_vocab_size") or vocab_size
    if decoder_vocab != vocab_size:
        raise ConversionError(f"decoder_vocab_size {decoder_vocab} differs from vocab_size {vocab_size}: a separate "
                              "target vocabulary (target_vocab.json), which the app's tokenizer (one vocab.json for "
                              "both sides) cannot serve")
    d_model = hf.get("d_model", 1024)
    heads = {side: hf.get(f"{side}_attention_heads", 16) for side in ("encoder", "decoder")}
    for side, n in heads.items():
        if n <= 0 or d_model % n:
            raise ConversionError(f"d_model {d_model} is not divisible by {side}_attention_heads {n}")
    pad = hf.get("pad_token_id", 58100)
    if pad is None or not 0 <= pad < vocab_size:
        raise ConversionError(f"pad_token_id {pad} is not an id of the {vocab_size}-token vocabulary")
    return Config(vocab_size, pad, d_model=d_model,
                  encoder_layers=hf.get("encoder_layers", 12), decoder_layers=hf.get("decoder_layers", 12),
                  heads=heads["decoder"], ffn_dim=hf.get("decoder_ffn_dim", 4096),
                  encoder_heads=heads["encoder"], decoder_heads=heads["decoder"],
                  encoder_ffn_dim=hf.get("encoder_ffn_dim", 4096), decoder_ffn_dim=hf.get("decoder_ffn_dim", 4096),
                  max_position_embeddings=hf.get("max_position_embeddings", 1024), dropout=0.0,
                  activation=activation, scale_embedding=bool(hf.get("scale_embedding", False)),
                  share_embeddings=bool(hf.get("share_encoder_decoder_embeddings", True)),
                  tie_word_embeddings=bool(hf.get("tie_word_embeddings", True)))


def load_weights(checkpoint_dir, weights=None):
    """name -> float32 tensor from model.safetensors or pytorch_model.bin."""
    import torch

    import safetensors_io

    if weights is None:
        for name in WEIGHT_FILES:
            if os.path.exists(os.path.join(checkpoint_dir, name)):
                weights = os.path.join(checkpoint_dir, name)
                break
        else:
            sharded = [n for n in SHARDED if os.path.exists(os.path.join(checkpoint_dir, n))]
            if sharded:
                raise ConversionError(f"{checkpoint_dir} holds sharded weights ({sharded[0]}); merge them into one "
                                      "file first")
            present = sorted(os.listdir(checkpoint_dir))
            raise ConversionError(f"no PyTorch weights in {checkpoint_dir}: expected {' or '.join(WEIGHT_FILES)} "
                                  f"(found {', '.join(present) or 'nothing'}; TensorFlow/Flax/Rust weights are "
                                  "not read)")
    if not os.path.exists(weights):
        raise ConversionError(f"weights file not found: {weights}")
    if weights.endswith(".safetensors"):
        try:
            state = safetensors_io.load(weights)
        except (safetensors_io.SafetensorsError, KeyError, TypeError, ValueError) as e:
            raise ConversionError(f"cannot read {weights}: {e}") from None
    else:
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unpickling failure is reported the same way
            raise ConversionError(f"cannot read {weights} as a PyTorch state dict: {e}") from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise ConversionError(f"{weights} does not hold a name -> tensor state dict")
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, weights


def _same(a, b):
    import torch

    return a.shape == b.shape and torch.equal(a, b)


def build_model(config, state):
    """A marian.MarianMT holding the checkpoint's weights, every parameter accounted for.

    transformers writes tied weights once or several times depending on its version (model.shared, the two
    embed_tokens and lm_head), leaves the sinusoidal position tables out since 4.x and final_logits_bias out when
    it is zero; each is taken from whichever name holds it, and computed or zero where transformers would."""
    import torch

    from marian import MarianMT, sinusoidal

    model = MarianMT(config)
    target = model.state_dict()
    groups = []  # names that are one tensor in MarianMTModel
    if config.share_embeddings:
        shared = ["model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"]
        groups.append(shared + (["lm_head.weight"] if config.tie_word_embeddings else []))
    elif config.tie_word_embeddings:
        groups.append(["model.decoder.embed_tokens.weight", "lm_head.weight"])
    grouped = {name for g in groups for name in g}
    groups += [[name] for name in target if name not in grouped]

    loaded, problems = {}, []
    expected_names = set(target) | ({"model.shared.weight"} if config.share_embeddings else set())
    unused = sorted(set(state) - expected_names)
    if unused:
        problems.append(f"weights the configured model has no place for: {', '.join(unused[:8])}"
                        + (f" and {len(unused) - 8} more" if len(unused) > 8 else "")
                        + " (does config.json describe this checkpoint?)")
    for group in groups:
        present = [(name, state[name]) for name in group if name in state]
        want = target[group[0]].shape
        for name, tensor in present:
            if tuple(tensor.shape) != tuple(want):
                problems.append(f"{name} has shape {list(tensor.shape)}, config.json implies {list(want)}")
        present = [(n, t) for n, t in present if tuple(t.shape) == tuple(want)]
        if len(present) > 1 and not all(_same(present[0][1], t) for _, t in present[1:]):
            problems.append(f"{', '.join(n for n, _ in present)} are one tied tensor in MarianMTModel but differ "
                            "in the checkpoint")
        name = group[0]
        if present:
            value = present[0][1]
        elif name == "final_logits_bias":
            value = torch.zeros(want)
        elif name.endswith("embed_positions.weight"):
            # MarianSinusoidalPositionalEmbedding's table: not saved by transformers 4.x, computed at load.
            value = sinusoidal(*want)
        else:
            problems.append(f"missing weight {' / '.join(group)}")
            continue
        for member in group:
            if member in target:
                loaded[member] = value
    if problems:
        raise ConversionError("the weights do not fit config.json:\n  " + "\n  ".join(problems))
    model.load_state_dict(loaded, strict=True)
    model.eval()
    return model


def tokenizer_files(checkpoint_dir, out_dir, config):
    """Copies the spm files and vocab.json, writes tokenizer.json, tokenizer_config.json, special_tokens_map.json.
    Everything is checked before anything is written."""
    import tokenizer_files as tf

    for name in ("source.spm", "target.spm", "vocab.json"):
        if not os.path.exists(os.path.join(checkpoint_dir, name)):
            raise ConversionError(f"{name} not found in {checkpoint_dir}; the app tokenises with source.spm, "
                                  "target.spm and vocab.json")
    original = {}
    if os.path.exists(os.path.join(checkpoint_dir, "tokenizer_config.json")):
        original = _read_json(os.path.join(checkpoint_dir, "tokenizer_config.json"), "tokenizer_config.json")
    if original.get("separate_vocabs") or os.path.exists(os.path.join(checkpoint_dir, "target_vocab.json")):
        raise ConversionError("the checkpoint has a separate target vocabulary (separate_vocabs / target_vocab.json), "
                              "which the app's tokenizer (one vocab.json for both sides) cannot serve")
    vocab = _read_json(os.path.join(checkpoint_dir, "vocab.json"), "vocab.json")
    for special in ("</s>", "<unk>", "<pad>"):
        if special not in vocab:
            raise ConversionError(f"vocab.json has no {special}; Marian vocabularies hold </s>, <unk> and <pad>")
    if len(vocab) != config.vocab_size or sorted(vocab.values()) != list(range(len(vocab))):
        raise ConversionError(f"vocab.json holds {len(vocab)} pieces (ids {min(vocab.values())}..{max(vocab.values())})"
                              f", config.json's vocab_size is {config.vocab_size}: they must number the same ids")
    if vocab["<pad>"] != config.pad_token_id:
        raise ConversionError(f"vocab.json's <pad> is {vocab['<pad>']}, config.json's pad_token_id "
                              f"{config.pad_token_id}")
    try:
        tokenizer = tf.tokenizer_json(checkpoint_dir, vocab)
    except ValueError as e:
        raise ConversionError(f"cannot build tokenizer.json: {e}") from None

    os.makedirs(out_dir, exist_ok=True)
    for name in ("source.spm", "target.spm", "vocab.json"):
        src = os.path.join(checkpoint_dir, name)
        if os.path.abspath(src) != os.path.abspath(os.path.join(out_dir, name)):
            shutil.copy(src, os.path.join(out_dir, name))
    tf._dump(os.path.join(out_dir, "tokenizer.json"), tokenizer)
    # opus-mt's own tokenizer_config.json holds only the language pair; transformers fills the rest from
    # MarianTokenizer's defaults, which are written out here for transformers.js.
    merged = {"tokenizer_class": "MarianTokenizer", "model_max_length": 512, "eos_token": "</s>",
              "unk_token": "<unk>", "pad_token": "<pad>", "separate_vocabs": False, "sp_model_kwargs": {},
              "clean_up_tokenization_spaces": False}
    merged.update(original)
    tf._dump(os.path.join(out_dir, "tokenizer_config.json"), merged)
    special = os.path.join(checkpoint_dir, "special_tokens_map.json")
    if os.path.exists(special):
        if os.path.abspath(special) != os.path.abspath(os.path.join(out_dir, "special_tokens_map.json")):
            shutil.copy(special, os.path.join(out_dir, "special_tokens_map.json"))
    else:
        tf._dump(os.path.join(out_dir, "special_tokens_map.json"),
                 {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})


GENERATION_KEYS = ("bad_words_ids", "bos_token_id", "decoder_start_token_id", "eos_token_id", "forced_eos_token_id",
                   "max_length", "num_beams", "pad_token_id", "renormalize_logits", "length_penalty",
                   "early_stopping", "no_repeat_ngram_size", "repetition_penalty", "min_length")


def config_files(checkpoint_dir, out_dir, hf):
    """config.json as it is; generation_config.json as it is, or (older checkpoints) from config.json's generation
    keys, as transformers' GenerationConfig.from_model_config does."""
    for name in ("config.json", "generation_config.json"):
        src = os.path.join(checkpoint_dir, name)
        if os.path.exists(src) and os.path.abspath(src) != os.path.abspath(os.path.join(out_dir, name)):
            shutil.copy(src, os.path.join(out_dir, name))
    if not os.path.exists(os.path.join(checkpoint_dir, "generation_config.json")):
        import tokenizer_files as tf

        tf._dump(os.path.join(out_dir, "generation_config.json"),
                 {k: hf[k] for k in GENERATION_KEYS if k in hf})


def convert(checkpoint_dir, out_dir, weights=None, layout="merged", log=print):
    import torch

    from export_onnx import export

    hf = _read_json(os.path.join(checkpoint_dir, "config.json"), "config.json")
    config = model_config(hf)
    state, weights = load_weights(checkpoint_dir, weights)
    model = build_model(config, state)
    del state
    log(f"{os.path.basename(weights)}: d_model {config.d_model}, {config.encoder_layers}+{config.decoder_layers} "
        f"layers, heads {config.encoder_heads}/{config.decoder_heads}, FFN {config.encoder_ffn_dim}/"
        f"{config.decoder_ffn_dim}, vocab {config.vocab_size}, {config.activation}, scale_embedding "
        f"{config.scale_embedding}, shared embeddings {config.share_embeddings}, tied lm_head "
        f"{config.tie_word_embeddings}")
    # Tokenizer checks first: they can refuse the folder, and cost seconds where the export costs minutes.
    tokenizer_files(checkpoint_dir, out_dir, config)
    config_files(checkpoint_dir, out_dir, hf)
    torch.manual_seed(0)  # export's example inputs are random; fixed, so that reruns write the same graphs
    with torch.no_grad():
        export(model, config, out_dir, layout)
    log(f"wrote {layout} ONNX and tokenizer files to {out_dir}")
    return model, config


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="the Hugging Face checkpoint folder")
    ap.add_argument("out", help="the model folder to write (may be the checkpoint folder itself)")
    ap.add_argument("--weights", help="the weights file to read (default: model.safetensors, else pytorch_model.bin)")
    ap.add_argument("--layout", choices=["merged", "split"], default="merged",
                    help="merged: decoder_model_merged.onnx (default); split: decoder_model.onnx + "
                         "decoder_with_past_model.onnx")
    args = ap.parse_args()
    try:
        import onnx  # noqa: F401
        import sentencepiece  # noqa: F401
        import torch
    except ImportError as e:
        print(f"convert_checkpoint: {e.name} is missing: apt-get install -y python3-torch python3-onnx "
              "python3-sentencepiece python3-numpy, and run with /usr/bin/python3", file=sys.stderr)
        return 2
    torch.set_num_threads(min(4, max(1, os.cpu_count() or 1)))
    try:
        convert(args.checkpoint, args.out, args.weights, args.layout)
    except ConversionError as e:
        print(f"convert_checkpoint: cannot convert {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
