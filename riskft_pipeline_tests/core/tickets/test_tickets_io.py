"""Reading exports: every file-level failure is one readable InputError; every row-level oddity is kept."""

from __future__ import annotations

import gzip

import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.tickets.io import MALFORMED_REASON, read_ticket_csv


def test_utf8_with_and_without_bom_read_the_same(write_csv, ticket, tmp_path):
    plain = write_csv([ticket("INC1", content="Café crashed — 100 €")], name="plain.csv")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    a, b = read_ticket_csv(plain), read_ticket_csv(bom)
    assert (a.encoding, b.encoding) == ("utf-8", "utf-8-sig")
    assert list(b.df.columns) == list(a.df.columns)  # the BOM does not end up in the first column name
    assert b.df.loc[0, "content"] == "Café crashed — 100 €"
    assert a.warnings == b.warnings == []


def test_latin1_fallback_is_reported(write_csv, ticket):
    path = write_csv([ticket("INC1", content="Müller's café")], encoding="latin-1")
    result = read_ticket_csv(path)
    assert result.encoding == "latin-1"
    assert result.df.loc[0, "content"] == "Müller's café"
    assert any("Latin-1" in w for w in result.warnings)


def test_embedded_newlines_and_quotes_survive(write_csv, ticket):
    text = 'Line one\nLine "two", with comma\r\nLine three'
    result = read_ticket_csv(write_csv([ticket("INC1", content=text), ticket("INC2")]))
    assert len(result.df) == 2
    assert result.df.loc[0, "content"] == text  # read verbatim; the cleaner folds the CR later


def test_unnamed_index_column_is_dropped_and_cells_are_strings(write_csv, ticket):
    result = read_ticket_csv(write_csv([ticket("INC1", reassigned_count="3")]))
    assert not any(c == "" or c.startswith("Unnamed") for c in result.df.columns)
    assert result.df.loc[0, "reassigned_count"] == "3"
    assert result.df.loc[0, "resolved_at"] == ""  # empty stays '' (not NaN) in the raw frame


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\xef\xbb\xbf\n\n  \n", "file is empty"),
        (b"number,type,short_description,content,category\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (gzip.compress(b"number,type\nINC1,Incident\n" * 50), "binary"),
        (
            b"number,type,content\nINC1,Incident,text\n",
            "required columns missing: short_description, category",
        ),
        (b"hello world\nthis is not an export\n", "required columns missing: number"),
    ],
    ids=["empty", "blank-lines", "header-only", "png", "gzip", "missing-columns", "prose"],
)
def test_unusable_files_raise_one_readable_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_ticket_csv(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_random_bytes_are_not_a_csv(tmp_path):
    import random

    rng = random.Random(3)
    path = tmp_path / "noise.bin"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    with pytest.raises(InputError, match="binary"):
        read_ticket_csv(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_ticket_csv(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="not a file"):
        read_ticket_csv(tmp_path)


def test_ragged_rows_are_kept_as_bad_rows_not_fatal(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        "number,type,short_description,content,category\n"
        "INC1,Incident,Outlook down,It crashes,SOFTWARE\n"
        "INC2,Incident,Too,many,fields,SOFTWARE,extra\n"
        "INC3,Request,Install Zoom,Please install,SOFTWARE\n"
    )
    result = read_ticket_csv(path)
    assert list(result.df["number"]) == ["INC1", "INC3"]
    assert list(result.bad_rows["number"]) == ["INC2"]
    assert list(result.bad_rows["reason"]) == [MALFORMED_REASON]
    assert result.raw_rows == 3
    assert any("malformed" in w for w in result.warnings)


def test_semicolon_export_is_detected(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(
        "number;type;short_description;content;category\nINC1;Incident;a;b, with comma;SOFTWARE\n"
    )
    result = read_ticket_csv(path)
    assert result.df.loc[0, "content"] == "b, with comma"
    assert any("';'" in w for w in result.warnings)


def test_optional_columns_absent_are_added_empty_with_a_warning(tmp_path):
    path = tmp_path / "min.csv"
    path.write_text("number,type,short_description,content,category\nINC1,Incident,a,b,SOFTWARE\n")
    result = read_ticket_csv(path)
    assert result.df.loc[0, "software/system"] == ""
    assert any("software/system" in w for w in result.warnings)


def test_unlabelled_export_needs_only_id_and_text(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("number,short_description,content\nINC9,VPN down,Cannot connect\n")
    with pytest.raises(InputError, match="type, category"):
        read_ticket_csv(path)
    assert read_ticket_csv(path, require_labels=False).df.loc[0, "number"] == "INC9"


@pytest.mark.parametrize(
    ("tail", "number"),
    [('INC2,Incident,a,"unterminated quote\n', "INC2"), ("INC2,Incident,too short\n", "INC2")],
    ids=["truncated-file", "short-row"],
)
def test_truncated_and_short_rows_are_malformed_not_fatal(tmp_path, tail, number):
    path = tmp_path / "cut.csv"
    path.write_text("number,type,short_description,content,category\nINC1,Incident,a,b,SOFTWARE\n" + tail)
    result = read_ticket_csv(path)
    assert list(result.df["number"]) == ["INC1"]
    assert list(result.bad_rows["number"]) == [number]
    assert result.raw_rows == 2


def test_duplicate_column_names_do_not_break_reading(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("number,number,short_description,content,category,type\nINC1,X,a,b,SOFTWARE,Incident\n")
    result = read_ticket_csv(path)
    assert result.df.loc[0, "number"] == "INC1"


def test_values_are_never_type_converted(tmp_path):
    path = tmp_path / "types.csv"
    path.write_text("number,type,short_description,content,category\n007,Incident,1e5,NaN,NULL\n")
    row = read_ticket_csv(path).df.iloc[0]
    assert (row["number"], row["short_description"], row["content"], row["category"]) == (
        "007",
        "1e5",
        "NaN",
        "NULL",
    )
