"""llama.cpp through llama-cpp-python (the optional ``gguf`` extra): load a GGUF file,
tokenize, score and answer greedily, and quantise to k-quants."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from bizlm.errors import BizlmError

EXTRA = "pip install 'bizlm[gguf]' (llama-cpp-python)"


def llama_cpp_module() -> ModuleType | None:
    """The ``llama_cpp`` module, or None when llama-cpp-python is not installed."""
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        return None


def require_llama_cpp(purpose: str) -> ModuleType:
    """The ``llama_cpp`` module; a clear error naming the extra when it is missing."""
    module = llama_cpp_module()
    if module is None:
        raise BizlmError(
            f"{purpose} needs llama-cpp-python, which is not installed.",
            hint=f"Install it with {EXTRA}, or export with --quantize f16 or q8_0.",
        )
    return module


@contextlib.contextmanager
def _quiet_native_output() -> Iterator[None]:
    """Silence llama.cpp's log lines, written by C code straight to file descriptor 2."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quantize_k(source: Path, target: Path, kind: str = "q4_k_m") -> None:
    """Quantise the float GGUF file ``source`` into ``target`` with llama.cpp (``q4_k_m``)."""
    llama_cpp = require_llama_cpp(f"--quantize {kind}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.nthread = os.cpu_count() or 1
    with _quiet_native_output():
        status = llama_cpp.llama_model_quantize(
            str(source).encode(), str(target).encode(), llama_cpp.byref(params)
        )
    if status != 0:
        raise BizlmError(
            f"llama.cpp could not quantise {source.name} to {kind} (status {status}).",
            hint="Export with --quantize q8_0 or f16 instead.",
        )


class LlamaCppModel:
    """A GGUF file loaded in llama.cpp, answering greedily from token ids."""

    def __init__(self, path: Path, n_ctx: int) -> None:
        llama_cpp = require_llama_cpp("Running a GGUF file")
        self._logits_of_last = llama_cpp.llama_get_logits_ith
        with _quiet_native_output():
            self.llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=os.cpu_count() or 1,
                logits_all=False,
                verbose=False,
            )

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` as llama.cpp splits it, special markers included, no BOS."""
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def next_logits(self, ids: Sequence[int]) -> np.ndarray:
        """The logits of the token after ``ids`` (a fresh context)."""
        self.llama.reset()
        return self._step(ids)

    def _step(self, ids: Sequence[int]) -> np.ndarray:
        """Feed ``ids`` after the tokens already read; the logits of the next token."""
        self.llama.eval(list(ids))
        pointer = self._logits_of_last(self.llama.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.llama.n_vocab(),)).copy()

    def greedy(self, ids: Sequence[int], max_new_tokens: int, end_ids: Sequence[int]) -> list[int]:
        """Up to ``max_new_tokens`` most probable next tokens after ``ids``, ending with the
        first end token."""
        logits = self.next_logits(ids)
        answer: list[int] = []
        while len(answer) < max_new_tokens:
            token = int(np.argmax(logits))
            answer.append(token)
            if token in end_ids:
                break
            logits = self._step([token])
        return answer

    def close(self) -> None:
        """Free the model."""
        self.llama.close()


def version() -> str | None:
    """The installed llama-cpp-python version, or None."""
    module = llama_cpp_module()
    return getattr(module, "__version__", None) if module else None
