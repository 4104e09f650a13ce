"""Domain errors, each carrying what the Balanced error envelope needs.

The API renders them as `{"errors": [{status, status_code, category_code, category_type,
description, extras, additional, request_id}]}`; the codes are Balanced's own (REFERENCE §H)."""

from __future__ import annotations

from typing import Any

HTTP_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

CATEGORY_TYPES = {
    400: "request",
    401: "request",
    402: "banking",
    403: "request",
    404: "request",
    405: "request",
    409: "logical",
    413: "request",
    415: "request",
    422: "request",
    429: "request",
    500: "server",
    503: "server",
}


class BalancedError(Exception):
    """An error the client made or a rule the request broke; rendered, never a 500."""

    status_code: int = 400
    category_code: str = "request"

    def __init__(
        self,
        description: str,
        *,
        category_code: str | None = None,
        status_code: int | None = None,
        extras: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        if category_code is not None:
            self.category_code = category_code
        if status_code is not None:
            self.status_code = status_code
        assert self.status_code in HTTP_REASONS, self.status_code
        self.extras = extras or {}
        self.headers = headers or {}

    @property
    def category_type(self) -> str:
        return CATEGORY_TYPES[self.status_code]


class RequestInvalid(BalancedError):
    status_code = 400
    category_code = "request"


class NotFound(BalancedError):
    status_code = 404
    category_code = "not-found"


class Unauthorized(BalancedError):
    status_code = 401
    category_code = "authentication-required"


class Conflict(BalancedError):
    status_code = 409


class TransactionFailed(BalancedError):
    """The transaction was persisted as `failed`; Balanced answers with the transaction
    itself beside the `errors` (409, or 402 for a processor decline)."""

    status_code = 409

    def __init__(
        self,
        description: str,
        *,
        category_code: str,
        resource_type: str,
        resource: dict[str, Any],
        status_code: int = 409,
    ) -> None:
        super().__init__(description, category_code=category_code, status_code=status_code)
        self.resource_type = resource_type
        self.resource = resource


class ServiceUnavailable(BalancedError):
    status_code = 503
    category_code = "service-unavailable"
