"""The API reference: `/docs` is Swagger UI served from ballast itself under a strict
Content-Security-Policy; the document it shows groups operations by resource, gives every
operation and every field words, and carries examples recorded from the running API that
fail this test when they drift from what the API answers."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from typing import Any

from jsonschema import Draft202012Validator

from api import docs, openapi
from tests.support import examples
from tests.support.pipeline import Pipeline

# Set to write api/examples.json from this run instead of checking it.
WRITE_VARIABLE = "BALLAST_WRITE_EXAMPLES"
METHODS = ("get", "put", "post", "delete", "patch")


async def _document(pipeline: Pipeline) -> dict[str, Any]:
    response = await pipeline.api.get("/openapi.json")
    assert response.status == 200, response.body
    return response.body


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


class _Page(HTMLParser):
    """The scripts, stylesheets and other URLs a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if tag == "style" or values.get("style"):
            self.inline_styles += 1


async def test_docs_serves_swagger_ui_from_this_origin_under_a_strict_csp(
    pipeline: Pipeline,
) -> None:
    async with pipeline.http.get(pipeline.api.base_url + "/docs") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        policy = response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "script-src 'self';" in policy and "default-src 'none'" in policy
    parsed = _Page()
    parsed.feed(page)
    assert parsed.inline_scripts == 0 and parsed.inline_styles == 0
    assert "swagger-ui-bundle.js" in page and "docs.js" in page
    for url in parsed.urls:
        assert not re.match(r"^([a-z]+:)?//", url), f"{url} is not same-origin"
        async with pipeline.http.get(f"{pipeline.api.base_url}/{url}") as asset:
            assert asset.status == 200, url
            body = await asset.read()
            assert body, url
            if url.endswith(".js"):
                assert asset.headers["Content-Type"].startswith("text/javascript")
            if url.endswith(".css"):
                assert asset.headers["Content-Type"].startswith("text/css")
            if url.startswith(docs.ASSETS_PREFIX.lstrip("/")):
                assert asset.headers["X-Content-Type-Options"] == "nosniff"


async def test_docs_initializer_points_swagger_ui_at_the_document_and_nowhere_else(
    pipeline: Pipeline,
) -> None:
    async with pipeline.http.get(f"{pipeline.api.base_url}/docs/assets/docs.js") as response:
        script = await response.text()
    assert "validatorUrl: null" in script
    assert "http" not in script
    async with pipeline.http.get(pipeline.api.base_url + "/docs") as response:
        assert 'data-openapi="openapi.json"' in await response.text()


async def test_only_the_reference_files_are_served(pipeline: Pipeline) -> None:
    for name in ("..%2Fapp.py", "swagger-ui.js", "README.md", "docs_assets"):
        async with pipeline.http.get(f"{pipeline.api.base_url}/docs/assets/{name}") as response:
            assert response.status == 404, name
            assert response.headers["Content-Type"] == "application/json"


async def test_vendored_swagger_ui_is_the_version_named(pipeline: Pipeline) -> None:
    bundle = (docs.ASSETS_DIR / "swagger-ui-bundle.js").read_text()
    assert f'"{docs.SWAGGER_UI_VERSION}"' in bundle or docs.SWAGGER_UI_VERSION in bundle


async def test_document_says_amounts_are_cents_how_to_authenticate_and_what_errors_are(
    pipeline: Pipeline,
) -> None:
    introduction = (await _document(pipeline))["info"]["description"]
    assert "integers in cents" in introduction
    assert "HTTP Basic with the API key secret as the username" in introduction
    assert "error envelope" in introduction and "category_code" in introduction


async def test_every_operation_has_a_summary_a_description_and_one_described_tag(
    pipeline: Pipeline,
) -> None:
    document = await _document(pipeline)
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert all(tags.values())
    for resource in ("Orders", "Debits", "Credits", "Reversals", "Refunds", "Holds", "Cards"):
        assert resource in tags
    for resource in ("Bank accounts", "Verifications", "Customers", "Accounts", "Settlements"):
        assert resource in tags
    for resource in ("Disputes", "Events", "Callbacks", "API keys", "Marketplaces", "Rail"):
        assert resource in tags
    lacking = []
    for name, operation in _operations(document):
        if not (operation.get("summary") and len(operation.get("description", "")) > 20):
            lacking.append(f"{name}: summary or description")
        if len(operation.get("tags", [])) != 1 or operation["tags"][0] not in tags:
            lacking.append(f"{name}: tag")
    assert not lacking, "\n".join(lacking)


