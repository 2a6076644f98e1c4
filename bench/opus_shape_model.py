#!/usr/bin/python3
"""A randomly initialised Marian with Helsinki-NLP/opus-mt-en-zh's exact shapes (d_model 512, 6+6 layers, 8 heads,
FFN 2048, vocab 65,001), built and exported with models/training/, for load and speed figures at production size.

Usage: /usr/bin/python3 bench/opus_shape_model.py <out-dir>
Writes <out-dir>/folded (decoders exported with constant folding: the output projection as its own [512, 65001]
initializer, as a default torch/Optimum export writes it) and <out-dir>/unfolded (the projection as a Transpose of the
shared embedding, as export_onnx.py writes the embedded model). Same weights in both.
The vocab is the embedded model's, padded with filler pieces to 65,001 (<pad> stays last, as in opus-mt); generation
is capped at 64 tokens (max_length, the decoder start token included) so that random weights, which rarely emit
</s>, make both engines do the same bounded work."""
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.join(HERE, "..", "models", "training")
sys.path.insert(0, TRAINING)

import tokenizer_files  # noqa: E402
from export_onnx import export  # noqa: E402
from marian import Config, MarianMT  # noqa: E402

VOCAB = 65001
MAX_LENGTH = 64


def main():
    out = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    torch.manual_seed(11)
    embedded = os.path.join(HERE, "..", "models", "marian-tiny-en-zh")
    with open(os.path.join(embedded, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    pieces = [p for p, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if p != "<pad>"]
    pieces += [f"<filler_{i}>" for i in range(VOCAB - 1 - len(pieces))]
    padded = {p: i for i, p in enumerate(pieces + ["<pad>"])}
    assert len(padded) == VOCAB and padded["<pad>"] == VOCAB - 1
    config = Config(VOCAB, VOCAB - 1, d_model=512, encoder_layers=6, decoder_layers=6, heads=8, ffn_dim=2048)
    model = MarianMT(config)
    tokenizer_files.MAX_LENGTH = MAX_LENGTH
    for name, fold in (("folded", True), ("unfolded", False)):
        target = os.path.join(out, name)
        os.makedirs(target, exist_ok=True)
        for f in ("source.spm", "target.spm"):
            shutil.copy(os.path.join(embedded, f), os.path.join(target, f))
        with open(os.path.join(target, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(padded, f, ensure_ascii=False)
        export(model, config, target, "merged", fold_decoders=fold)
        tokenizer_files.write_model_files(target, config)
        print(f"exported {target}")


if __name__ == "__main__":
    main()
