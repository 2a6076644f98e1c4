#!/usr/bin/python3
"""Scores translations against references: sacreBLEU-compatible BLEU (`zh` tokenisation) and chrF.

Usage: tools/Translate's JSONL on stdin, references from a TSV (English<TAB>Chinese):
  cut -f1 models/training/data/test.tsv \
    | dotnet run --project tools/Translate -c Release -- translate --model models/marian-tiny-en-zh --beams 4 \
    | /usr/bin/python3 models/training/score.py models/training/data/test.tsv
"""
import json
import sys

from metrics import corpus_bleu, corpus_chrf


def main():
    refs = [line.rstrip("\n").split("\t")[1] for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    hyps = [json.loads(line)["translation"] for line in sys.stdin if line.strip()]
    if len(hyps) != len(refs):
        raise SystemExit(f"{len(hyps)} translations for {len(refs)} references")
    print(json.dumps({"sentences": len(refs), "bleu": round(corpus_bleu(hyps, refs), 2),
                      "chrf": round(corpus_chrf(hyps, refs), 2)}))


if __name__ == "__main__":
    main()
