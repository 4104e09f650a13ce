"""NACHA files: what the rail sends at each cut-off and receives back, read by an
independent parser (carta-ach's `ach.parser.Parser`) and checked field by field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from ach.parser import Parser
from conftest import CONTROL_HEADERS, Rail

from rails import nacha
from rails.files import sec_code

# Monday 2026-03-02, 09:00 ET: before the first same-day cut-off (10:30 ET).
MONDAY_MORNING = "2026-03-02T14:00:00Z"
CREDIT_CODES = ("21", "22")
DEBIT_CODES = ("26", "27")


@pytest.fixture
async def nacha_rail(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]], tmp_path: Path
) -> AsyncIterator[Rail]:
    async with make_rail(nacha_dir=str(tmp_path)) as rail:
        await rail.call("PUT", "/clock", {"frozen": True, "now": MONDAY_MORNING})
        yield rail


async def files_of(rail: Rail, kind: str) -> list[str]:
    """The texts of the rail's files of one kind, oldest first, downloaded over HTTP."""
    _, listing = await rail.call("GET", "/files")
    texts = []
    for info in reversed(listing["files"]):
        if info["kind"] == kind:
            async with rail.client.get(info["href"], headers=CONTROL_HEADERS) as response:
                assert response.status == 200
                texts.append(await response.text())
    return texts


def parsed(text: str) -> dict[str, Any]:
    """Parse with the third-party parser, then reconcile every count and total from the
    fields it extracted: 94-character records, blocks of 10, batch and file controls."""
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    assert all(len(line) == nacha.RECORD_LENGTH for line in lines)
    assert len(lines) % nacha.BLOCKING_FACTOR == 0
    data: dict[str, Any] = Parser(text).as_dict()
    assert data["file_header"]["record_size"] == "094"
    assert data["file_header"]["blk_factor"] == "10"
    sums = [0, 0, 0, 0]  # entries+addenda, hash, debits, credits
    for number, batch in enumerate(data["batches"], start=1):
        batch_sums = reconcile_batch(batch, number)
        sums = [total + part for total, part in zip(sums, batch_sums, strict=True)]
    control = data["file_control"]
    assert int(control["batch_count"]) == len(data["batches"])
    assert int(control["block_count"]) == len(lines) // nacha.BLOCKING_FACTOR
    assert int(control["entadd_count"]) == sums[0]
    assert int(control["entry_hash"]) == sums[1] % 10**10
    assert (int(control["debit_amount"]), int(control["credit_amount"])) == (sums[2], sums[3])
    return data


def reconcile_batch(batch: dict[str, Any], number: int) -> list[int]:
    header, control = batch["batch_header"], batch["batch_control"]
    details = [entry["entry_detail"] for entry in batch["entries"]]
    addenda = sum(len(entry["addenda"]) for entry in batch["entries"])
    entry_hash = sum(int(detail["recv_dfi_id"]) for detail in details)
    debits = sum(int(d["amount"]) for d in details if d["transaction_code"] in DEBIT_CODES)
    credits = sum(int(d["amount"]) for d in details if d["transaction_code"] in CREDIT_CODES)
    assert int(header["batch_id"]) == number
    assert control["serv_cls_code"] == header["serv_cls_code"]
    assert int(control["entadd_count"]) == len(details) + addenda
    assert int(control["entry_hash"]) == entry_hash % 10**10
    assert (int(control["debit_amount"]), int(control["credit_amount"])) == (debits, credits)
    traces = [detail["trace_num"] for detail in details]
    assert traces == sorted(traces), "trace numbers ascend within a batch"
    return [len(details) + addenda, entry_hash, debits, credits]


def entries_by_trace(data: dict[str, Any]) -> dict[str, tuple[dict[str, str], dict[str, Any]]]:
    return {
        entry["entry_detail"]["trace_num"]: (batch["batch_header"], entry)
        for batch in data["batches"]
        for entry in batch["entries"]
    }


