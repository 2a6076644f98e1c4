#!/usr/bin/python3
"""A Hugging Face Marian checkpoint folder in exactly the layout Helsinki-NLP/opus-mt-en-zh has (config.json,
generation_config.json, pytorch_model.bin, model.safetensors, source.spm, target.spm, vocab.json, a
tokenizer_config.json holding only the language pair, no tokenizer.json, no special_tokens_map.json), for testing
convert_checkpoint.py without downloading anything.

config.json and generation_config.json carry opus-mt-en-zh's values (swish, scale_embedding, static sinusoidal
positions, shared and tied embeddings, pad = decoder start = last id, eos 0, bad_words_ids [[pad]], max_length 512,
num_beams 4, renormalize_logits) with the sizes shrunk so that the folder stays small: d_model 16, 2 encoder layers
with 4 heads and FFN 32, 1 decoder layer with 2 heads and FFN 24 (unequal on purpose, so that a converter reading
one side's numbers for the other fails), and the vocabulary of Engine.Tests/Fixtures/marian-micro-languages (its
spm files, >>cmn_Hans<< and the other opus-mt-en-zh language tokens included) instead of 65,001 pieces.
--vocab-size 65001 pads that vocabulary with filler pieces to opus-mt-en-zh's size instead (not committed: 4 MB a
copy).
The weights come from 2,000 Adam steps on the committed dev and test pairs (seconds), from a fixed seed, and
final_logits_bias is perturbed: random weights make a Marian this small repeat one token until max_length, ids that
would hardly notice a weight read into the wrong place; briefly trained ones give varied ids and stop at </s>.
- pytorch_model.bin as transformers 3.x/4.x wrote the opus-mt files: every name, the tied embedding under
  model.shared, both embed_tokens and lm_head, and both sinusoidal position tables;
- model.safetensors as current transformers writes it: the tied embedding once (model.shared.weight), no position
  tables (MarianMTModel._keys_to_ignore_on_save).

Usage: /usr/bin/python3 models/training/hf_checkpoint_fixture.py [--out Engine.Tests/Fixtures/hf-marian-checkpoint]
"""
import argparse
import json
import os
import shutil

import torch
import torch.nn.functional as F

import safetensors_io
from marian import Config, MarianMT
from train import Vocab, pad_batch, read_tsv

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_FROM = os.path.join(HERE, "..", "..", "Engine.Tests", "Fixtures", "marian-micro-languages")


def opus_config(vocab_size, pad):
    """Helsinki-NLP/opus-mt-en-zh's config.json with the sizes of this fixture."""
    return {
        "_name_or_path": "/tmp/Helsinki-NLP/opus-mt-en-zh", "activation_dropout": 0.0, "activation_function": "swish",
        "add_bias_logits": False, "add_final_layer_norm": False, "architectures": ["MarianMTModel"],
        "attention_dropout": 0.0, "bad_words_ids": [[pad]], "bos_token_id": 0, "classif_dropout": 0.0,
        "classifier_dropout": 0.0, "d_model": 16, "decoder_attention_heads": 2, "decoder_ffn_dim": 24,
        "decoder_layerdrop": 0.0, "decoder_layers": 1, "decoder_start_token_id": pad, "decoder_vocab_size": vocab_size,
        "dropout": 0.1, "encoder_attention_heads": 4, "encoder_ffn_dim": 32, "encoder_layerdrop": 0.0,
        "encoder_layers": 2, "eos_token_id": 0, "extra_pos_embeddings": vocab_size, "forced_eos_token_id": 0,
        "id2label": {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}, "init_std": 0.02, "is_encoder_decoder": True,
        "label2id": {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}, "max_length": 512, "max_position_embeddings": 512,
        "model_type": "marian", "normalize_before": False, "normalize_embedding": False, "num_beams": 4,
        "num_hidden_layers": 2, "pad_token_id": pad, "scale_embedding": True,
        "share_encoder_decoder_embeddings": True, "static_position_embeddings": True, "torch_dtype": "float32",
        "transformers_version": "4.22.0.dev0", "use_cache": True, "vocab_size": vocab_size,
    }


def opus_generation_config(pad):
    return {"bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad, "eos_token_id": 0,
            "forced_eos_token_id": 0, "max_length": 512, "num_beams": 4, "pad_token_id": pad,
            "renormalize_logits": True, "transformers_version": "4.32.0.dev0"}


def train_briefly(model, vocab, steps, batch=32):
    pairs = [(vocab.encode(vocab.src, s), vocab.encode(vocab.tgt, t)) for s, t in read_tsv("dev.tsv") + read_tsv("test.tsv")]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98))
    rng = torch.Generator().manual_seed(1)
    model.train()
    for step in range(steps):
        chosen = [pairs[i] for i in torch.randint(len(pairs), (batch,), generator=rng).tolist()]
        src, src_mask = pad_batch([p[0] for p in chosen], vocab.pad)
        labels, _ = pad_batch([p[1] for p in chosen], vocab.pad)
        dec_in = torch.cat([torch.full((batch, 1), vocab.pad, dtype=torch.long), labels[:, :-1]], dim=1)
        logits = model(src, src_mask, dec_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=vocab.pad)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    print(f"trained {steps} steps, last loss {loss.item():.2f}")


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "Engine.Tests", "Fixtures", "hf-marian-checkpoint"))
    ap.add_argument("--vocab-size", type=int, help="pad the vocabulary with filler pieces to this many ids")
    ap.add_argument("--steps", type=int, default=2000, help="training steps")
    args = ap.parse_args()
    torch.manual_seed(20261202)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name in ("source.spm", "target.spm"):
        shutil.copy(os.path.join(VOCAB_FROM, name), os.path.join(args.out, name))
    with open(os.path.join(VOCAB_FROM, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    if args.vocab_size:
        # As bench/opus_shape_model.py: filler pieces before <pad>, which stays last as in opus-mt.
        pieces = [p for p, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if p != "<pad>"]
        pieces += [f"<filler_{i}>" for i in range(args.vocab_size - 1 - len(pieces))]
        vocab = {p: i for i, p in enumerate(pieces + ["<pad>"])}
    dump(os.path.join(args.out, "vocab.json"), vocab)
    pad = vocab["<pad>"]
    hf = opus_config(len(vocab), pad)
    dump(os.path.join(args.out, "config.json"), hf)
    dump(os.path.join(args.out, "generation_config.json"), opus_generation_config(pad))
    dump(os.path.join(args.out, "tokenizer_config.json"), {"target_lang": "zho", "source_lang": "eng"})
    for stale in ("tokenizer.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(args.out, stale)):
            os.remove(os.path.join(args.out, stale))

    config = Config(len(vocab), pad, d_model=16, encoder_layers=2, decoder_layers=1, encoder_heads=4,
                    decoder_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=24, heads=2, ffn_dim=24)
    model = MarianMT(config)
    train_briefly(model, Vocab(args.out), steps=args.steps)
    with torch.no_grad():
        model.final_logits_bias.normal_(0, 0.05)
        model.final_logits_bias[0, pad] = 0.0
    state = model.state_dict()
    # The bin: every name, tied tensors sharing one storage as torch.save writes a tied module.
    torch.save(state, os.path.join(args.out, "pytorch_model.bin"))
    tied = ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight")
    modern = {k: v for k, v in state.items() if k not in tied and "embed_positions" not in k}
    safetensors_io.save(modern, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    print(f"wrote {args.out}: vocab {len(vocab)}, {len(state)} tensors in pytorch_model.bin, "
          f"{len(modern)} in model.safetensors")


if __name__ == "__main__":
    main()
