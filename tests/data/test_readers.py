"""Tests for bizlm.data.readers: every format, exact line numbers, and every error message."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bizlm.data.readers import read_table, write_table
from bizlm.errors import DataError


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_table(path, **kwargs)
    return str(info.value)


def test_csv_rows_columns_and_physical_line_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        'id,text,label\r\n1,hello,pos\r\n2,"two\nlines",neg\r\n\r\n3,"say ""hi""",pos\r\n',
    )
    table = read_table(path)
    assert table.columns == ["id", "text", "label"]
    assert table.rows[1] == {"id": "2", "text": "two\nlines", "label": "neg"}
    assert table.rows[2]["text"] == 'say "hi"'
    assert table.line_numbers == [2, 3, 6]
    assert table.source == str(path)


def test_csv_short_row_is_padded_and_bom_removed(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "\ufefftext,label\nonly text\n")
    table = read_table(path)
    assert table.columns == ["text", "label"]
    assert table.rows == [{"text": "only text", "label": ""}]


def test_tsv_and_explicit_format(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.txt", "text\tlabel\na, b\tx\n")
    table = read_table(path, file_format="tsv")
    assert table.rows == [{"text": "a, b", "label": "x"}]


def test_jsonl_skips_blank_lines_and_unions_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.jsonl", '{"text": "a", "label": 1}\n\n  \n{"text": "b", "x": null}\n'
    )
    table = read_table(path)
    assert table.columns == ["text", "label", "x"]
    assert table.rows[0]["label"] == 1
    assert table.line_numbers == [1, 4]


def test_json_list_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.json", '[\n  {"text": "a"},\n  {"text": "b",\n   "label": 2}\n]\n')
    table = read_table(path)
    assert table.rows == [{"text": "a"}, {"text": "b", "label": 2}]
    assert table.line_numbers == [2, 3]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": [1, None]}), path)
    table = read_table(path)
    assert table.columns == ["text", "label"]
    assert table.rows == [{"text": "a", "label": 1}, {"text": "b", "label": None}]
    assert table.line_numbers == [1, 2]


def test_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "nope.csv")
    assert "Data file" in message and "nope.csv' does not exist." in message
    assert "current folder" in message


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    assert "is a folder" in _error(tmp_path / "d.csv")


@pytest.mark.parametrize("content", ["", "text,label\n", "\n\n"])
def test_empty_or_header_only(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path / "x.csv", content)
    assert f"'{path}' has no rows." in _error(path)


def test_blank_jsonl_has_no_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", "\n \n")
    assert "has no rows" in _error(path)


def test_undecodable_byte_names_line_column_and_byte(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", b"text,label\nok,a\ncaf\xe9,b\n")
    message = _error(path)
    assert f"{path} line 3, column 4 is not valid utf-8 (byte 0xe9)" in message
    assert "--encoding cp1252" in message and "data.encoding: cp1252" in message
    assert read_table(path, encoding="cp1252").rows[1]["text"] == "café"


def test_gbk_file_hint_names_gb18030_not_latin1(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "text,label\n退货太慢了,投诉\n".encode("gbk"))
    message = _error(path)
    assert "decodes cleanly as gb18030: pass --encoding gb18030" in message
    assert "latin-1" not in message
    assert read_table(path, encoding="gb18030").rows[0] == {"text": "退货太慢了", "label": "投诉"}


def test_file_no_common_encoding_reads_asks_for_the_real_one(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", b"text,label\n\x81\x00,a\n")
    assert "No common encoding reads it cleanly" in _error(path)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_byte_order_mark_is_followed_with_the_default_encoding(tmp_path: Path, codec: str) -> None:
    text = "text,label\n退货,投诉\n"
    bom = {"utf-16-be": b"\xfe\xff", "utf-32": b"", "utf-16": b"", "utf-8-sig": b""}[codec]
    path = _write(tmp_path / "x.csv", bom + text.encode(codec))
    assert read_table(path).rows == [{"text": "退货", "label": "投诉"}]


def test_malformed_jsonl_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", '{"text": "a"}\n' * 6 + '{"text": "b",}\n')
    assert f"{path} line 7 is not valid JSON: " in _error(path)


def test_jsonl_line_not_an_object(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", '{"text": "a"}\n["b"]\n')
    assert f"{path} line 2 holds a JSON list, not an object." in _error(path)


def test_csv_row_with_extra_fields(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "text,label\na,b\nc,d,e\n")
    assert f"{path} line 3 has 3 fields but the header has 2." in _error(path)


def test_csv_unterminated_quote_names_the_opening_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", 'text,label\na,b\n"never closed,c\nd,e\n')
    assert f"{path} line 3 opens a quoted field that is never closed." in _error(path)


def test_csv_misplaced_quote(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", 'text,label\n"a"b,c\n')
    assert f"{path} line 2 is not valid CSV" in _error(path)


def test_csv_duplicate_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "text,text\na,b\n")
    assert "line 1 (the header) names column 'text' twice" in _error(path)


def test_unknown_suffix_lists_supported(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.xlsx", "a")
    message = _error(path)
    assert "x.xlsx" in message and ".csv" in message and ".parquet" in message


def test_json_not_a_list_and_bad_syntax(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.json", '{"text": "a"}')
    assert f"{path} line 1 does not start a JSON list." in _error(path)
    path = _write(tmp_path / "y.json", '[\n {"text": "a"}\n {"text": "b"}\n]')
    assert f"{path} line 3, column 2 is not valid JSON" in _error(path)


def test_bad_parquet(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.parquet", b"not parquet at all")
    assert "is not a readable Parquet file" in _error(path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_write_then_read_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = [{"text": 'a,"b"\tc\nd', "label": "x"}, {"text": "é", "label": None, "extra": 1}]
    path = tmp_path / f"out{suffix}"
    write_table(path, rows)
    table = read_table(path)
    assert table.columns == ["text", "label", "extra"]
    assert table.rows[0]["text"] == rows[0]["text"]
    assert table.rows[1]["text"] == "é"


def test_write_selected_columns_and_json_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_table(path, [{"text": "a", "scores": {"x": 0.5}, "n": float("nan")}], ["text", "scores"])
    assert path.read_text(encoding="utf-8") == 'text,scores\na,"{""x"": 0.5}"\n'
    path = tmp_path / "out.jsonl"
    write_table(path, [{"text": "a", "n": float("nan")}])
    assert json.loads(path.read_text(encoding="utf-8")) == {"text": "a", "n": None}


def test_write_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"out\.xlsx"):
        write_table(tmp_path / "out.xlsx", [{"a": 1}])
