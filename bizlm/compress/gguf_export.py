"""``bizlm export --format gguf``: a generate bundle as one GGUF file for llama.cpp and Ollama.

The output folder holds ``model.gguf``, an Ollama ``Modelfile``, ``model/`` (the config and
tokenizer it was written from) and ``bizlm.json`` (runtime ``llama.cpp``) recording the type,
what was written and the parity check. Types: ``f16`` (the default, also ``none``), ``f32``,
``q8_0`` (written by gguf-py) and ``q4_k_m`` (the f16 file quantised by llama.cpp, so it
needs llama-cpp-python). Without llama-cpp-python the file is still written and the parity
is recorded as not checked.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bizlm.bundle import read_bundle_info, write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.compress.artifacts import describe_model_files
from bizlm.compress.gguf_llama import quantize_k, require_llama_cpp
from bizlm.compress.gguf_modelfile import modelfile_text
from bizlm.compress.gguf_parity import measure_gguf_parity, unchecked_parity
from bizlm.compress.gguf_writer import tensor_types, write_gguf
from bizlm.compress.options import ExportOptions
from bizlm.compress.source import bundle_data, mergeable_methods, sample_rows
from bizlm.data.conversations import Conversation, single_turn
from bizlm.errors import BizlmError
from bizlm.log import logger
from bizlm.predictor import load
from bizlm.progress import Reporter
from bizlm.tasks.generate_predictor import GeneratePredictor

GGUF_FILE = "model.gguf"
RUNTIME = "llama.cpp"
KEPT_KEYS = {"task", "labels", "recipe", "backbone", "data", "training", "merged"}


def gguf_type(options: ExportOptions) -> str:
    """The GGUF type an export writes: ``--quantize``, with ``none`` meaning f16."""
    return "f16" if options.quantize == "none" else options.quantize


def check_generate_source(path: Path, info: BundleInfo) -> None:
    """Refuse bundles a GGUF export cannot start from, saying what to do instead."""
    if info.task_type != "generate" or info.prompt:
        kind = f"prompted {info.task_type}" if info.prompt else info.task_type
        raise BizlmError(
            f"Bundle '{path}' is a {kind} bundle; --format gguf exports generate bundles "
            "(fine-tuned causal language models) for llama.cpp and Ollama.",
            hint="Export this bundle with --format onnx or --format torch.",
        )
    if info.runtime != "transformers" or info.quantize != "none":
        origin = info.compression.get("source")
        raise BizlmError(
            f"Bundle '{path}' is already an export (runtime {info.runtime}, quantisation "
            f"{info.quantize}); GGUF export starts from the trained fp32 bundle.",
            hint=f"Export from {origin}." if origin else "Export the bundle `bizlm train` wrote.",
        )
    if info.method_name not in mergeable_methods():
        raise BizlmError(
            f"Bundle '{path}' was trained with method '{info.method_name}', whose adapter "
            "cannot be merged into the model weights a GGUF file holds.",
            hint=f"Retrain with a mergeable method ({', '.join(sorted(mergeable_methods()))}).",
        )


def parity_conversations(info: BundleInfo, options: ExportOptions) -> list[Conversation]:
    """The conversations the parity check answers: ``options.prompts``, or a sample of the
    bundle's validation conversations (test, when there is no validation split)."""
    if options.prompts:
        return [single_turn(prompt, None, None) for prompt in options.prompts]
    try:
        splits = bundle_data(info).splits
    except BizlmError as exc:
        raise BizlmError(
            f"The parity check reads the validation data of the bundle's recipe, which "
            f"cannot be read here: {exc.message}",
            hint="Pass the prompts to check with --prompt TEXT (repeat it for several).",
        ) from None
    rows = splits.get("validation") or splits.get("test")
    if not rows:
        raise BizlmError(
            "The bundle's recipe has no validation or test data to check parity on.",
            hint="Pass the prompts to check with --prompt TEXT (repeat it for several).",
        )
    sample = sample_rows(rows, options.parity_sample)
    return [list(conversation[:-1]) for conversation in sample.extras["messages"]]


def export_gguf(
    source: Path, output: Path, options: ExportOptions, reporter: Reporter
) -> BundleInfo:
    """Write the GGUF export of the generate bundle ``source`` to the folder ``output`` and
    return its ``bizlm.json``; a failed parity check marks it ``rejected`` (the caller
    raises)."""
    info = read_bundle_info(source)
    check_generate_source(source, info)
    kind = gguf_type(options)
    if kind == "q4_k_m":
        require_llama_cpp("--quantize q4_k_m")
    unchecked = unchecked_parity(kind)
    if unchecked:
        logger.warning("The GGUF file is written without a parity check: %s.", unchecked["reason"])
    conversations = [] if unchecked else parity_conversations(info, options)
    predictor = load(source)
    assert isinstance(predictor, GeneratePredictor)
    _merge_adapter(predictor)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.work-", dir=output.parent) as tmp:
        work = Path(tmp) / "bundle"
        work.mkdir()
        reporter.note(f"writing the {kind} GGUF file")
        written = _write_file(predictor, info, work / GGUF_FILE, kind, output.name)
        if unchecked is None:
            reporter.note(f"comparing greedy answers on {len(conversations)} prompts")
        parity = unchecked or measure_gguf_parity(predictor, work / GGUF_FILE, conversations, kind)
        system = info.task_settings.get("system")
        decoding = predictor.decoding.model_dump()
        modelfile = modelfile_text(GGUF_FILE, predictor.tokenizer, system, decoding)
        (work / "Modelfile").write_text(modelfile, encoding="utf-8")
        predictor.tokenizer.save_pretrained(work / "model")
        predictor.model.config.save_pretrained(work / "model")
        compression = {
            "source": str(source),
            "format": "gguf",
            "quantize": kind,
            "merged_adapter": not info.merged,
            "gguf": {"file": GGUF_FILE, **written},
            "files": describe_model_files(work),
        }
        exported = BundleInfo.model_validate(
            info.model_dump(exclude_unset=True, include=KEPT_KEYS)
            | {
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "parent": str(source),
                "runtime": RUNTIME,
                "merged": True,
                "compression": compression,
                "parity": parity,
                "rejected": parity["rejected"],
            }
        )

        def write_contents(staging: Path) -> None:
            for entry in work.iterdir():
                shutil.move(entry, staging / entry.name)

        write_bundle(output, exported, write_contents)
    return exported


def _merge_adapter(predictor: GeneratePredictor) -> None:
    """Fold an adapter the bundle keeps apart (LoRA) into the model's weights."""
    if hasattr(predictor.model, "merge_and_unload"):
        predictor.model = predictor.model.merge_and_unload()
    predictor.model.eval()


def _write_file(
    predictor: GeneratePredictor, info: BundleInfo, target: Path, kind: str, name: str
) -> dict[str, Any]:
    """Write the GGUF file (named ``name`` inside); q4_k_m through an f16 file beside it
    that llama.cpp quantises."""
    backbone = info.backbone_reference or str(getattr(predictor.model.config, "_name_or_path", ""))
    model, tokenizer = predictor.model, predictor.tokenizer
    if kind != "q4_k_m":
        written = write_gguf(model, tokenizer, target, kind, name, backbone)
    else:
        f16 = target.parent.parent / "f16.gguf"
        written = write_gguf(model, tokenizer, f16, "f16", name, backbone)
        quantize_k(f16, target, kind)
        f16.unlink()
    return {**written, "tensor_types": tensor_types(target)}
