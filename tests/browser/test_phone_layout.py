"""Every page fits a phone (390 px wide) without the page scrolling sideways: wide tables
scroll inside their own box."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Watched
from tests.conftest import Marketplace
from tests.support import flows

PAGES = [
    "/dashboard/",
    "/dashboard/orders",
    "/dashboard/orders/{order_id}",
    "/dashboard/customers",
    "/dashboard/customers/{merchant_id}",
    "/dashboard/transactions",
    "/dashboard/events",
    "/dashboard/callbacks",
    "/dashboard/rail",
    "/dashboard/rail/files",
    "/dashboard/api-keys",
]


@pytest.mark.parametrize("path", PAGES)
async def test_the_page_fits_a_phone_without_sideways_scrolling(
    phone: Watched, marketplace: Marketplace, path: str
) -> None:
    funded = await flows.funded_order(marketplace.api, 12_345)
    await flows.credit_order(marketplace.api, funded, 2_345)
    await phone.sign_in(marketplace.secret)
    response = await phone.page.goto(
        phone.url(path.format(order_id=funded.order_id, merchant_id=funded.merchant_id))
    )
    assert response is not None and response.status == 200
    overflow = await phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} is {overflow} px wider than a phone"