async def test_forward_file_holds_each_entry_with_its_transaction_code(nacha_rail: Rail) -> None:
    submitted = [
        await nacha_rail.submit(id="CR-1", name="Jane Doe", amount_cents=1234),
        await nacha_rail.submit(id="DB-2", kind="debit", name="Jane Doe", amount_cents=500),
        await nacha_rail.submit(id="RV-3", kind="reversal", name="Jane Doe", amount_cents=700),
    ]
    await nacha_rail.call("POST", "/clock/advance", {"ms": 2 * 3_600_000})
    (text,) = await files_of(nacha_rail, "forward")
    found = entries_by_trace(parsed(text))
    expected_codes = {"CR-1": "22", "DB-2": "27", "RV-3": "27"}
    for _, entry in submitted:
        header, record = found[entry["trace_number"]]
        detail = record["entry_detail"]
        assert detail["transaction_code"] == expected_codes[entry["id"]]
        assert detail["recv_dfi_id"] + detail["check_digit"] == entry["routing_number"]
        assert detail["dfi_acnt_num"].strip() == entry["account_number"]
        assert int(detail["amount"]) == entry["amount_cents"]
        assert detail["ind_name"].strip() == "JANE DOE"
        assert (header["std_ent_cls_code"], header["eff_ent_date"]) == ("PPD", "260302")
    descriptions = {h["entry_desc"].strip() for h, _ in found.values()}
    assert descriptions == {"PAYOUT", "COLLECTION", "REVERSAL"}


async def test_company_receivers_go_in_ccd_batches(nacha_rail: Rail) -> None:
    await nacha_rail.submit(id="CR-1", name="Acme Widgets Inc")
    await nacha_rail.submit(id="CR-2", name="Jane Doe")
    await nacha_rail.call("POST", "/clock/advance", {"ms": 2 * 3_600_000})
    (text,) = await files_of(nacha_rail, "forward")
    codes = sorted(b["batch_header"]["std_ent_cls_code"] for b in parsed(text)["batches"])
    assert codes == ["CCD", "PPD"]


@pytest.mark.parametrize(
    ("name", "code"),
    [("Acme Inc", "CCD"), ("Foo LLC.", "CCD"), ("Jane Doe", "PPD"), (None, "PPD")],
)
def test_sec_code_is_ccd_for_company_names(name: str | None, code: str) -> None:
    assert sec_code(name) == code


async def test_return_file_carries_the_r_code_and_original_trace(nacha_rail: Rail) -> None:
    _, entry = await nacha_rail.submit(id="CR-1", account_number="9900000004")
    await nacha_rail.call("POST", "/clock/advance", {"banking_days": 1})
    (text,) = await files_of(nacha_rail, "return")
    (batch,) = parsed(text)["batches"]
    (record,) = batch["entries"]
    detail, (addenda,) = record["entry_detail"], record["addenda"]
    assert (detail["transaction_code"], int(detail["amount"])) == ("21", 1234)
    assert detail["recv_dfi_id"] == entry["trace_number"][:8]  # Back to the ODFI.
    assert addenda["addenda_type_code"] == "99"
    info = addenda["pmt_rel_info"]
    assert (info[0:3], info[3:18], info[24:32]) == ("R03", entry["trace_number"], "02100002")
    assert addenda["ent_det_seq_num"] == detail["trace_num"][-7:]


async def test_a_late_return_reaches_a_return_file_after_the_forward_one(
    nacha_rail: Rail,
) -> None:
    rules = [{"action": "return", "code": "R10", "late_return_after_banking_days": 3}]
    assert (await nacha_rail.call("PUT", "/rules", rules))[0] == 200
    _, entry = await nacha_rail.submit(id="DB-1", kind="debit")
    await nacha_rail.call("POST", "/clock/advance", {"banking_days": 1})
    assert await files_of(nacha_rail, "return") == []
    await nacha_rail.call("POST", "/clock/advance", {"banking_days": 3})
    (text,) = await files_of(nacha_rail, "return")
    (batch,) = parsed(text)["batches"]
    addenda = batch["entries"][0]["addenda"][0]["pmt_rel_info"]
    assert (addenda[0:3], addenda[3:18]) == ("R10", entry["trace_number"])
    assert batch["entries"][0]["entry_detail"]["transaction_code"] == "26"


async def test_notification_of_change_is_a_cor_batch_with_corrected_data(
    nacha_rail: Rail,
) -> None:
    _, entry = await nacha_rail.submit(id="CR-1", account_number="9900000000")
    body = {"code": "C01", "corrected_data": "12345678"}
    assert (await nacha_rail.call("POST", "/simulations/entries/CR-1/correct", body))[0] == 200
    await nacha_rail.call("POST", "/clock/advance", {"ms": 2 * 3_600_000})
    (text,) = await files_of(nacha_rail, "return")
    (batch,) = parsed(text)["batches"]
    assert batch["batch_header"]["std_ent_cls_code"] == "COR"
    record = batch["entries"][0]
    assert int(record["entry_detail"]["amount"]) == 0
    addenda = record["addenda"][0]
    info = addenda["pmt_rel_info"]
    assert addenda["addenda_type_code"] == "98"
    assert (info[0:3], info[3:18], info[32:61].strip()) == (
        "C01",
        entry["trace_number"],
        "12345678",
    )


