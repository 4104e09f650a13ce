"""The API reference page (`GET /docs`): the OpenAPI document rendered as plain HTML.

Self-contained on purpose (no script, no stylesheet or font from elsewhere): it must work
on a machine without internet access, and it shows exactly what `/openapi.json` says."""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .35em .5em; text-align: left; }
td { vertical-align: top; }
code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { background: #f6f6f6; padding: .75em; overflow-x: auto; }
.method { font-weight: bold; text-transform: uppercase; }
.small { color: #666; font-size: 12px; }
"""


def _ref_name(schema: dict[str, Any]) -> str:
    """The component a schema refers to, or a short rendering of it."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(_ref_name(part) for part in schema[combinator])
    return f"<code>{escape(json.dumps(schema))}</code>"


def _body(operation: dict[str, Any]) -> str:
    body = operation.get("requestBody")
    if body is None:
        return ""
    schema = next(iter(body["content"].values()))["schema"]
    if "anyOf" in schema:
        schema = schema["anyOf"][0]  # The flat form; the envelope form wraps the same.
    return _ref_name(schema) + (
        "" if body.get("required") else ' <span class="small">(optional)</span>'
    )


def _responses(operation: dict[str, Any]) -> tuple[str, str]:
    success, errors = "", []
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            content = response.get("content")
            schema = next(iter(content.values()))["schema"] if content else None
            success = escape(status) + (f" {_ref_name(schema)}" if schema else "")
        else:
            errors.append(escape(status))
    return success, " ".join(errors)


def _parameters(operation: dict[str, Any]) -> str:
    names = [
        f"<code>{escape(p['name'])}</code>" + (" (path)" if p["in"] == "path" else "")
        for p in operation.get("parameters", [])
    ]
    return ", ".join(names)


def _row(path: str, method: str, operation: dict[str, Any]) -> str:
    success, errors = _responses(operation)
    public = operation.get("security") is not None
    cells = [
        f'<span class="method">{escape(method)}</span>',
        f"<code>{escape(path)}</code>" + (' <span class="small">public</span>' if public else ""),
        escape(operation.get("summary", "")),
        _parameters(operation),
        _body(operation),
        success,
        f'<span class="small">{errors}</span>',
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def page(document: dict[str, Any]) -> str:
    info = document["info"]
    rows = [
        _row(path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]
    components = [
        f'<details id="schema-{escape(name)}"><summary><code>{escape(name)}</code></summary>'
        f"<pre>{escape(json.dumps(schema, indent=2))}</pre></details>"
        for name, schema in sorted(document["components"]["schemas"].items())
    ]
    header = "".join(
        f"<th>{title}</th>"
        for title in ("Method", "Path", "Summary", "Parameters", "Body", "Success", "Errors")
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(info["title"])} API {escape(info["version"])}</title>
<style>{STYLE}</style></head>
<body>
<h1>{escape(info["title"])} API <span class="small">{escape(info["version"])}</span></h1>
<p>{escape(info["description"])} Authenticate with HTTP Basic, the API key secret as the
username. Every error answers with Balanced's error envelope
(<a href="#schema-ErrorEnvelope">ErrorEnvelope</a>). The machine-readable document is at
<a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI {escape(document["openapi"])}).</p>
<table><thead><tr>{header}</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<h2>Schemas</h2>
{"".join(components)}
</body></html>
"""
