#!/usr/bin/python3
"""Adds to each line of a JSONL file of {"text", ...} the ids MarianTokenizer gives the text: spm_encode's pieces
(the SentencePiece library, the same code as the spm_encode tool) looked up in vocab.json, unknown pieces as <unk>,
</s> appended. With a leading target-language token the vocab holds, that token's id comes first and the rest of
the text is encoded on its own.

Usage: /usr/bin/python3 models/training/spm_ids.py <modelDir> <in.jsonl> <out.jsonl>
"""
import json
import os
import re
import sys

import sentencepiece as spm

from tokenizer_files import language_codes


def encoder(model_dir):
    """A function text -> MarianTokenizer's ids for the model folder."""
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "source.spm"))
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    codes = language_codes(vocab)
    leading = re.compile(r"\s*(" + "|".join(map(re.escape, codes)) + r")\s*") if codes else None

    def encode(text):
        prefix = []
        # The code is looked for in normalised text, as tokenizer.json does; spm's normalisation leaves the
        # ASCII of a code and the spaces around it as they are, so the raw text serves here.
        match = leading.match(text) if leading else None
        if match:
            prefix, text = [vocab[match.group(1)]], text[match.end():]
        pieces = sp.encode(text, out_type=str)
        return prefix + [vocab.get(p, vocab["<unk>"]) for p in pieces] + [vocab["</s>"]]
    return encode


def main():
    model_dir, src, out = sys.argv[1:]
    encode = encoder(model_dir)
    lines = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            row["spm"] = encode(row["text"])
            lines.append(json.dumps(row, ensure_ascii=False))
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
