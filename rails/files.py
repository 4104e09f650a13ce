"""The files the rail "sends" and "receives": NACHA forward and return files on disk.

The rail plays the ODFI (originating bank) towards the ACH operator. At every window
cut-off (rails.windows) it sends one forward file of the entries submitted since the
previous file, in batches by SEC code, entry description and effective entry date; and
it receives one return file of the entries returned or corrected since the previous
one (the receiving banks' returns, type 99 addenda, and notifications of change, COR
batches with type 98 addenda). A file holds at most FILE_ENTRIES_MAX entries, and its
totals fit NACHA's 12-digit fields: a bigger window is sent as several files.

Which SEC code: CCD (corporate) when the receiver's name ends like a company's ("Acme
Inc", "Foo LLC", …), PPD (consumer) otherwise. Transaction codes are those of checking
accounts (the entry request carries no account type): 22 for credits, 27 for debits and
reversals; returns and NOCs use 21 and 26. An entry above $99,999,999.99 does not fit
the 10-digit amount field; it is left out of files and counted as skipped.

Files are written only when a directory is configured (then each is written to a
temporary name and renamed, so a reader never sees half a file), and are listed and
served by `GET /files` and `GET /files/{name}` from a bounded in-memory index.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from rails import nacha
from rails.clock import datetime_from_ms
from rails.nacha import Batch, EntryDetail, FileHeader
from rails.store import Entry
from rails.windows import EASTERN, Calendar, eastern_day

log = logging.getLogger(__name__)

# Entries per file: a 10,000-entry file is ~1 MB and renders in tens of milliseconds,
# short enough to do between two scheduler batches without stalling requests.
FILE_ENTRIES_MAX = 10_000
# Files listed by GET /files; older ones stay on disk but drop out of the index.
FILES_INDEX_MAX = 10_000
# The ACH operator: the Federal Reserve Bank's FedACH routing number.
OPERATOR_ROUTING = "011000015"
OPERATOR_NAME = "FEDERAL RESERVE BANK"
ODFI_NAME = "BALLAST RAIL ODFI"
# The originator every entry is sent for: the rail does not know the marketplaces.
COMPANY_NAME = "BALLAST"
COMPANY_ID = "1000000001"  # "1" + a 9-digit tax id, as NACHA suggests; a made-up one.
DESCRIPTIONS = {"credit": "PAYOUT", "debit": "COLLECTION", "reversal": "REVERSAL"}
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
FILE_NAME_PATTERN = re.compile(r"^[0-9T]{13}-[0-9a-f]{8}-[0-9]{6}-(forward|return)\.ach$")
RETURN_TRACE_SEQUENCE_MODULUS = 10**7  # Seven digits after the RDFI's 8-digit prefix.
# The identification field carries the caller's entry id, cut to the field's width.
IDENTIFICATION_WIDTH = 15
COMPANY_NAME_ENDING = re.compile(
    r"\b(inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|company|plc|lp|llp|"
    r"gmbh|sa|bv|pty)\.?$",
    re.IGNORECASE,
)
assert FILE_ENTRIES_MAX * nacha.AMOUNT_CENTS_MAX > nacha.TOTAL_CENTS_MAX  # Totals can bind.


def sec_code(name: str | None) -> str:
    return "CCD" if name and COMPANY_NAME_ENDING.search(name.strip()) else "PPD"


def transaction_code(kind: str) -> int:
    """A credit pays the receiver; a debit or a reversal (of a credit) takes money back."""
    return nacha.CHECKING_CREDIT if kind == "credit" else nacha.CHECKING_DEBIT


def _batch(
    sec: str, description: str, effective: date, routing: str, details: list[EntryDetail]
) -> Batch:
    """A batch of the one originator every entry is sent for (COMPANY_NAME, COMPANY_ID);
    `routing` is the ODFI's for a forward batch, the RDFI's for a return batch."""
    return Batch(sec, COMPANY_NAME, COMPANY_ID, description, effective, routing, details)


@dataclass(frozen=True, slots=True)
class FileInfo:
    name: str
    kind: str  # "forward" or "return".
    created_at_ms: int
    entries: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class _Returned:
    entry: Entry
    correction: bool  # A notification of change rather than a return.


class FileDesk:
    def __init__(
        self,
        directory: Path,
        *,
        calendar: Calendar,
        trace_number: Callable[[Entry], str],
        odfi_routing: str,
        boot: str,
    ) -> None:
        assert len(odfi_routing) == 9 and len(boot) == 8
        self._directory = directory
        self._calendar = calendar
        self._trace_number = trace_number
        self._odfi_routing = odfi_routing
        self._boot = boot
        self._forward: list[Entry] = []  # In trace order, so in submission order.
        self._returned: list[_Returned] = []
        self._index: OrderedDict[str, FileInfo] = OrderedDict()
        self._files_written = 0
        self._return_sequence = 0
        self.skipped = 0
        directory.mkdir(parents=True, exist_ok=True)

    def has_pending(self) -> bool:
        return bool(self._forward or self._returned)

    def sent(self, entry: Entry) -> None:
        self._forward.append(entry)

    def returned(self, entry: Entry, *, correction: bool = False) -> None:
        self._returned.append(_Returned(entry, correction))

    def files(self) -> list[FileInfo]:
        """The indexed files, newest first."""
        return list(reversed(self._index.values()))

    def read(self, name: str) -> bytes | None:
        if not FILE_NAME_PATTERN.match(name) or name not in self._index:
            return None
        try:
            return (self._directory / name).read_bytes()
        except OSError:
            return None

    def flush(self, cutoff_ms: int) -> list[FileInfo]:
        """Send what was submitted by `cutoff_ms`, then receive the returns of entries
        sent by then. Later submissions wait for the next cut-off."""
        sent_count = bisect.bisect_right(
            self._forward, cutoff_ms, key=lambda entry: entry.submitted_at_ms
        )
        forward, self._forward = self._forward[:sent_count], self._forward[sent_count:]
        ready = [item for item in self._returned if item.entry.submitted_at_ms <= cutoff_ms]
        self._returned = [item for item in self._returned if item.entry.submitted_at_ms > cutoff_ms]
        # An entry too big for a file was never sent, so its return is not received either.
        ready = [item for item in ready if item.entry.amount_cents <= nacha.AMOUNT_CENTS_MAX]
        written = []
        for chunk in self._chunks(forward):
            written.append(self._write("forward", cutoff_ms, self._forward_batches(chunk)))
        for start in range(0, len(ready), FILE_ENTRIES_MAX):
            batches = self._return_batches(ready[start : start + FILE_ENTRIES_MAX], cutoff_ms)
            written.append(self._write("return", cutoff_ms, batches))
        return [info for info in written if info is not None]

    def _chunks(self, entries: Sequence[Entry]) -> Iterable[list[Entry]]:
        """Entries split into files whose counts and totals fit NACHA's fields."""
        chunk: list[Entry] = []
        credit_cents = debit_cents = 0
        for entry in entries:
            if entry.amount_cents > nacha.AMOUNT_CENTS_MAX:
                self.skipped += 1
                continue
            is_credit = entry.kind == "credit"
            credit_after = credit_cents + entry.amount_cents * is_credit
            debit_after = debit_cents + entry.amount_cents * (not is_credit)
            full = len(chunk) == FILE_ENTRIES_MAX
            if full or max(credit_after, debit_after) > nacha.TOTAL_CENTS_MAX:
                yield chunk
                chunk, credit_cents, debit_cents = [], 0, 0
                credit_after = entry.amount_cents * is_credit
                debit_after = entry.amount_cents * (not is_credit)
            chunk.append(entry)
            credit_cents, debit_cents = credit_after, debit_after
        if chunk:
            yield chunk

    def _forward_batches(self, entries: list[Entry]) -> list[Batch]:
        def key(entry: Entry) -> tuple[str, str, date]:
            effective = self._calendar.slot_for(entry.submitted_at_ms, entry.amount_cents).day
            return sec_code(entry.name), DESCRIPTIONS[entry.kind], effective

        # Keys computed once per entry; sorted() is stable, so within a batch entries stay
        # in ascending trace order.
        keyed = sorted(((key(entry), entry) for entry in entries), key=itemgetter(0))
        batches = []
        for (sec, description, effective), members in groupby(keyed, key=itemgetter(0)):
            details = [self._forward_detail(entry) for _, entry in members]
            batches.append(_batch(sec, description, effective, self._odfi_routing, details))
        return batches

    def _forward_detail(self, entry: Entry) -> EntryDetail:
        return EntryDetail(
            transaction_code=transaction_code(entry.kind),
            routing_number=entry.routing_number,
            account_number=entry.account_number,
            amount_cents=entry.amount_cents,
            identification=entry.id[:IDENTIFICATION_WIDTH],
            name=entry.name or "",
            trace_number=self._trace_number(entry),
        )

    def _return_batches(self, items: list[_Returned], cutoff_ms: int) -> list[Batch]:
        def key(item: _Returned) -> tuple[str, str, str]:
            entry = item.entry
            sec = "COR" if item.correction else sec_code(entry.name)
            return entry.routing_number, sec, DESCRIPTIONS[entry.kind]

        effective = eastern_day(cutoff_ms)
        batches = []
        for (rdfi, sec, description), members in groupby(sorted(items, key=key), key=key):
            details = [self._return_detail(item) for item in members]
            batches.append(_batch(sec, description, effective, rdfi, details))
        return batches

    def _return_detail(self, item: _Returned) -> EntryDetail:
        entry = item.entry
        self._return_sequence = (self._return_sequence + 1) % RETURN_TRACE_SEQUENCE_MODULUS
        trace = entry.routing_number[:8] + f"{self._return_sequence:07d}"
        original = self._trace_number(entry)
        if item.correction:
            assert entry.correction_code is not None and entry.corrected_data is not None
            addenda = nacha.correction_addenda(
                entry.correction_code, original, entry.routing_number, entry.corrected_data, trace
            )
        else:
            assert entry.return_code is not None
            addenda = nacha.return_addenda(entry.return_code, original, entry.routing_number, trace)
        return EntryDetail(
            transaction_code=nacha.RETURN_CODE_FOR[transaction_code(entry.kind)],
            routing_number=self._odfi_routing,  # A return travels back to the ODFI.
            account_number=entry.account_number,
            amount_cents=0 if item.correction else entry.amount_cents,
            identification=entry.id[:IDENTIFICATION_WIDTH],
            name=entry.name or "",
            trace_number=trace,
            addenda=addenda,
        )

    def _write(self, kind: str, at_ms: int, batches: list[Batch]) -> FileInfo | None:
        if not batches:
            return None
        forward = kind == "forward"
        self._files_written += 1
        created = datetime_from_ms(at_ms).astimezone(EASTERN)
        header = FileHeader(
            destination_routing=OPERATOR_ROUTING if forward else self._odfi_routing,
            origin_routing=self._odfi_routing if forward else OPERATOR_ROUTING,
            destination_name=OPERATOR_NAME if forward else ODFI_NAME,
            origin_name=ODFI_NAME if forward else OPERATOR_NAME,
            created_at=created,
            file_id_modifier=FILE_ID_MODIFIERS[self._files_written % len(FILE_ID_MODIFIERS)],
            reference_code=kind,
        )
        text = nacha.render_file(header, batches)
        name = f"{created:%Y%m%dT%H%M}-{self._boot}-{self._files_written:06d}-{kind}.ach"
        assert FILE_NAME_PATTERN.match(name), name
        try:
            _write_atomically(self._directory / name, text.encode("ascii"))
        except OSError:
            log.exception("writing NACHA file %s failed", name)
            return None
        info = FileInfo(name, kind, at_ms, sum(len(b.entries) for b in batches), len(text))
        self._index[name] = info
        while len(self._index) > FILES_INDEX_MAX:
            self._index.popitem(last=False)
        return info


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
