#!/usr/bin/python3
"""A micro model whose vocab holds target-language tokens (>>cmn_Hans<< ...), as multi-target opus-mt models'
vocabs do, for the tests of the language-token rule and of the targetLanguage API field. Ids matter, not quality:
the weights are random (fixed seed), the SentencePiece models small and trained on the committed dev and test
splits, so the folder is small and rebuilt in seconds.

Usage: /usr/bin/python3 models/training/language_fixture.py [--out Engine.Tests/Fixtures/marian-micro-languages]
"""
import argparse
import json
import os
import shutil
import tempfile

import sentencepiece as spm
import torch

from export_onnx import export
from marian import Config, MarianMT
from prepare import train_spm
from tokenizer_files import write_model_files

HERE = os.path.dirname(os.path.abspath(__file__))
# opus-mt-en-zh's codes are of this form; two share a prefix (cmn, cmn_Hans) on purpose.
LANGUAGES = ["cmn", "cmn_Hans", "cmn_Hant", "yue_Hans", "yue_Hant", "lzh"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "Engine.Tests", "Fixtures",
                                                  "marian-micro-languages"))
    args = ap.parse_args()
    torch.manual_seed(20261126)
    torch.set_num_threads(2)
    rows = []
    for name in ("dev.tsv", "test.tsv"):
        with open(os.path.join(HERE, "data", name), encoding="utf-8") as f:
            rows += [line.rstrip("\n").split("\t")[:2] for line in f if line.strip()]
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # The target side needs a piece per Chinese character of the data.
        for side, index, normalization, size in (("source", 0, "nmt_nfkc", 400), ("target", 1, "identity", 1400)):
            prefix = os.path.join(tmp, side)
            train_spm([r[index] for r in rows], prefix, normalization, size)
            shutil.copy(prefix + ".model", os.path.join(args.out, side + ".spm"))
    # Laid out as prepare.py does, the language tokens after the target pieces, before <pad>.
    vocab = {"</s>": 0, "<unk>": 1}
    for side in ("source", "target"):
        sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, side + ".spm"))
        for i in range(sp.get_piece_size()):
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    for code in LANGUAGES:
        vocab[f">>{code}<<"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=2)
    config = Config(len(vocab), vocab["<pad>"], d_model=16, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=32,
                    max_position_embeddings=128)
    model = MarianMT(config)
    export(model, config, args.out, "merged")
    write_model_files(args.out, config)
    print(f"wrote {args.out}: vocab {len(vocab)}, languages {LANGUAGES}")


if __name__ == "__main__":
    main()
