"""Tests for bizlm.data.tagged: CoNLL-style and JSON Lines tag files, and every error message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizlm.data.tagged import join_tokens, read_tagged
from bizlm.errors import DataError


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def _jsonl(path: Path, *records: object) -> Path:
    return _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_tagged(path, **kwargs)
    return str(info.value)


def test_conll_tab_separated_with_docstart_and_crlf(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.conll",
        "-DOCSTART-\tO\r\n\r\nAda\tB-PER\r\nLovelace\tI-PER\r\nwrote\tO\r\n\r\n\r\nHi\tO\r\n",
    )
    data = read_tagged(path)
    assert len(data) == 2
    assert data.tokens == [["Ada", "Lovelace", "wrote"], ["Hi"]]
    assert data.tags == [["B-PER", "I-PER", "O"], ["O"]]
    assert data.line_numbers == [3, 8]
    assert data.texts == ["Ada Lovelace wrote", "Hi"]
    assert data.offsets[0] == [(0, 3), (4, 12), (13, 18)]
    assert data.skipped == {} and data.repairs == 0


def test_conll_2003_columns_space_separator_and_tab_only_blank_lines(tmp_path: Path) -> None:
    conll03 = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
    data = read_tagged(_write(tmp_path / "a.txt", conll03))
    assert data.tokens == [["EU", "rejects"]] and data.tags == [["B-ORG", "O"]]
    tweets = "@me\tO\nParis\tB-geo-loc\n\t\nyes\tO\n\t\n"
    data = read_tagged(_write(tmp_path / "b.txt", tweets))
    assert data.tokens == [["@me", "Paris"], ["yes"]] and data.line_numbers == [1, 4]
    spaced = read_tagged(_write(tmp_path / "c.iob", "Bob B-PER\nsaid O\n"))
    assert spaced.tags == [["B-PER", "O"]]


def test_bmes_characters_are_joined_without_spaces(tmp_path: Path) -> None:
    path = _write(tmp_path / "msra.bmes", "我 O\n在 O\n北 B-LOC\n京 E-LOC\n，O\n")
    assert "line 5 is not 'token<TAB>tag'" in _error(path)
    path = _write(tmp_path / "msra.bmes", "我 O\n在 O\n北 B-LOC\n京 E-LOC\n李 S-PER\n")
    data = read_tagged(path)
    assert data.texts == ["我在北京李"]
    assert data.tags == [["O", "O", "B-LOC", "I-LOC", "B-PER"]]
    assert data.offsets[0][3] == (3, 4)


def test_join_tokens_mixed_scripts_use_spaces() -> None:
    assert join_tokens(["北京", "is", "big"]) == ("北京 is big", [(0, 2), (3, 5), (6, 9)])
    assert join_tokens(["北京", "，"]) == ("北京，", [(0, 2), (2, 3)])


def test_conll_orphan_tag_strict_names_line_lenient_repairs(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.bio", "x\tO\n\nthe\tO\nUN\tI-ORG\nsaid\tO\n")
    message = _error(path)
    assert message.startswith(f"{path} line 4: tag 'I-ORG' continues an entity of type ORG")
    assert "task.tag_repair: lenient" in message
    data = read_tagged(path, mode="lenient")
    assert data.tags[1] == ["O", "B-ORG", "O"] and data.repairs == 1


def test_conll_bad_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.tsv", "Ada\tB-PER\nLovelace\n")
    message = _error(path)
    assert message.startswith(f"{path} line 2 is not 'token<TAB>tag': 'Lovelace'.")
    assert "separated by a tab" in message
    path = _write(tmp_path / "b.tsv", "Ada\tB-PER\n\tO\n")
    assert f"{path} line 2 is not 'token<TAB>tag'" in _error(path)
    path = _write(tmp_path / "c.txt", "Ada B-PER\n\nNew York B-LOC\n")
    assert _error(path).startswith(f"{path} line 3 has 3 columns but line 1 has 2.")
    path = _write(tmp_path / "d.txt", "Ada\tPERSON\n")
    assert _error(path).startswith(f"{path} line 1: tag 'PERSON' is neither 'O' nor")


def test_files_without_sentences(tmp_path: Path) -> None:
    for name, text in [("a.txt", ""), ("b.txt", "-DOCSTART- -X- O\n\n\n"), ("c.jsonl", "\n")]:
        path = _write(tmp_path / name, text)
        assert _error(path) == (
            f"'{path}' has no sentences. Point to the file that holds your tagged sentences."
        )
    path = _jsonl(tmp_path / "d.jsonl", {"tokens": [], "tags": []}, {"text": " ", "entities": []})
    assert f"'{path}' has no sentences (2 empty ones skipped)." in _error(path)


def test_missing_file_folder_and_bad_encoding(tmp_path: Path) -> None:
    assert "does not exist" in _error(tmp_path / "nope.txt")
    assert "is a folder, not a file" in _error(tmp_path)
    path = _write(tmp_path / "a.txt", b"caf\xe9\tO\n")
    assert _error(path).startswith(f"{path} line 1, column 4 is not valid utf-8")
    assert read_tagged(path, encoding="latin-1").tokens == [["café"]]


def test_jsonl_tokens_and_tags(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "a.jsonl",
        {"tokens": ["Ada", "wrote"], "tags": ["S-PER", "O"]},
        {"tokens": [], "tags": []},
        {"tokens": ["北", "京"], "tags": ["I-LOC", "I-LOC"]},
    )
    assert _error(path).startswith(f"{path} line 3, word 1: tag 'I-LOC'")
    data = read_tagged(path, mode="lenient")
    assert data.tags == [["B-PER", "O"], ["B-LOC", "I-LOC"]]
    assert data.texts == ["Ada wrote", "北京"] and data.line_numbers == [1, 3]
    assert data.skipped == {"empty sentence": [2]} and data.repairs == 1


def test_jsonl_text_and_spans(tmp_path: Path) -> None:
    text = "NewYorkers love Ada  Lovelace."
    path = _jsonl(
        tmp_path / "a.json",
        {"text": text, "entities": [{"start": 16, "end": 29, "label": "PER"}]},
        {"text": text, "entities": [[0, 7, "LOC"]]},
        {"text": "我爱北京", "entities": [{"start": 2, "end": 4, "label": "LOC"}]},
        {"text": "nothing here", "entities": []},
    )
    data = read_tagged(path)
    assert data.tokens[0] == ["NewYorkers", "love", "Ada", "Lovelace", "."]
    assert data.tags[0] == ["O", "O", "B-PER", "I-PER", "O"]
    assert data.tokens[1][:2] == ["NewYork", "ers"] and data.tags[1][:2] == ["B-LOC", "O"]
    assert data.tags[2] == ["O", "O", "B-LOC", "I-LOC"]
    assert data.texts[0] == text and data.offsets[0][3] == (21, 29)
    assert data.tags[3] == ["O", "O"]


def test_custom_column_names(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "a.jsonl",
        {"words": ["Bob"], "labels": ["B-PER"]},
        {"sentence": "Bob", "spans": [[0, 3, "PER"]]},
    )
    data = read_tagged(
        path, tokens_column="words", tags_column="labels", text_column="sentence",
        spans_column="spans",
    )  # fmt: skip
    assert data.tags == [["B-PER"], ["B-PER"]]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"text": "Bob", "entities": [[0, 9, "PER"]]}, "entity 1 [0, 9) runs past the end"),
        ({"text": "Bob", "entities": [[-1, 2, "PER"]]}, "entity 1 [-1, 2) starts before"),
        ({"text": "Bob", "entities": [[2, 2, "PER"]]}, "entity 1 [2, 2) ends where it starts"),
        ({"text": "Bob", "entities": [[0, "3", "PER"]]}, "entity 1 has non-integer offsets"),
        ({"text": "Bob", "entities": [[0, 3, " "]]}, "entity 1 has no label"),
        ({"text": "Bob", "entities": [{"start": 0}]}, "entity 1 is not an object with start"),
        ({"text": "Bob Ray", "entities": [[0, 5, "A"], [4, 7, "B"]]}, "overlaps entity 'A'"),
        ({"text": "Bob"}, "field 'entities' is missing"),
        ({"text": "Bob", "entities": {}}, "field 'entities' is not a list"),
        ({"text": 5, "entities": []}, "field 'text' is a int, not a string"),
        ({"tokens": ["a", "b"], "tags": ["O"]}, "has 2 tokens but 1 tags"),
        ({"tokens": ["a"]}, "field 'tags' is missing"),
        ({"tokens": ["a", 1], "tags": ["O", "O"]}, "field 'tokens' is not a list of strings"),
        ({"tokens": ["a", " "], "tags": ["O", "O"]}, "token 2 is empty or only spaces"),
        ({"tokens": ["a"], "tags": ["Z-X"]}, "word 1: tag 'Z-X' is neither 'O' nor"),
        ({"label": "x"}, "has neither a 'tokens' nor a 'text' field"),
        (["a", "b"], "holds a JSON list, not an object"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, record: object, expected: str) -> None:
    path = _jsonl(tmp_path / "a.jsonl", {"tokens": ["ok"], "tags": ["O"]}, record)
    message = _error(path)
    assert message.startswith(f"{path} line 2")
    assert expected in message


def test_malformed_json_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n{"tokens": [\n')
    message = _error(path)
    assert message.startswith(f"{path} line 2 is not valid JSON:")
    assert "one JSON object per line" in message


def test_subset_keeps_parallel_lists(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.txt",
        "a\tO\n\nb\tB-X\n\nc\tI-X\n",
    )
    data = read_tagged(path, mode="lenient")
    part = data.subset([2, 0])
    assert len(part) == 2
    assert part.tokens == [["c"], ["a"]] and part.tags == [["B-X"], ["O"]]
    assert part.line_numbers == [5, 1] and part.texts == ["c", "a"]
    assert part.offsets == [[(0, 1)], [(0, 1)]] and part.repairs == 0
