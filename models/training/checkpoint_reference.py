#!/usr/bin/python3
"""Greedy ids in PyTorch for a Hugging Face Marian checkpoint folder, loaded the way convert_checkpoint.py loads it
(its config.json, its weights by name), tokenised as MarianTokenizer does (spm_ids.py) and decoded as transformers'
generate does with the folder's generation_config.json (marian.greedy: pad never emitted, eos forced at max_length,
which counts the decoder start token). One sentence at a time, as transformers.js' fixtures are made.

Usage: /usr/bin/python3 models/training/checkpoint_reference.py <checkpoint-dir> <sentences.txt> <out.jsonl>
         [--weights FILE]
Writes one JSON line a sentence: index, source, sourceIds, ids (start token excluded).
"""
import argparse
import json
import os

import torch

from convert_checkpoint import build_model, load_weights, model_config
from marian import greedy
from spm_ids import encoder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("sentences")
    ap.add_argument("out")
    ap.add_argument("--weights")
    args = ap.parse_args()
    torch.set_num_threads(2)
    with open(os.path.join(args.checkpoint, "config.json"), encoding="utf-8") as f:
        hf = json.load(f)
    with open(os.path.join(args.checkpoint, "generation_config.json"), encoding="utf-8") as f:
        gen = json.load(f)
    state, _ = load_weights(args.checkpoint, args.weights)
    model = build_model(model_config(hf), state)
    encode = encoder(args.checkpoint)
    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f if line.strip()]
    lines = []
    for i, source in enumerate(sentences):
        src = encode(source)
        ids = torch.tensor([src])
        out = greedy(model, ids, torch.ones_like(ids), gen["decoder_start_token_id"], gen["eos_token_id"],
                     gen["pad_token_id"], max_new=gen["max_length"] - 1)[0]
        lines.append(json.dumps({"index": i, "source": source, "sourceIds": src, "ids": out}, ensure_ascii=False))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} PyTorch greedy references to {args.out}")


if __name__ == "__main__":
    main()
