#!/usr/bin/python3
"""Split the Tatoeba pairs, train the two SentencePiece models and build Marian's joint vocab.json.

Usage: /usr/bin/python3 models/training/prepare.py [--data ../shared/data/cmn.txt] [--out models/marian-tiny-en-zh]

Writes (in --out): source.spm, target.spm, vocab.json; (in models/training/data/): train/dev/test TSVs.
The dev and test splits are committed; the train split is re-derived from the same seed.
"""
import argparse
import json
import os
import random

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261124
DEV = 500
TEST = 500


def read_pairs(path):
    pairs = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            en, zh, attribution = line.split("\t")
            pairs.append((en.strip(), zh.strip(), attribution.strip()))
    return pairs


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")


def train_spm(sentences, prefix, normalization, vocab_size):
    text_path = prefix + ".txt"
    with open(text_path, "w", encoding="utf-8") as f:
        for s in sentences:
            f.write(s + "\n")
    # Marian's id convention: </s>=0, <unk>=1, no <s>, no <pad> inside the spm model.
    spm.SentencePieceTrainer.train(
        input=text_path, model_prefix=prefix, model_type="unigram", vocab_size=vocab_size,
        character_coverage=1.0, normalization_rule_name=normalization,
        eos_id=0, unk_id=1, bos_id=-1, pad_id=-1, input_sentence_size=10_000_000,
        num_threads=2, minloglevel=2)
    os.remove(text_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "cmn.txt"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "marian-tiny-en-zh"))
    args = ap.parse_args()

    pairs = read_pairs(args.data)
    assert len(pairs) == 29155, len(pairs)
    order = list(range(len(pairs)))
    random.Random(SEED).shuffle(order)
    dev = [pairs[i] for i in order[:DEV]]
    test = [pairs[i] for i in order[DEV:DEV + TEST]]
    train = [pairs[i] for i in order[DEV + TEST:]]

    data_dir = os.path.join(HERE, "data")
    os.makedirs(data_dir, exist_ok=True)
    write_tsv(os.path.join(data_dir, "dev.tsv"), dev)
    write_tsv(os.path.join(data_dir, "test.tsv"), test)
    write_tsv(os.path.join(data_dir, "train.tsv"), train)

    os.makedirs(args.out, exist_ok=True)
    src_prefix = os.path.join(args.out, "source")
    tgt_prefix = os.path.join(args.out, "target")
    train_spm([p[0] for p in train], src_prefix, "nmt_nfkc", 4000)
    # identity keeps full-width punctuation (，。？！) that NFKC would fold to ASCII.
    train_spm([p[1] for p in train], tgt_prefix, "identity", 4000)
    for prefix in (src_prefix, tgt_prefix):
        os.replace(prefix + ".model", prefix + ".spm")
        os.remove(prefix + ".vocab")

    # vocab.json as opus-mt lays it out (MarianTokenizer reads ids from here, not from the spm models):
    # </s>=0, <unk>=1, source pieces, then target-only pieces, <pad> last.
    vocab = {"</s>": 0, "<unk>": 1}
    for prefix in (src_prefix, tgt_prefix):
        sp = spm.SentencePieceProcessor(model_file=prefix + ".spm")
        for i in range(sp.get_piece_size()):
            piece = sp.id_to_piece(i)
            if piece not in vocab:
                vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=2)
    print(f"train {len(train)} dev {len(dev)} test {len(test)} vocab {len(vocab)}")


if __name__ == "__main__":
    main()
