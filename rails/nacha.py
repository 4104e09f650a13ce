"""NACHA file format: fixed-width 94-character records, blocked by 10.

Pure formatting, no I/O: `render_file` turns a file header and batches into the text of
one file; rails.files decides what goes in which file and writes it. Record layouts
(positions 1-based, as the NACHA Operating Rules number them):

- 1 file header: priority 01, immediate destination/origin (b + 9 digits), creation
  date/time, file id modifier, record size 094, blocking factor 10, format code 1, names;
- 5 batch header: service class (200 mixed, 220 credits, 225 debits), company name and
  id, SEC code (PPD, CCD, COR), entry description, effective entry date, ODFI id, number;
- 6 entry detail: transaction code, RDFI routing (8 digits + check digit), account,
  amount, identification, name, addenda indicator, trace number;
- 7 addenda: type 99 (return: R code, original trace, original RDFI) or type 98
  (notification of change: C code, original trace, original RDFI, corrected data);
- 8 batch control: entry/addenda count, entry hash (sum of the 8-digit RDFI ids, last
  10 digits), debit and credit totals, company id, ODFI id, batch number;
- 9 file control: batch count, block count, entry/addenda count, hash, totals;
- then lines of 94 nines up to a multiple of 10 lines.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
FILLER_RECORD = "9" * RECORD_LENGTH
# Field widths that bound what one file can carry.
AMOUNT_CENTS_MAX = 10**10 - 1  # Entry amount: 10 digits ($99,999,999.99).
TOTAL_CENTS_MAX = 10**12 - 1  # Batch and file debit/credit totals: 12 digits.
ENTRY_HASH_MODULUS = 10**10  # Entry hash: the last 10 digits of the sum.
BATCH_COUNT_MAX = 999_999  # Batch and block counts: 6 digits.

# Transaction codes, checking accounts (the rail's entries carry no account type).
CHECKING_CREDIT = 22
CHECKING_DEBIT = 27
CHECKING_RETURN_CREDIT = 21  # Return or notification of change of a checking credit.
CHECKING_RETURN_DEBIT = 26
RETURN_CODE_FOR = {CHECKING_CREDIT: CHECKING_RETURN_CREDIT, CHECKING_DEBIT: CHECKING_RETURN_DEBIT}
CREDIT_CODES = frozenset({21, 22, 23, 24, 31, 32, 33, 34})
DEBIT_CODES = frozenset({26, 27, 28, 29, 36, 37, 38, 39})

SERVICE_CLASS_MIXED = 200
SERVICE_CLASS_CREDITS = 220
SERVICE_CLASS_DEBITS = 225


@dataclass(frozen=True, slots=True)
class FileHeader:
    destination_routing: str  # 9 digits.
    origin_routing: str
    destination_name: str
    origin_name: str
    created_at: datetime  # Local (Eastern) time of the file's creation.
    file_id_modifier: str  # A-Z, 0-9: tells apart files created on one day.
    reference_code: str = ""


@dataclass(frozen=True, slots=True)
class EntryDetail:
    transaction_code: int
    routing_number: str  # The receiving DFI's 9-digit routing number.
    account_number: str
    amount_cents: int
    identification: str
    name: str
    trace_number: str  # 15 digits.
    addenda: str | None = None  # A complete type 7 record, or None.


@dataclass(frozen=True, slots=True)
class Batch:
    sec_code: str  # PPD, CCD or COR.
    company_name: str
    company_id: str
    entry_description: str
    effective_date: date
    odfi_routing: str  # 9 digits; the batch carries its first 8.
    entries: Sequence[EntryDetail]


def alpha(value: str, width: int) -> str:
    """Alphanumeric field: printable ASCII, upper case, left-justified, cut to width."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    printable = "".join(char if " " <= char <= "~" else " " for char in folded)
    return printable.upper()[:width].ljust(width)


def numeric(value: int | str, width: int) -> str:
    """Numeric field: zero-padded on the left; a value too wide is a bug, not data."""
    text = str(value)
    assert text.isdigit() and len(text) <= width, (value, width)
    return text.rjust(width, "0")


def _record(*fields: str) -> str:
    line = "".join(fields)
    assert len(line) == RECORD_LENGTH, (len(line), line)
    return line


def file_header(header: FileHeader) -> str:
    created = header.created_at
    assert len(header.file_id_modifier) == 1 and header.file_id_modifier.isalnum()
    return _record(
        "1",
        "01",
        " " + numeric(header.destination_routing, 9),
        " " + numeric(header.origin_routing, 9),
        created.strftime("%y%m%d"),
        created.strftime("%H%M"),
        header.file_id_modifier.upper(),
        "094",
        numeric(BLOCKING_FACTOR, 2),
        "1",
        alpha(header.destination_name, 23),
        alpha(header.origin_name, 23),
        alpha(header.reference_code, 8),
    )


def service_class(entries: Sequence[EntryDetail]) -> int:
    credits = any(entry.transaction_code in CREDIT_CODES for entry in entries)
    debits = any(entry.transaction_code in DEBIT_CODES for entry in entries)
    if credits and debits:
        return SERVICE_CLASS_MIXED
    return SERVICE_CLASS_DEBITS if debits else SERVICE_CLASS_CREDITS


