"""GGUF export of generate bundles: the file's metadata, tensors and tokenizer, its answers in
llama.cpp against torch (when llama-cpp-python is installed), and the clear errors."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
import yaml
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from bizlm.cli import run
from bizlm.compress import gguf_llama, gguf_parity, gguf_writer
from bizlm.compress.export import export_bundle
from bizlm.compress.gguf_export import GGUF_FILE
from bizlm.compress.gguf_llama import LlamaCppModel, llama_cpp_module
from bizlm.compress.gguf_parity import prompt_texts
from bizlm.compress.gguf_writer import write_gguf
from bizlm.compress.options import ExportOptions
from bizlm.errors import BizlmError
from bizlm.predictor import load
from tests.compress.helpers import bundle_info, fails_with
from tests.prompting.conftest import tiny_generator_dir  # noqa: F401  (fixtures)
from tests.tasks.conftest import tiny_chat_model_dir  # noqa: F401
from tests.tasks.test_generate import PAIRS
from tests.tasks.test_generate_data import user, write_jsonl

HAS_LLAMA_CPP = llama_cpp_module() is not None
needs_llama_cpp = pytest.mark.skipif(not HAS_LLAMA_CPP, reason="llama-cpp-python not installed")
PROMPTS = [
    "what is the capital of france and how many days are in a week",
    "say hello to anna and goodbye to bob",
    "translate cat into french please",
]
LLAMA_TENSORS = {
    "token_embd.weight",
    "output_norm.weight",
    *(
        f"blk.{block}.{part}.weight"
        for block in range(2)
        for part in (
            "attn_norm",
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_norm",
            "ffn_gate",
            "ffn_up",
            "ffn_down",
        )
    ),
}


@pytest.fixture(scope="module")
def generate_bundle(
    tiny_chat_model_dir: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A tiny Llama fully fine-tuned on six prompt/answer pairs with ``bizlm train``."""
    folder = tmp_path_factory.mktemp("gguf-source")
    rows = [{"prompt": p, "response": r} for p, r in PAIRS]
    recipe = {
        "model": str(tiny_chat_model_dir),
        "task": {"type": "generate"},
        "data": {
            "train": str(write_jsonl(folder / "train.jsonl", rows * 4)),
            "validation": str(write_jsonl(folder / "val.jsonl", rows)),
        },
        "method": "full",
        "train": {
            "epochs": 8,
            "learning_rate": 1e-2,
            "batch_size": 8,
            "max_length": 48,
            "warmup_ratio": 0.0,
            "early_stopping_patience": None,
        },
        "decoding": {"max_new_tokens": 8},
        "output": str(folder / "bundle"),
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    assert run(["train", str(path), "--quiet"]) == 0
    return folder / "bundle"


def fields(path: Path) -> dict:
    """The GGUF file's metadata, string arrays as lists."""
    reader = gguf.GGUFReader(path)
    return {name: field.contents() for name, field in reader.fields.items()}


def test_f16_export_writes_a_gguf_file_with_llama_metadata_and_tokenizer(
    generate_bundle: Path, tmp_path: Path
) -> None:
    output = tmp_path / "exported"
    options = ExportOptions(format="gguf", output=output)
    result = export_bundle(generate_bundle, options)
    assert sorted(p.name for p in output.iterdir()) == [
        "Modelfile",
        "bizlm.json",
        "metrics.json",
        "model",
        GGUF_FILE,
    ]
    meta = fields(output / GGUF_FILE)
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 2 and meta["llama.embedding_length"] == 32
    assert meta["llama.attention.head_count"] == meta["llama.attention.head_count_kv"] == 2
    assert meta["llama.context_length"] == 256 and meta["llama.rope.dimension_count"] == 16
    tokenizer = AutoTokenizer.from_pretrained(generate_bundle / "model")
    assert meta["llama.vocab_size"] == len(tokenizer)
    assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "gpt-2"
    tokens = meta["tokenizer.ggml.tokens"]
    assert len(tokens) == len(tokenizer) and tokens[tokenizer.eos_token_id] == "<|endoftext|>"
    assert meta["tokenizer.ggml.token_type"][tokenizer.eos_token_id] == gguf.TokenType.CONTROL
    assert meta["tokenizer.ggml.merges"] and meta["tokenizer.ggml.eos_token_id"] == 0
    assert "<|im_start|>" in meta["tokenizer.chat_template"]
    assert meta["tokenizer.ggml.add_bos_token"] is False
    reader = gguf.GGUFReader(output / GGUF_FILE)
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert set(types) == LLAMA_TENSORS | {"output.weight"}  # the tiny model is not tied
    assert types["blk.0.attn_q.weight"] == "F16" and types["blk.0.attn_norm.weight"] == "F32"
    info = bundle_info(output)
    assert info["runtime"] == "llama.cpp" and info["compression"]["quantize"] == "f16"
    assert info["parity"] == result.parity and info["parity"]["checked"] is HAS_LLAMA_CPP
    modelfile = (output / "Modelfile").read_text()
    assert modelfile.startswith(f"FROM ./{GGUF_FILE}\nTEMPLATE")
    assert 'PARAMETER stop "<|im_end|>"' in modelfile and "num_predict 8" in modelfile


def test_q8_0_export_quantises_the_matrices(generate_bundle: Path, tmp_path: Path) -> None:
    output = tmp_path / "q8"
    export_bundle(generate_bundle, ExportOptions(format="gguf", quantize="q8_0", output=output))
    reader = gguf.GGUFReader(output / GGUF_FILE)
    for tensor in reader.tensors:
        expected = "F32" if len(tensor.shape) == 1 else "Q8_0"
        assert tensor.tensor_type.name == expected, tensor.name
    assert fields(output / GGUF_FILE)["general.file_type"] == gguf.LlamaFileType.MOSTLY_Q8_0
    assert bundle_info(output)["compression"]["gguf"]["tensor_types"] == {"Q8_0": 16, "F32": 5}


def test_tied_embeddings_are_written_once(tmp_path: Path, tiny_chat_model_dir: Path) -> None:  # noqa: F811
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    write_gguf(LlamaForCausalLM(config), tokenizer, tmp_path / "tied.gguf", "f32")
    reader = gguf.GGUFReader(tmp_path / "tied.gguf")
    assert {t.name for t in reader.tensors} == LLAMA_TENSORS
    assert fields(tmp_path / "tied.gguf")["llama.attention.head_count_kv"] == 2


@needs_llama_cpp
def test_llama_cpp_logits_match_torch_and_need_the_rope_reordering(
    generate_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictor = load(generate_bundle)
    texts = prompt_texts(predictor, [[user(p)] for p in PROMPTS])
    ids = [predictor.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    with torch.inference_mode():
        expected = [predictor.model(torch.tensor([row])).logits[0, -1].numpy() for row in ids]

    def gaps(path: Path) -> list[float]:
        model = LlamaCppModel(path, n_ctx=128)
        try:
            assert [model.tokenize(t) for t in texts] == ids
            return [
                float(np.abs(model.next_logits(r) - e).max())
                for r, e in zip(ids, expected, strict=True)
            ]
        finally:
            model.close()

    write_gguf(predictor.model, predictor.tokenizer, tmp_path / "f32.gguf", "f32")
    assert max(gaps(tmp_path / "f32.gguf")) < 1e-3
    monkeypatch.setattr(gguf_writer, "interleave_rope", lambda weight, heads: weight)
    write_gguf(predictor.model, predictor.tokenizer, tmp_path / "plain.gguf", "f32")
    assert min(gaps(tmp_path / "plain.gguf")) > 1e-2  # without the reordering it is wrong


@needs_llama_cpp
def test_greedy_parity_is_checked_and_recorded(generate_bundle: Path, tmp_path: Path) -> None:
    output = tmp_path / "checked"
    code = run(["export", str(generate_bundle), "--format", "gguf", "--output", str(output)])
    assert code == 0
    parity = bundle_info(output)["parity"]
    assert parity["checked"] and parity["n"] == len(PAIRS) and not parity["rejected"]
    assert parity["answer_agreement"] >= parity["min_agreement"] == 0.8
    assert parity["prompt_tokenization_agreement"] == 1.0


@needs_llama_cpp
def test_q4_k_m_is_quantised_by_llama_cpp(generate_bundle: Path, tmp_path: Path) -> None:
    output = tmp_path / "q4"
    options = ExportOptions(format="gguf", quantize="q4_k_m", output=output, prompts=("hi",))
    result = export_bundle(generate_bundle, options, raise_on_reject=False)
    assert fields(output / GGUF_FILE)["general.file_type"] == gguf.LlamaFileType.MOSTLY_Q4_K_M
    assert result.parity["checked"] and result.parity["n"] == 1


def test_without_llama_cpp_the_file_is_written_unchecked_and_q4_k_m_names_the_extra(
    generate_bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gguf_llama, "llama_cpp_module", lambda: None)
    monkeypatch.setattr(gguf_parity, "llama_cpp_module", lambda: None)
    output = tmp_path / "unchecked"
    argv = ["export", str(generate_bundle), "--format", "gguf", "--output", str(output)]
    assert run(argv) == 0
    assert "parity not checked: llama-cpp-python is not installed" in capsys.readouterr().out
    parity = bundle_info(output)["parity"]
    assert parity["checked"] is False and parity["rejected"] is False
    assert (output / GGUF_FILE).is_file()
    argv = ["export", str(generate_bundle), "--format", "gguf", "--quantize", "q4_k_m"]
    fails_with(capsys, argv, "needs llama-cpp-python", "pip install 'bizlm[gguf]'")


def test_a_classifier_bundle_is_refused(
    tiny_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", str(tiny_bundle), "--format", "gguf"]
    fails_with(capsys, argv, "is a classify bundle; --format gguf exports generate bundles")


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--format", "gguf", "--quantize", "q5_0"], ["Unknown quantisation 'q5_0'"]),
        (
            ["--format", "gguf", "--quantize", "dynamic-int8"],
            ["--quantize dynamic-int8 is not available with --format gguf", "--format torch"],
        ),
        (
            ["--format", "onnx", "--quantize", "q8_0"],
            ["--quantize q8_0 is not available with --format onnx", "Use --format gguf"],
        ),
        (["--format", "gguf", "--prune", "heads=0.5"], ["--prune is not available"]),
        (["--format", "onnx", "--prompt", "hi"], ["--prompt applies to --format gguf only"]),
    ],
)
def test_wrong_combinations_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    fails_with(capsys, ["export", str(tmp_path / "any"), *argv], *fragments)


def test_other_architectures_and_tokenizers_are_refused(
    tmp_path: Path,
    tiny_chat_model_dir: Path,  # noqa: F811
    tiny_generator_dir: Path,  # noqa: F811
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2))
    with pytest.raises(BizlmError, match=r"supports the LlamaForCausalLM .* this model is gpt2"):
        write_gguf(gpt2, tokenizer, tmp_path / "gpt2.gguf")
    word_level = AutoTokenizer.from_pretrained(tiny_generator_dir)
    llama = LlamaForCausalLM.from_pretrained(tiny_generator_dir)
    with pytest.raises(BizlmError, match="supports byte-level BPE tokenizers only"):
        write_gguf(llama, word_level, tmp_path / "words.gguf")
    with pytest.raises(BizlmError, match="Unknown GGUF tensor type 'q2'"):
        write_gguf(llama, tokenizer, tmp_path / "q2.gguf", "q2")
    assert not list(tmp_path.glob("*.gguf"))
