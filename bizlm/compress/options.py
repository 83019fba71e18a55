"""What an export is asked to do, parsed and checked before any model is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bizlm.errors import BizlmError

Format = Literal["torch", "onnx", "gguf"]
Quantize = Literal["none", "dynamic-int8", "static-int8", "bf16", "f32", "f16", "q8_0", "q4_k_m"]
FORMATS: tuple[str, ...] = ("torch", "onnx", "gguf")
DEFAULT_CALIBRATION = 200
DEFAULT_PARITY = {"torch": 500, "onnx": 500, "gguf": 32}  # texts (gguf: prompts answered)
QUANTIZE: tuple[str, ...] = (
    "none",
    "dynamic-int8",
    "static-int8",
    "bf16",
    "f32",
    "f16",
    "q8_0",
    "q4_k_m",
)
SUPPORTED = {
    "torch": ("none", "dynamic-int8", "bf16"),
    "onnx": ("none", "dynamic-int8", "static-int8"),
    "gguf": ("none", "f32", "f16", "q8_0", "q4_k_m"),  # none: f16
}


@dataclass(frozen=True)
class PruneStep:
    """One pruning instruction: ``heads`` (fraction of all heads, or whole heads per layer)
    or ``magnitude`` (fraction of each linear layer's weights set to zero)."""

    kind: Literal["heads", "magnitude"]
    amount: float

    def describe(self) -> str:
        """The instruction as the user wrote it, e.g. ``heads=0.3``."""
        return f"{self.kind}={self.amount:g}"


@dataclass(frozen=True)
class ExportOptions:
    """Everything ``bizlm export`` was told."""

    format: Format = "onnx"
    quantize: Quantize = "none"
    prune: tuple[PruneStep, ...] = ()
    recover_epochs: int = 0
    recover_learning_rate: float = 3e-5
    calibration_size: int | None = None  # None: DEFAULT_CALIBRATION, or all training texts
    parity_size: int | None = None  # None: DEFAULT_PARITY of the format
    max_drop: float = 1.0
    output: Path | None = None
    prompts: tuple[str, ...] = ()  # gguf: prompts of the parity check (default: validation)

    @property
    def parity_sample(self) -> int:
        """How many texts (gguf: prompts) the parity check compares."""
        return self.parity_size or DEFAULT_PARITY[self.format]


def parse_prune(spec: str) -> PruneStep:
    """Parse ``heads=0.3``, ``heads=2`` or ``magnitude=0.5``."""
    kind, sep, value = spec.partition("=")
    kind = kind.strip()
    if not sep or kind not in ("heads", "magnitude"):
        raise BizlmError(
            f"--prune '{spec}' is not understood.",
            hint="Use heads=FRACTION, heads=COUNT (per layer) or magnitude=FRACTION.",
        )
    try:
        amount = float(value)
    except ValueError:
        raise BizlmError(f"--prune '{spec}': '{value}' is not a number.") from None
    if kind == "magnitude" and not 0 < amount < 1:
        raise BizlmError(
            f"--prune '{spec}': magnitude sparsity must be between 0 and 1 (exclusive).",
            hint="For example magnitude=0.5 zeroes half of each linear layer's weights.",
        )
    if kind == "heads" and (amount <= 0 or (amount >= 1 and not amount.is_integer())):
        raise BizlmError(
            f"--prune '{spec}': give a fraction of all heads below 1 (heads=0.3) "
            "or a whole number of heads per layer (heads=2)."
        )
    return PruneStep(kind, amount)  # type: ignore[arg-type]


def check_options(options: ExportOptions) -> None:
    """Reject combinations that cannot work, before any model is loaded."""
    if options.format not in FORMATS:
        raise BizlmError(f"Unknown format '{options.format}'.", hint="Use torch, onnx or gguf.")
    if options.quantize not in QUANTIZE:
        raise BizlmError(
            f"Unknown quantisation '{options.quantize}'.", hint=f"Use one of {', '.join(QUANTIZE)}."
        )
    if options.quantize not in SUPPORTED[options.format]:
        other = next(f for f in FORMATS if options.quantize in SUPPORTED[f])
        raise BizlmError(
            f"--quantize {options.quantize} is not available with --format {options.format}.",
            hint=f"Use --format {other}, or one of {', '.join(SUPPORTED[options.format])}.",
        )
    if options.format == "gguf" and options.prune:
        raise BizlmError(
            "--prune is not available with --format gguf.",
            hint="Export to GGUF without --prune (quantise with --quantize q8_0 or q4_k_m).",
        )
    if options.prompts and options.format != "gguf":
        raise BizlmError(
            "--prompt applies to --format gguf only.",
            hint="Classifier exports check parity on the validation texts; drop --prompt.",
        )
    if options.recover_epochs and not options.prune:
        raise BizlmError(
            "--recover-epochs only applies after pruning.", hint="Add --prune, or drop it."
        )
    if (options.calibration_size is not None and options.calibration_size < 1) or (
        options.parity_size is not None and options.parity_size < 1
    ):
        raise BizlmError("--calibration-size and --parity-size must be at least 1.")
    if options.max_drop < 0:
        raise BizlmError("--max-drop must not be negative.", hint="For example --max-drop 1.0.")