async def test_entries_after_a_cutoff_wait_for_the_next_file(nacha_rail: Rail) -> None:
    await nacha_rail.submit(id="CR-1")
    await nacha_rail.call("POST", "/clock/advance", {"ms": 2 * 3_600_000})  # Past 10:30.
    await nacha_rail.submit(id="CR-2")
    assert len(await files_of(nacha_rail, "forward")) == 1
    await nacha_rail.call("POST", "/clock/advance", {"ms": 4 * 3_600_000})  # Past 14:45.
    first, second = await files_of(nacha_rail, "forward")
    assert [len(parsed(text)["batches"][0]["entries"]) for text in (first, second)] == [1, 1]


async def test_a_window_too_big_for_one_file_is_split(nacha_rail: Rail) -> None:
    # 101 entries of $99,999,999.99 exceed the 12-digit file credit total.
    for index in range(101):
        await nacha_rail.submit(id=f"CR-{index}", amount_cents=nacha.AMOUNT_CENTS_MAX)
    await nacha_rail.submit(id="CR-huge", amount_cents=nacha.AMOUNT_CENTS_MAX + 1)
    await nacha_rail.call("POST", "/clock/advance", {"ms": 2 * 3_600_000})
    texts = await files_of(nacha_rail, "forward")
    counts = [len(parsed(text)["batches"][0]["entries"]) for text in texts]
    assert counts == [100, 1]  # The entry too big for the amount field is left out.
    assert nacha_rail.bank.files is not None and nacha_rail.bank.files.skipped == 1


async def test_files_are_listed_newest_first_and_served_as_written(
    nacha_rail: Rail, tmp_path: Path
) -> None:
    await nacha_rail.submit(id="CR-1", account_number="9900000004")
    await nacha_rail.call("POST", "/clock/advance", {"banking_days": 1})
    _, listing = await nacha_rail.call("GET", "/files")
    kinds = [info["kind"] for info in listing["files"]]
    assert (listing["enabled"], kinds) == (True, ["return", "forward"])
    newest = listing["files"][0]
    async with nacha_rail.client.get(newest["href"], headers=CONTROL_HEADERS) as response:
        assert response.content_type == "text/plain"
        assert await response.read() == (tmp_path / newest["name"]).read_bytes()
    assert newest["size_bytes"] == (tmp_path / newest["name"]).stat().st_size


@pytest.mark.parametrize("name", ["nope.ach", "..%2Fsecret", "%2Fetc%2Fpasswd"])
async def test_unknown_files_are_404(nacha_rail: Rail, name: str) -> None:
    assert (await nacha_rail.call("GET", f"/files/{name}"))[0] == 404


async def test_without_a_directory_no_files_are_kept(rail: Rail) -> None:
    await rail.submit()
    assert await rail.call("GET", "/files") == (200, {"enabled": False, "files": []})


def test_alphanumeric_fields_are_ascii_upper_case_and_cut_to_width() -> None:
    assert nacha.alpha("Zoë Ñandú\tJr", 10) == "ZOE NANDU "
    assert nacha.alpha("x" * 30, 22) == "X" * 22


def test_numeric_fields_never_silently_overflow() -> None:
    assert nacha.numeric(42, 6) == "000042"
    with pytest.raises(AssertionError):
        nacha.numeric(10**10, 10)


async def test_an_entry_too_big_for_a_file_is_returned_without_a_return_file(
    nacha_rail: Rail,
) -> None:
    huge = nacha.AMOUNT_CENTS_MAX + 1
    await nacha_rail.submit(id="CR-huge", account_number="9900000004", amount_cents=huge)
    await nacha_rail.call("POST", "/clock/advance", {"banking_days": 1})
    assert (await nacha_rail.call("GET", "/entries/CR-huge"))[1]["status"] == "returned"
    assert await files_of(nacha_rail, "forward") == []
    assert await files_of(nacha_rail, "return") == []


async def test_instant_clock_sends_at_most_one_file_a_second(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]], tmp_path: Path
) -> None:
    async with make_rail(nacha_dir=str(tmp_path)) as rail:  # day_ms = 0: instant.
        for index in range(3):
            await rail.submit(id=f"CR-{index}")
            await rail.bank.scheduler.drain()
        forward = await files_of(rail, "forward")
        assert [len(parsed(text)["batches"][0]["entries"]) for text in forward] == [1]
        assert rail.bank.files is not None and rail.bank.files.has_pending()
