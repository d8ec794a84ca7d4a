#!/usr/bin/env python3
"""Writes the golden files of SubwordModelTests (Tests/TokenizeTests/Resources/subword/).

Run once, after `mixer-cli subword train` made bpe.model and unigram.model there (see the
README in that folder); needs Python's `sentencepiece` (pip install sentencepiece).
For each model, the ids and pieces Python's SentencePiece gives for input.tok, one line each,
and a model trained by Python's SentencePiece with its default ids (<unk> 0, <s> 1, </s> 2,
no <pad>: foreign.model) with its pieces of input.tok.
"""
import io
import sys

import sentencepiece as spm

d = sys.argv[1] if len(sys.argv) > 1 else "Tests/TokenizeTests/Resources/subword"
lines = [l.rstrip("\n") for l in open(f"{d}/input.tok", encoding="utf-8")]
for name in ("bpe", "unigram"):
    sp = spm.SentencePieceProcessor(model_file=f"{d}/{name}.model")
    with open(f"{d}/{name}.python-ids.txt", "w", encoding="utf-8") as f:
        for l in lines:
            f.write(" ".join(map(str, sp.encode(l))) + "\n")
    with open(f"{d}/{name}.python-pieces.txt", "w", encoding="utf-8") as f:
        for l in lines:
            f.write(" ".join(sp.encode(l, out_type=str)) + "\n")
model = io.BytesIO()
spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, model_type="bpe",
                               vocab_size=600, character_coverage=1.0, byte_fallback=True,
                               normalization_rule_name="identity", minloglevel=2)
open(f"{d}/foreign.model", "wb").write(model.getvalue())
sp = spm.SentencePieceProcessor(model_file=f"{d}/foreign.model")
with open(f"{d}/foreign.python-pieces.txt", "w", encoding="utf-8") as f:
    for l in lines:
        f.write(" ".join(sp.encode(l, out_type=str)) + "\n")
print(f"{sp.get_piece_size()} foreign pieces; unk {sp.unk_id()} bos {sp.bos_id()} eos {sp.eos_id()} pad {sp.pad_id()}")
