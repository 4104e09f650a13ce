"""What a dashboard handler reaches for: the API's pool, queue and settings (kept on the
root application, so read through `request.config_dict`, which looks them up the chain of
applications), and the operator the request acts for."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from arq.connections import ArqRedis

from api.appkeys import POOL, REDIS, SETTINGS
from config import Settings
from dashboard.keys import OPERATOR
from ledger.dashboard import Operator


def pool(request: web.Request) -> asyncpg.Pool:
    return request.config_dict[POOL]


def redis(request: web.Request) -> ArqRedis:
    return request.config_dict[REDIS]


def settings(request: web.Request) -> Settings:
    return request.config_dict[SETTINGS]


def operator(request: web.Request) -> Operator:
    """The signed-in operator; every page but sign-in has one (dashboard.session)."""
    return request[OPERATOR]


def marketplace_id(request: web.Request) -> str:
    """The marketplace every read and action of the request is scoped by."""
    return request[OPERATOR].marketplace_id
