#!/usr/bin/python3
"""convert_checkpoint.py on the committed Hugging Face-format checkpoint (Engine.Tests/Fixtures/hf-marian-checkpoint):
both weight formats give the same model, and what it cannot convert is refused with a message naming the problem.
Needs PyTorch, so it runs in models/training/check_conversion.sh, not in CI.

Usage: cd models/training && /usr/bin/python3 -m unittest test_convert_checkpoint
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

import safetensors_io
from convert_checkpoint import ConversionError, build_model, convert, load_weights, model_config

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKPOINT = os.path.join(HERE, "..", "..", "Engine.Tests", "Fixtures", "hf-marian-checkpoint")


class ConvertCheckpointTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.ckpt = os.path.join(self.tmp, "ckpt")
        shutil.copytree(CHECKPOINT, self.ckpt)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def edit_config(self, **changes):
        path = os.path.join(self.ckpt, "config.json")
        with open(path, encoding="utf-8") as f:
            hf = json.load(f)
        hf.update(changes)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(hf, f)

    def edit_safetensors(self, edit):
        path = os.path.join(self.ckpt, "model.safetensors")
        state = safetensors_io.load(path)
        edit(state)
        safetensors_io.save(state, path, metadata={"format": "pt"})

    def refusal(self, weights=None):
        with self.assertRaises(ConversionError) as caught:
            convert(self.ckpt, os.path.join(self.tmp, "out"), weights=weights, log=lambda _: None)
        return str(caught.exception)

    def load(self, name):
        with open(os.path.join(self.ckpt, "config.json"), encoding="utf-8") as f:
            hf = json.load(f)
        state, _ = load_weights(self.ckpt, os.path.join(self.ckpt, name))
        return build_model(model_config(hf), state).state_dict()

    def test_bin_and_safetensors_load_the_same_weights(self):
        from_bin, from_safetensors = self.load("pytorch_model.bin"), self.load("model.safetensors")
        self.assertEqual(from_bin.keys(), from_safetensors.keys())
        for name in from_bin:
            self.assertTrue(torch.equal(from_bin[name], from_safetensors[name]), name)

    def test_safetensors_lacks_the_position_tables_and_gets_transformers_sinusoids(self):
        state, _ = load_weights(self.ckpt, os.path.join(self.ckpt, "model.safetensors"))
        self.assertNotIn("model.encoder.embed_positions.weight", state)
        binary = torch.load(os.path.join(self.ckpt, "pytorch_model.bin"), weights_only=True)
        self.assertTrue(torch.equal(binary["model.encoder.embed_positions.weight"],
                                    self.load("model.safetensors")["model.encoder.embed_positions.weight"]))

    def test_other_model_type_is_refused(self):
        self.edit_config(model_type="bart")
        self.assertIn("model_type 'bart'", self.refusal())

    def test_other_architecture_is_refused(self):
        self.edit_config(architectures=["MarianForCausalLM"])
        self.assertIn("MarianForCausalLM", self.refusal())

    def test_unknown_activation_is_refused(self):
        self.edit_config(activation_function="mish")
        self.assertIn("activation_function 'mish'", self.refusal())

    def test_pre_norm_is_refused(self):
        self.edit_config(normalize_before=True)
        self.assertIn("normalize_before", self.refusal())

    def test_separate_target_vocabulary_is_refused(self):
        self.edit_config(decoder_vocab_size=1000)
        self.assertIn("separate target vocabulary", self.refusal())

    def test_missing_weights_file_is_refused(self):
        os.remove(os.path.join(self.ckpt, "model.safetensors"))
        os.remove(os.path.join(self.ckpt, "pytorch_model.bin"))
        self.assertIn("no PyTorch weights", self.refusal())

    def test_missing_weight_is_refused_by_name(self):
        self.edit_safetensors(lambda s: s.pop("model.decoder.layers.0.fc2.weight"))
        self.assertIn("missing weight model.decoder.layers.0.fc2.weight", self.refusal())

    def test_missing_embeddings_are_refused(self):
        self.edit_safetensors(lambda s: s.pop("model.shared.weight"))
        self.assertIn("missing weight model.shared.weight", self.refusal())

    def test_mismatched_shape_is_refused(self):
        self.edit_config(decoder_ffn_dim=48)
        message = self.refusal()
        self.assertIn("model.decoder.layers.0.fc1.weight has shape [24, 16], config.json implies [48, 16]", message)

    def test_more_layers_than_the_config_says_are_refused(self):
        self.edit_config(encoder_layers=1)
        self.assertIn("no place for: model.encoder.layers.1.", self.refusal())

    def test_differing_tied_copies_are_refused(self):
        binary = torch.load(os.path.join(self.ckpt, "pytorch_model.bin"), weights_only=True)
        binary["lm_head.weight"] = binary["lm_head.weight"].clone() + 1.0
        torch.save(binary, os.path.join(self.ckpt, "pytorch_model.bin"))
        self.assertIn("differ in the checkpoint", self.refusal(os.path.join(self.ckpt, "pytorch_model.bin")))

    def test_vocab_of_another_size_is_refused(self):
        with open(os.path.join(self.ckpt, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        vocab["<extra>"] = len(vocab)
        with open(os.path.join(self.ckpt, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f)
        self.assertIn("vocab.json holds", self.refusal())
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")))

    def test_command_line_exits_1_with_the_reason(self):
        self.edit_config(model_type="t5")
        run = subprocess.run([sys.executable, os.path.join(HERE, "convert_checkpoint.py"), self.ckpt,
                              os.path.join(self.tmp, "out")], capture_output=True, text=True)
        self.assertEqual(1, run.returncode)
        self.assertIn("cannot convert", run.stderr)
        self.assertIn("model_type 't5'", run.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out", "onnx")))


if __name__ == "__main__":
    unittest.main()
