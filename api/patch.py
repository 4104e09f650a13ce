"""JSON Patch (RFC 6902), as Balanced's PATCH takes it: operations on the resource's own
envelope (`[{"op": "replace", "path": "/customers/0/links/source", "value": "CC…"}]`).

A PATCH is applied to the resource as the API shows it; the result is then read like the
body of a PUT, so both forms share one validation and one write."""

from __future__ import annotations

import copy
from typing import Any

from api.request_models import PatchOperation
from ledger.errors import Conflict, RequestInvalid


def _tokens(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer (RFC 6901): `/a~1b/c~0d` is `a/b`, `c~d`."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise RequestInvalid(f"Invalid JSON Pointer {pointer[:64]!r}.", extras={"path": pointer})
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _parent(document: Any, pointer: str) -> tuple[Any, str]:
    """The container the pointer's last token is in, and that token."""
    tokens = _tokens(pointer)
    if not tokens:
        raise RequestInvalid("A patch may not replace the whole resource.", extras={"path": ""})
    node = document
    for token in tokens[:-1]:
        node = _child(node, token, pointer)
    return node, tokens[-1]


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise RequestInvalid(f"Nothing at {pointer[:64]!r}.", extras={"path": pointer[:64]})


def _get(document: Any, pointer: str) -> Any:
    node = document
    for token in _tokens(pointer):
        node = _child(node, token, pointer)
    return node


def _remove(document: Any, pointer: str) -> Any:
    container, token = _parent(document, pointer)
    value = _child(container, token, pointer)
    if isinstance(container, dict):
        del container[token]
    else:
        del container[int(token)]
    return value


def _add(document: Any, pointer: str, value: Any, *, replace: bool) -> None:
    container, token = _parent(document, pointer)
    if isinstance(container, dict):
        if replace:
            _child(container, token, pointer)  # RFC 6902: replace needs a target.
        container[token] = value
    elif isinstance(container, list) and (token == "-" or token.isdigit()):
        index = len(container) if token == "-" else int(token)
        if index > len(container) or (replace and index >= len(container)):
            raise RequestInvalid(f"Nothing at {pointer[:64]!r}.", extras={"path": pointer[:64]})
        if replace:
            container[index] = value
        else:
            container.insert(index, value)
    else:
        raise RequestInvalid(f"Nothing at {pointer[:64]!r}.", extras={"path": pointer[:64]})


def apply(document: dict[str, Any], operations: list[PatchOperation]) -> dict[str, Any]:
    """`document` patched by `operations`, all or nothing (the argument stays unchanged).
    A failed `test` is 409 `patch-test-failed`; anything else that cannot apply is 400."""
    patched = copy.deepcopy(document)
    for operation in operations:
        op, path = operation.op, operation.path
        if op in ("move", "copy") and operation.from_ is None:
            raise RequestInvalid(f"A {op} needs `from`.", extras={"from": "required"})
        if op == "test":
            if _get(patched, path) != operation.value:
                raise Conflict(
                    f"The value at {path[:64]!r} is not the one tested.",
                    category_code="patch-test-failed",
                )
        elif op == "remove":
            _remove(patched, path)
        elif op in ("add", "replace"):
            _add(patched, path, copy.deepcopy(operation.value), replace=op == "replace")
        else:
            assert operation.from_ is not None
            value = _get(patched, operation.from_)
            if op == "move":
                _remove(patched, operation.from_)
            _add(patched, path, copy.deepcopy(value), replace=False)
    return patched
