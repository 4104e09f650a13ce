"""A notification of change corrects the bank account, and later entries use the corrected
details: an originator must not keep sending what the bank said is wrong."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually


async def _credit(marketplace: Marketplace, funded: flows.FundedOrder, amount: int) -> str:
    credit_id: str = (await flows.credit_order(marketplace.api, funded, amount))["id"]
    return credit_id


async def _rail_entry(pipeline: Pipeline, entry_id: str) -> dict[str, Any]:
    async def submitted() -> dict[str, Any] | None:
        async with pipeline.http.get(f"{pipeline.rail_url}/entries/{entry_id}") as response:
            return await response.json() if response.status == 200 else None

    entry: dict[str, Any] = await eventually(submitted)
    return entry


async def _notice_of_change(
    pipeline: Pipeline,
    marketplace: Marketplace,
    bank_account_id: str,
    credit_id: str,
    code: str,
    data: str,
) -> dict[str, Any]:
    await flows.rail_simulation(
        pipeline, credit_id, "correct", {"code": code, "corrected_data": data}
    )

    async def corrected() -> dict[str, Any] | None:
        response = await marketplace.api.get(f"/bank_accounts/{bank_account_id}")
        bank: dict[str, Any] = response.body["bank_accounts"][0]
        return bank if bank["meta"].get("ach_noc_code") == code else None

    bank: dict[str, Any] = await eventually(corrected)
    return bank


async def test_a_credit_after_a_notice_of_change_goes_to_the_corrected_account(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 800, flows.ACCOUNT_STAYS_PENDING)
    first = await _credit(marketplace, funded, 300)
    # C03: routing number, three blanks, account number (NACHA's corrected-data layout).
    bank = await _notice_of_change(
        pipeline, marketplace, funded.bank_account_id, first, "C03", "021000021   9900000002"
    )
    assert (bank["routing_number"], bank["account_number"]) == ("021000021", "xxxxxx0002")
    later = await _credit(marketplace, funded, 300)
    entry = await _rail_entry(pipeline, later)
    assert (entry["routing_number"], entry["account_number"]) == ("021000021", "9900000002")
    await flows.credit_status(marketplace.api, later, "succeeded")  # The rule of ...0002.


async def test_a_corrected_transaction_code_changes_the_account_type(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 800, flows.ACCOUNT_STAYS_PENDING)
    first = await _credit(marketplace, funded, 300)
    # C06: account number, blanks, the transaction code (32: credit to a savings account).
    bank = await _notice_of_change(
        pipeline, marketplace, funded.bank_account_id, first, "C06", "9900000002       32"
    )
    assert (bank["account_number"], bank["account_type"]) == ("xxxxxx0002", "savings")
    later = await _credit(marketplace, funded, 300)
    assert (await _rail_entry(pipeline, later))["account_number"] == "9900000002"


async def test_unparsable_corrected_data_is_recorded_and_changes_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 800, flows.ACCOUNT_STAYS_PENDING)
    first = await _credit(marketplace, funded, 300)
    bank = await _notice_of_change(
        pipeline, marketplace, funded.bank_account_id, first, "C01", "ACCT-12"
    )
    assert bank["meta"]["ach_noc_corrected_data"] == "ACCT-12"
    assert bank["account_number"] == "xxxxxx0000"
    later = await _credit(marketplace, funded, 300)
    assert (await _rail_entry(pipeline, later))["account_number"] == "9900000000"


async def test_an_entry_resubmitted_after_a_correction_stays_the_entry_the_rail_holds(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The rail took the entry with the old details; a job that runs again after the
    correction sends the new ones under the same id. The rail refuses (409, another body):
    the job keeps the entry the rail holds instead of failing forever."""
    funded = await flows.funded_order(marketplace.api, 800, flows.ACCOUNT_STAYS_PENDING)
    credit_id = await _credit(marketplace, funded, 300)
    trace = (await _rail_entry(pipeline, credit_id))["trace_number"]
    await _notice_of_change(
        pipeline, marketplace, funded.bank_account_id, credit_id, "C01", "9900000002"
    )
    await pipeline.pool.execute(
        "UPDATE transactions SET submitted_at = NULL, rail_trace_number = NULL WHERE id = $1",
        credit_id,
    )
    await flows.submit_job_again(pipeline, credit_id)

    async def kept() -> bool:
        return (
            await pipeline.pool.fetchval(
                "SELECT rail_trace_number FROM transactions WHERE id = $1", credit_id
            )
            == trace
        )

    await eventually(kept)
