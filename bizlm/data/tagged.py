"""Read entity-tagged sentences: CoNLL-style token/tag files and JSON Lines (tokens or spans).

Every reader returns :class:`TaggedSentences` with BIO tags, the text of each sentence and
the character offsets of its words, and names the file and line of anything it cannot use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizlm.data.readers import decode_text
from bizlm.data.tags import Mode, spans_to_bio, to_bio
from bizlm.data.words import is_cjk, split_words
from bizlm.errors import DataError

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CONLL_HINT = (
    "Write one token and its tag per line, separated by a tab, and a blank line between sentences."
)
_SHAPES = '{"tokens": [...], "tags": [...]} or {"text": "...", "entities": [...]}'


@dataclass
class TaggedSentences:
    """Sentences split into words, with one BIO tag per word and where each came from."""

    tokens: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    offsets: list[list[tuple[int, int]]] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)
    repairs: int = 0

    def __len__(self) -> int:
        return len(self.tokens)

    def subset(self, indices: list[int]) -> TaggedSentences:
        """Return the sentences at ``indices`` (skipped lines and repairs stay with the file)."""
        return TaggedSentences(
            tokens=[self.tokens[i] for i in indices],
            tags=[self.tags[i] for i in indices],
            line_numbers=[self.line_numbers[i] for i in indices],
            texts=[self.texts[i] for i in indices],
            offsets=[self.offsets[i] for i in indices],
        )

    def add(self, tokens: list[str], tags: list[str], line: int) -> None:
        """Append a sentence given as tokens; its text joins them (CJK tokens without spaces)."""
        text, offsets = join_tokens(tokens)
        self.tokens.append(tokens)
        self.tags.append(tags)
        self.line_numbers.append(line)
        self.texts.append(text)
        self.offsets.append(offsets)


def join_tokens(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens into a text with a space between them, or none when every token is CJK.

    Returns the text and each token's ``(start, end)`` character offsets in it.
    """
    separator = "" if is_cjk("".join(tokens)) else " "
    offsets: list[tuple[int, int]] = []
    position = 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + len(separator)
    return separator.join(tokens), offsets


def read_tagged(
    path: Path,
    *,
    encoding: str = "utf-8",
    mode: Mode = "strict",
    text_column: str = "text",
    spans_column: str = "entities",
    tokens_column: str = "tokens",
    tags_column: str = "tags",
) -> TaggedSentences:
    """Read a tagged file: JSON Lines (``.jsonl``, ``.json``) or CoNLL-style (any other suffix).

    JSON lines hold tokens and tags, or a text and its entities as character spans. ``mode``
    says what to do with a continuing tag that follows no entity: refuse (strict) or turn it
    into ``B-`` (lenient, counted in ``repairs``). Bad input raises DataError with file and line.
    """
    source = str(path)
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataError(
            f"Tagged data file '{source}' {what}.",
            hint=f"Check the path; relative paths start from the current folder {Path.cwd()}.",
        )
    text = decode_text(path.read_bytes(), source, encoding)
    if path.suffix.lower() in JSON_SUFFIXES:
        columns = (tokens_column, tags_column, text_column, spans_column)
        sentences = _parse_json_lines(text, source, mode, columns)
    else:
        sentences = parse_conll(text, source, mode=mode)
    if not sentences.tokens:
        skipped = sum(len(lines) for lines in sentences.skipped.values())
        raise DataError(
            f"'{source}' has no sentences"
            + (f" ({skipped} empty ones skipped)." if skipped else "."),
            hint="Point to the file that holds your tagged sentences.",
        )
    return sentences


def parse_conll(text: str, source: str, *, mode: Mode = "strict") -> TaggedSentences:
    """Parse CoNLL-style text: ``token<TAB>tag`` lines, blank lines between sentences.

    A single space may separate the fields instead of a tab; with more than two columns
    (CoNLL-2003: token, POS, chunk, tag) the first and last are used. ``-DOCSTART-`` lines
    are ignored. Every line must have as many columns as the first one.
    """
    sentences = TaggedSentences()
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    first: tuple[int, int] | None = None  # (columns, line) of the first token line
    for number, raw in enumerate([*text.split("\n"), ""], start=1):
        line = raw.strip()
        if not line or line.startswith("-DOCSTART-"):
            if tokens:
                bio, repairs = to_bio(tags, mode=mode, where=source, lines=lines)
                sentences.add(tokens, bio, lines[0])
                sentences.repairs += repairs
                tokens, tags, lines = [], [], []
            continue
        fields = [part.strip() for part in line.split("\t")] if "\t" in line else line.split()
        if len(fields) < 2 or not fields[0] or not fields[-1]:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise DataError(
                f"{source} line {number} is not 'token<TAB>tag': {shown!r}.",
                hint=_CONLL_HINT,
            )
        first = first or (len(fields), number)
        if len(fields) != first[0]:
            raise DataError(
                f"{source} line {number} has {len(fields)} columns but line {first[1]} has"
                f" {first[0]}.",
                hint=f"{_CONLL_HINT} A token cannot contain the separator.",
            )
        tokens.append(fields[0])
        tags.append(fields[-1])
        lines.append(number)
    return sentences


