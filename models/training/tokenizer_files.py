"""Writes the JSON files of an opus-mt style model folder: config.json, generation_config.json,
tokenizer_config.json, special_tokens_map.json and tokenizer.json (the fast tokenizer transformers.js reads)."""
import base64
import json
import os

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

MAX_LENGTH = 128  # generation limit, counting the decoder start token as transformers does


def _dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def tokenizer_json(model_dir, vocab):
    """A Unigram tokenizer over the joint vocab (ids = vocab.json ids). Source pieces keep their spm scores;
    target-only pieces get a score below any source piece. The slow MarianTokenizer maps every piece the source spm
    model lacks to <unk>, while this fast one can pick a target-only piece that matches a character the source model
    never saw (e.g. a Chinese character in English input). The C# engine follows MarianTokenizer (source.spm +
    vocab.json), the reference for opus-mt."""
    proto = spm_pb2.ModelProto()
    with open(os.path.join(model_dir, "source.spm"), "rb") as f:
        proto.ParseFromString(f.read())
    scores = {p.piece: p.score for p in proto.pieces}
    floor = min(scores.values()) - 10.0
    entries = [None] * len(vocab)
    for piece, i in vocab.items():
        entries[i] = [piece, scores.get(piece, floor) if piece not in ("</s>", "<unk>", "<pad>") else 0.0]
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode("ascii")
    special = [("</s>", vocab["</s>"]), ("<unk>", vocab["<unk>"]), ("<pad>", vocab["<pad>"])]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t, i in special],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True,
                          "prepend_scheme": "always", "split": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [vocab["</s>"]], "tokens": ["</s>"]}},
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True,
                    "prepend_scheme": "always", "split": False},
        "model": {"type": "Unigram", "unk_id": vocab["<unk>"], "vocab": entries, "byte_fallback": False},
    }


def write_model_files(model_dir, config):
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    pad = vocab["<pad>"]
    hf = config.hf_config()
    hf["max_length"] = MAX_LENGTH
    _dump(os.path.join(model_dir, "config.json"), hf)
    _dump(os.path.join(model_dir, "generation_config.json"), {
        "bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad, "eos_token_id": 0,
        "forced_eos_token_id": 0, "max_length": MAX_LENGTH, "num_beams": 4, "pad_token_id": pad,
        "length_penalty": 1.0, "early_stopping": False, "transformers_version": "4.46.0"})
    _dump(os.path.join(model_dir, "tokenizer_config.json"), {
        "tokenizer_class": "MarianTokenizer", "source_lang": "en", "target_lang": "zh",
        "model_max_length": 512, "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "separate_vocabs": False, "sp_model_kwargs": {}, "clean_up_tokenization_spaces": False})
    _dump(os.path.join(model_dir, "special_tokens_map.json"),
          {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    _dump(os.path.join(model_dir, "tokenizer.json"), tokenizer_json(model_dir, vocab))
    # Sanity: the spm models load.
    for name in ("source.spm", "target.spm"):
        spm.SentencePieceProcessor(model_file=os.path.join(model_dir, name))
