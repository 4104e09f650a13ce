from tests.conftest import Marketplace


async def test_marketplace_is_created_with_an_owner(marketplace: Marketplace) -> None:
    response = await marketplace.api.get(f"/marketplaces/{marketplace.id}")
    assert response.status == 200
    assert response.body["marketplaces"][0]["links"]["owner_customer"].startswith("CU")