def _parse_json_lines(
    text: str, source: str, mode: Mode, columns: tuple[str, str, str, str]
) -> TaggedSentences:
    tokens_column, tags_column, text_column, spans_column = columns
    sentences = TaggedSentences()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{where} is not valid JSON: {exc.msg} at column {exc.colno}.",
                hint=f"Write exactly one JSON object per line, {_SHAPES}.",
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{where} holds a JSON {type(record).__name__}, not an object.",
                hint=f"Write one object per line, {_SHAPES}.",
            )
        if tokens_column in record:
            tokens = _strings(record, tokens_column, where)
            tags = _strings(record, tags_column, where)
            if len(tokens) != len(tags):
                raise DataError(
                    f"{where} has {len(tokens)} tokens but {len(tags)} tags.",
                    hint="Give exactly one tag per token.",
                )
            blank = next((i for i, token in enumerate(tokens) if not token.strip()), None)
            if blank is not None:
                raise DataError(
                    f"{where}: token {blank + 1} is empty or only spaces.",
                    hint="Remove that token and its tag.",
                )
            if tokens:
                bio, repairs = to_bio(tags, mode=mode, where=where)
                sentences.add(tokens, bio, number)
                sentences.repairs += repairs
            else:
                sentences.skipped.setdefault("empty sentence", []).append(number)
        elif text_column in record:
            _add_spans(sentences, record, (text_column, spans_column), where, number)
        else:
            raise DataError(
                f"{where} has neither a '{tokens_column}' nor a '{text_column}' field.",
                hint=f"Write {_SHAPES}, or name your fields with the tokens/tags/text/entities"
                " column settings.",
            )
    return sentences


def _strings(record: dict[str, Any], column: str, where: str) -> list[str]:
    value = record.get(column)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        what = "is missing" if value is None else "is not a list of strings"
        raise DataError(
            f"{where}: field '{column}' {what}.",
            hint=f"Write {_SHAPES}.",
        )
    return value


def _add_spans(
    sentences: TaggedSentences,
    record: dict[str, Any],
    columns: tuple[str, str],
    where: str,
    number: int,
) -> None:
    text_column, spans_column = columns
    text = record[text_column]
    if not isinstance(text, str):
        raise DataError(
            f"{where}: field '{text_column}' is a {type(text).__name__}, not a string.",
            hint="Write the sentence as a JSON string.",
        )
    raw_spans = record.get(spans_column)
    if not isinstance(raw_spans, list):
        what = "is missing" if raw_spans is None else "is not a list"
        raise DataError(
            f"{where}: field '{spans_column}' {what}.",
            hint=f'Give the entities as a list, e.g. "{spans_column}": [{{"start": 0, "end": 5,'
            f' "label": "PER"}}], or "{spans_column}": [] when there are none.',
        )
    spans = [_span(item, index, text, where) for index, item in enumerate(raw_spans, start=1)]
    if not text.strip() and not spans:
        sentences.skipped.setdefault("empty sentence", []).append(number)
        return
    words = split_words(
        text, cuts=[edge for span in spans for edge in (span["start"], span["end"])]
    )
    sentences.tokens.append([word for word, _, _ in words])
    sentences.tags.append(spans_to_bio(words, spans, where))
    sentences.line_numbers.append(number)
    sentences.texts.append(text)
    sentences.offsets.append([(start, end) for _, start, end in words])


def _span(item: Any, index: int, text: str, where: str) -> dict[str, Any]:
    """Check one entity (an object, or a [start, end, label] list) against its text."""
    if isinstance(item, (list, tuple)) and len(item) == 3:
        item = dict(zip(("start", "end", "label"), item, strict=True))
    shape = '{"start": 0, "end": 5, "label": "PER"}'
    if not isinstance(item, dict) or not {"start", "end", "label"} <= item.keys():
        raise DataError(
            f"{where}: entity {index} is not an object with start, end and label.",
            hint=f"Write each entity as {shape}, offsets in characters, end exclusive.",
        )
    start, end, label = item["start"], item["end"], item["label"]
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise DataError(
            f"{where}: entity {index} has non-integer offsets ({start!r}, {end!r}).",
            hint=f"Write each entity as {shape}, offsets in characters, end exclusive.",
        )
    if not isinstance(label, str) or not label.strip():
        raise DataError(
            f"{where}: entity {index} has no label.",
            hint="Give every entity a non-empty label such as 'PER'.",
        )
    if not 0 <= start < end <= len(text):
        if start >= end:
            problem = "ends where it starts or before"
        elif start < 0:
            problem = "starts before the text"
        else:
            problem = f"runs past the end of the text ({len(text)} characters)"
        raise DataError(
            f"{where}: entity {index} [{start}, {end}) {problem}.",
            hint="Offsets count characters from 0, with start < end <= the text's length.",
        )
    return {"start": start, "end": end, "label": label.strip()}