def batch_header(batch: Batch, number: int) -> str:
    return _record(
        "5",
        numeric(service_class(batch.entries), 3),
        alpha(batch.company_name, 16),
        alpha("", 20),  # Company discretionary data.
        alpha(batch.company_id, 10),
        alpha(batch.sec_code, 3),
        alpha(batch.entry_description, 10),
        alpha("", 6),  # Company descriptive date.
        batch.effective_date.strftime("%y%m%d"),
        "   ",  # Settlement date (Julian): the ACH operator fills it in.
        "1",  # Originator status code: a depository financial institution.
        numeric(batch.odfi_routing[:8], 8),
        numeric(number, 7),
    )


def entry_detail(entry: EntryDetail) -> str:
    assert 0 <= entry.amount_cents <= AMOUNT_CENTS_MAX, entry.amount_cents
    assert len(entry.routing_number) == 9 and len(entry.trace_number) == 15
    return _record(
        "6",
        numeric(entry.transaction_code, 2),
        numeric(entry.routing_number, 9),  # 8-digit RDFI id, then its check digit.
        alpha(entry.account_number, 17),
        numeric(entry.amount_cents, 10),
        alpha(entry.identification, 15),
        alpha(entry.name, 22),
        "  ",  # Discretionary data.
        "0" if entry.addenda is None else "1",
        numeric(entry.trace_number, 15),
    )


def return_addenda(
    code: str, original_trace: str, original_rdfi: str, trace_number: str, info: str = ""
) -> str:
    """Addenda type 99 of a return entry."""
    return _record(
        "7",
        "99",
        alpha(code, 3),
        numeric(original_trace, 15),
        alpha("", 6),  # Date of death (R14, R15 only).
        numeric(original_rdfi[:8], 8),
        alpha(info, 44),
        numeric(trace_number, 15),
    )


def correction_addenda(
    code: str, original_trace: str, original_rdfi: str, corrected_data: str, trace_number: str
) -> str:
    """Addenda type 98 of a notification of change (COR entry)."""
    return _record(
        "7",
        "98",
        alpha(code, 3),
        numeric(original_trace, 15),
        alpha("", 6),
        numeric(original_rdfi[:8], 8),
        alpha(corrected_data, 29),
        alpha("", 15),
        numeric(trace_number, 15),
    )


@dataclass(frozen=True, slots=True)
class Totals:
    entries_and_addenda: int
    entry_hash: int  # The plain sum; fields keep its last 10 digits.
    debit_cents: int
    credit_cents: int

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.entries_and_addenda + other.entries_and_addenda,
            self.entry_hash + other.entry_hash,
            self.debit_cents + other.debit_cents,
            self.credit_cents + other.credit_cents,
        )


def totals(entries: Sequence[EntryDetail]) -> Totals:
    return Totals(
        entries_and_addenda=len(entries) + sum(entry.addenda is not None for entry in entries),
        entry_hash=sum(int(entry.routing_number[:8]) for entry in entries),
        debit_cents=sum(e.amount_cents for e in entries if e.transaction_code in DEBIT_CODES),
        credit_cents=sum(e.amount_cents for e in entries if e.transaction_code in CREDIT_CODES),
    )


def batch_control(batch: Batch, number: int, sums: Totals) -> str:
    assert sums.debit_cents <= TOTAL_CENTS_MAX and sums.credit_cents <= TOTAL_CENTS_MAX
    return _record(
        "8",
        numeric(service_class(batch.entries), 3),
        numeric(sums.entries_and_addenda, 6),
        numeric(sums.entry_hash % ENTRY_HASH_MODULUS, 10),
        numeric(sums.debit_cents, 12),
        numeric(sums.credit_cents, 12),
        alpha(batch.company_id, 10),
        alpha("", 19),  # Message authentication code.
        alpha("", 6),  # Reserved.
        numeric(batch.odfi_routing[:8], 8),
        numeric(number, 7),
    )


def file_control(batch_count: int, block_count: int, sums: Totals) -> str:
    assert batch_count <= BATCH_COUNT_MAX and block_count <= BATCH_COUNT_MAX
    assert sums.debit_cents <= TOTAL_CENTS_MAX and sums.credit_cents <= TOTAL_CENTS_MAX
    return _record(
        "9",
        numeric(batch_count, 6),
        numeric(block_count, 6),
        numeric(sums.entries_and_addenda, 8),
        numeric(sums.entry_hash % ENTRY_HASH_MODULUS, 10),
        numeric(sums.debit_cents, 12),
        numeric(sums.credit_cents, 12),
        alpha("", 39),  # Reserved.
    )


def render_file(header: FileHeader, batches: Sequence[Batch]) -> str:
    """The whole file: records joined by newlines, blocked to a multiple of 10 lines."""
    assert batches and all(batch.entries for batch in batches)
    lines = [file_header(header)]
    file_sums = Totals(0, 0, 0, 0)
    for number, batch in enumerate(batches, start=1):
        sums = totals(batch.entries)
        lines.append(batch_header(batch, number))
        for entry in batch.entries:
            lines.append(entry_detail(entry))
            if entry.addenda is not None:
                assert len(entry.addenda) == RECORD_LENGTH and entry.addenda[0] == "7"
                lines.append(entry.addenda)
        lines.append(batch_control(batch, number, sums))
        file_sums += sums
    record_count = len(lines) + 1  # With the file control record.
    block_count = -(-record_count // BLOCKING_FACTOR)
    lines.append(file_control(len(batches), block_count, file_sums))
    lines.extend([FILLER_RECORD] * (block_count * BLOCKING_FACTOR - record_count))
    assert len(lines) % BLOCKING_FACTOR == 0
    return "\n".join(lines) + "\n"
