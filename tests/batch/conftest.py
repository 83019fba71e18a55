"""Fixtures for batch prediction on Ray: a tiny trained bundle and a folder of mixed files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import make_rows, one_epoch_recipe, write_csv
from tests.serve.conftest import tiny_generate_bundle  # noqa: F401  (the fixture, shared)
from tests.tasks.conftest import tiny_chat_model_dir  # noqa: F401  (the fixture, shared)


@pytest.fixture(scope="session")
def tiny_bundle(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classify bundle of the tiny model trained for one epoch."""
    import bizlm

    folder = tmp_path_factory.mktemp("batch-bundle")
    data = write_csv(folder / "train.csv", make_rows(240, seed=1))
    return Path(bizlm.train(one_epoch_recipe(tiny_model_dir, data, folder / "tiny")).bundle)


@pytest.fixture()
def mixed_inputs(tmp_path: Path) -> Path:
    """A folder of 300 rows: a CSV (one blank text), a JSONL in a subfolder, a Parquet file."""
    folder = tmp_path / "inputs"
    (folder / "more").mkdir(parents=True)
    tickets = make_rows(120, seed=2)
    tickets[5]["text"] = "  "
    write_csv(folder / "tickets.csv", tickets)
    mails = [{**row, "priority": index % 3} for index, row in enumerate(make_rows(100, seed=3))]
    lines = "".join(json.dumps(row) + "\n" for row in mails)
    (folder / "more" / "mails.jsonl").write_text(lines, encoding="utf-8")
    chats = make_rows(80, seed=4)
    pq.write_table(pa.Table.from_pylist(chats), folder / "chats.parquet")
    return folder
