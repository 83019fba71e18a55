"""``bizlm predict``: predict texts given on the command line or every row of a file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bizlm.cli.output import emit_json, err, out
from bizlm.encodings import bad_character, printable
from bizlm.errors import BizlmError
from bizlm.predict_files import predict_file
from bizlm.predictor import load
from bizlm.tasks.generate_predictor import GeneratePredictor

#: characters of each text shown beside its prediction; --json prints texts in full
SHOWN_CHARACTERS = 200


class Engine(StrEnum):
    """Where ``--input`` is predicted: in this process, or on Ray."""

    local = "local"
    ray = "ray"


def predict(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory.")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to predict.")] = None,
    pairs: Annotated[
        list[str] | None,
        typer.Option("--pair", help="Second text of each pair (pair models), once per text."),
    ] = None,
    input_: Annotated[
        Path | None,
        typer.Option("--input", help="File of texts (--engine ray: a file, folder or glob)."),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Text column of --input (generate: the prompt column).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Write rows with predictions here (default: beside --input, as "
            "NAME.predictions.csv, numbered rather than overwriting an existing file)."
        ),
    ] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of --input.")] = "utf-8",
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 64,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            help="ray: predict --input (a file, folder or glob) on Ray into Parquet parts in "
            "the --output folder; a rerun skips parts already written."
        ),
    ] = Engine.local,
    address: Annotated[
        str | None,
        typer.Option(help="--engine ray: join the Ray cluster here (default: a local Ray)."),
    ] = None,
    actors: Annotated[
        int | None, typer.Option(min=1, help="--engine ray: model copies working at once [1].")
    ] = None,
) -> None:
    """Predict texts given on the command line or in a file (columns kept, predictions added)."""
    if bool(texts) == bool(input_):
        raise BizlmError(
            "Give texts as arguments or --input FILE (one of the two).",
            hint='Example: bizlm predict runs/bbc "Shares fell 5%".',
        )
    if engine is Engine.ray:
        _predict_on_ray(
            bundle, input_, output, text_column, address, actors or 1, batch_size, as_json, encoding
        )
        return
    if address is not None or actors is not None:
        raise BizlmError(
            "--address and --actors go with --engine ray.",
            hint="Add --engine ray, or drop them to predict in this process.",
        )
    if output is not None and input_ is None:
        raise BizlmError("--output needs --input.", hint="Use --input FILE --output FILE.")
    _check_arguments(texts or [], "Text")
    _check_arguments(pairs or [], "Pair text")

    predictor = load(bundle)
    streamed = isinstance(predictor, GeneratePredictor) and not (pairs or as_json)
    if texts and len(texts) == 1 and streamed:  # one answer, printed as it is written
        _stream_answer(predictor, texts[0])
        return
    if texts:
        results = predictor.predict(texts, batch_size, pairs=pairs or None)
        if as_json:
            emit_json([{"text": t, **r} for t, r in zip(texts, results, strict=True)])
        else:
            _print_predictions(texts, results)
        return
    assert input_ is not None
    summary = predict_file(
        predictor, input_, text_column, output, encoding, batch_size, show_progress=not as_json
    )
    if as_json:
        emit_json(summary)
        return
    chosen = "" if output else " (pass --output FILE to choose the file)"
    out.print(
        f"{summary['predicted']} rows predicted, written to {summary['output']}{chosen}",
        markup=False,
        soft_wrap=True,
    )


def _predict_on_ray(
    bundle: Path,
    input_: Path | None,
    output: Path | None,
    text_column: str | None,
    address: str | None,
    actors: int,
    batch_size: int,
    as_json: bool,
    encoding: str,
) -> None:
    """``--engine ray``: predict the files of ``input_`` on Ray into the ``output`` folder."""
    if input_ is None or output is None:
        raise BizlmError(
            "--engine ray needs --input and --output.",
            hint="Example: bizlm predict runs/bbc --input 'data/*.csv' --output scored "
            "--engine ray.",
        )
    try:
        import ray  # noqa: F401
    except ImportError:
        raise BizlmError(
            "--engine ray needs Ray, which is not installed.",
            hint="Install it with: pip install 'bizlm[scale]'.",
        ) from None
    # Ray is an optional dependency, loaded only for --engine ray
    from bizlm.batch import predict_files_on_ray

    summary = predict_files_on_ray(
        bundle,
        str(input_),
        output,
        text_column,
        address,
        actors,
        batch_size,
        encoding,
        show_progress=not as_json,
    )
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"{summary['rows']} rows predicted into {summary['written']} part(s) in "
        f"{summary['output']}; {summary['skipped']} part(s) already there were skipped",
        markup=False,
        soft_wrap=True,
    )


def _check_arguments(values: list[str], what: str) -> None:
    """Refuse arguments holding bytes that are not UTF-8 (control characters are kept)."""
    for number, value in enumerate(values, start=1):
        bad = bad_character(value, controls=False)
        if bad:
            raise BizlmError(
                f"{what} {number} ('{printable(_shorten(value))}') holds {bad}.",
                hint="Pass texts as UTF-8 (check the terminal's encoding), or put them in a "
                "file and use --input FILE --encoding ENCODING.",
            )


def _stream_answer(predictor: GeneratePredictor, text: str) -> None:
    """Print the answer to ``text`` as it is written, then a tab and the text: the line that
    :func:`_print_predictions` prints once the answer is complete."""
    written = False
    for piece in predictor.stream(text):
        _write(printable(piece), end="")  # line breaks escaped: one line, as for many texts
        written = True
    shown = _shorten(text)
    _write(f"{'' if written else '(empty)'}\t{printable(shown)}")
    _note_shortened(int(shown != text))


def _print_predictions(texts: list[str], results: list[dict[str, Any]]) -> None:
    """One line per text: the prediction, a tab, then the text (long texts shortened)."""
    shortened = 0
    for text, result in zip(texts, results, strict=True):
        shown = _shorten(text)
        shortened += shown != text
        _write(f"{_describe(result)}\t{printable(shown)}")
    _note_shortened(shortened)


def _write(text: str, end: str = "\n") -> None:
    """Print ``text`` as it is (no markup, colours or wrapping) and flush it."""
    out.print(text, markup=False, highlight=False, soft_wrap=True, end=end)


def _note_shortened(shortened: int) -> None:
    if shortened:
        err.print(
            f"{shortened} text(s) longer than {SHOWN_CHARACTERS} characters shortened above; "
            "--json prints them in full.",
            highlight=False,
        )


def _shorten(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def _describe(result: dict[str, Any]) -> str:
    if "generated_text" in result:  # one line per text: line breaks of the answer escaped
        return printable(result["generated_text"]) or "(empty)"
    if "entities" in result:
        return " ".join(f"[{e['type']}: {e['text']}]" for e in result["entities"]) or "(none)"
    if "labels" in result:
        return "|".join(result["labels"]) or "(none)"
    if "label" in result:
        return f"{result['label']}\t{result['score']:.4f}"
    return f"{result['score']:.4f}"
