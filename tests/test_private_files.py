"""Files holding keys, audit events or customer texts are private to their owner."""

import os
import stat

from bizlm.private_files import (
    ensure_private_database,
    ensure_private_file,
    open_private_append,
    sqlite_file_of,
)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = ensure_private_file(tmp_path / "sub" / "audit.jsonl")
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_existing_world_readable_file_is_tightened_and_kept(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text("earlier\n")
    os.chmod(path, 0o644)
    with open_private_append(path) as handle:
        handle.write("later\n")
    assert _mode(path) == 0o600
    assert path.read_text() == "earlier\nlater\n"


def test_sqlite_url_database_is_created_private(tmp_path):
    database = tmp_path / "registry.db"
    ensure_private_database(f"sqlite:///{database}")
    assert _mode(database) == 0o600
    assert sqlite_file_of("sqlite:///:memory:") is None
    assert sqlite_file_of("postgresql+psycopg://u@h/db") is None
