"""A NACHA file made readable: its batches and their entries, for the Rail page.

rails/nacha.py writes the fixed-width records (94 characters each); this reads them back
by the same positions (NACHA Operating Rules, appendix three). A record that is not one
is skipped, so a damaged file still shows what it can. Account numbers are masked to
their last four digits: the page is for reading, the download has the whole file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

RECORD_LENGTH = 94
FILLER = "9" * RECORD_LENGTH
CREDIT_CODES = frozenset({"21", "22", "23", "24", "31", "32", "33", "34"})
TRANSACTION_CODES = {
    "21": "checking credit: return or NOC",
    "22": "checking credit",
    "26": "checking debit: return or NOC",
    "27": "checking debit",
    "31": "savings credit: return or NOC",
    "32": "savings credit",
    "36": "savings debit: return or NOC",
    "37": "savings debit",
}


@dataclass(frozen=True)
class Entry:
    transaction_code: str
    description: str
    routing_number: str
    account_last4: str
    amount_cents: int
    identification: str
    name: str
    trace_number: str
    # A return's R code or a notification of change's C code (from its addenda).
    reason_code: str | None = None
    original_trace: str | None = None
    corrected_data: str | None = None

    @property
    def signed_cents(self) -> int:
        """Credits positive, debits negative."""
        return self.amount_cents if self.transaction_code in CREDIT_CODES else -self.amount_cents


@dataclass
class Batch:
    number: str
    sec_code: str
    company_name: str
    entry_description: str
    effective_date: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class NachaFile:
    origin_name: str = ""
    destination_name: str = ""
    created: str = ""
    batches: list[Batch] = field(default_factory=list)
    skipped_records: int = 0

    @property
    def entries(self) -> int:
        return sum(len(batch.entries) for batch in self.batches)


def _date(yymmdd: str) -> str:
    return f"20{yymmdd[0:2]}-{yymmdd[2:4]}-{yymmdd[4:6]}" if yymmdd.isdigit() else yymmdd


def _entry(record: str) -> Entry:
    code = record[1:3]
    account = record[12:29].strip()
    amount = record[29:39]
    return Entry(
        transaction_code=code,
        description=TRANSACTION_CODES.get(code, "other"),
        routing_number=record[3:12],
        account_last4=account[-4:],
        amount_cents=int(amount) if amount.isdigit() else 0,
        identification=record[39:54].strip(),
        name=record[54:76].strip(),
        trace_number=record[79:94],
    )


def _with_addenda(entry: Entry, record: str) -> Entry:
    kind = record[1:3]
    if kind == "99":  # A return.
        return replace(entry, reason_code=record[3:6].strip(), original_trace=record[6:21])
    if kind == "98":  # A notification of change.
        return replace(
            entry,
            reason_code=record[3:6].strip(),
            original_trace=record[6:21],
            corrected_data=record[35:64].strip(),
        )
    return entry


def parse(text: str) -> NachaFile:
    parsed = NachaFile()
    batch: Batch | None = None
    for line in text.splitlines():
        record = line.rstrip("\r\n")
        if record == FILLER or not record:
            continue
        if len(record) != RECORD_LENGTH:
            parsed.skipped_records += 1
            continue
        kind = record[0]
        if kind == "1":
            parsed.created = f"{_date(record[23:29])} {record[29:31]}:{record[31:33]}"
            parsed.destination_name = record[40:63].strip()
            parsed.origin_name = record[63:86].strip()
        elif kind == "5":
            batch = Batch(
                number=record[87:94].lstrip("0") or "0",
                sec_code=record[50:53],
                company_name=record[4:20].strip(),
                entry_description=record[53:63].strip(),
                effective_date=_date(record[69:75]),
            )
            parsed.batches.append(batch)
        elif kind == "6" and batch is not None:
            batch.entries.append(_entry(record))
        elif kind == "7" and batch is not None and batch.entries:
            batch.entries[-1] = _with_addenda(batch.entries[-1], record)
        elif kind in "89":
            continue
        else:
            parsed.skipped_records += 1
    return parsed