def _properties(schema: Any, where: str) -> list[tuple[str, Any]]:
    """Every (location, property schema) anywhere under `schema`."""
    found: list[tuple[str, Any]] = []
    if isinstance(schema, dict):
        for name, field in (schema.get("properties") or {}).items():
            found.append((f"{where}.{name}", field))
        for key, value in schema.items():
            found += _properties(value, f"{where}.{key}" if key != "properties" else where)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += _properties(value, f"{where}[{index}]")
    return found


async def test_every_field_of_every_schema_is_described(pipeline: Pipeline) -> None:
    document = await _document(pipeline)
    undescribed = [
        where
        for name, schema in document["components"]["schemas"].items()
        for where, field in _properties(schema, name)
        if not (isinstance(field, dict) and field.get("description"))
    ]
    assert not undescribed, "describe in api/openapi_text.py FIELDS: " + ", ".join(undescribed)


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


async def test_every_ref_lands_on_a_component_that_exists(pipeline: Pipeline) -> None:
    document = await _document(pipeline)
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/"), ref
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"{ref} does not resolve"
            target = target[part]


async def test_every_operation_has_a_request_and_a_response_example(pipeline: Pipeline) -> None:
    document = await _document(pipeline)
    missing = []
    for name, operation in _operations(document):
        for parameter in operation["parameters"]:
            if parameter["in"] == "path" and "example" not in parameter:
                missing.append(f"{name}: path parameter {parameter['name']}")
        body = operation.get("requestBody")
        if body is not None and not all("example" in m for m in body["content"].values()):
            missing.append(f"{name}: request body")
        if name in examples.NO_RESPONSE_EXAMPLE:
            continue
        success = [r for status, r in operation["responses"].items() if status.startswith("2")]
        for response in success:
            if not all("example" in m for m in response.get("content", {}).values()):
                missing.append(f"{name}: response")
    assert not missing, "record these in tests/support/examples.py:\n" + "\n".join(missing)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` whose `#/components/…` references resolve in `document`."""
    rooted = {"components": document["components"], "allOf": [schema]}
    return Draft202012Validator(rooted)


async def test_examples_validate_against_the_documents_own_schemas(pipeline: Pipeline) -> None:
    document = await _document(pipeline)
    invalid = []
    for name, operation in _operations(document):
        for part, media in _example_media(operation):
            validator = _validator(document, media["schema"])
            for error in validator.iter_errors(media["example"]):
                invalid.append(f"{name} {part}: {error.message[:200]} at {list(error.path)}")
    assert not invalid, "\n".join(invalid)


def _example_media(operation: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if "example" in media:
            found.append(("request", media))
    for status, response in operation["responses"].items():
        for media in response.get("content", {}).values():
            if "example" in media:
                found.append((f"response {status}", media))
    return found


async def test_examples_are_what_the_api_answers_today(pipeline: Pipeline) -> None:
    """Re-records every example and compares it with api/examples.json: same operations,
    statuses, keys and value types (ids, times and amounts may differ)."""
    recorded = await examples.record(pipeline)
    if os.environ.get(WRITE_VARIABLE):
        openapi.EXAMPLES_PATH.write_text(json.dumps(recorded, indent=1) + "\n")
        openapi.examples.cache_clear()
        return
    committed = json.loads(openapi.EXAMPLES_PATH.read_text())
    rerun = f"run this test with {WRITE_VARIABLE}=1 to record them anew"
    assert sorted(committed) == sorted(recorded), rerun
    drifted = [
        f"{name} {part}"
        for name, example in recorded.items()
        for part in ("status", "request", "response")
        if examples.shape(example.get(part)) != examples.shape(committed[name].get(part))
        or (part == "status" and example[part] != committed[name][part])
    ]
    assert not drifted, f"examples drifted from the API ({rerun}): {drifted}"
