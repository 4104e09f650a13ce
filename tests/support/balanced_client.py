"""Balanced's official Python client (`balanced` 1.2 on PyPI, and `wac`, its HTTP layer),
made to import on Python 3, for tests that drive ballast as a marketplace moving from
Balanced would.

Both were written for Python 2 and are installed unchanged (dev.py, pyproject's
`[tool.ballast]`). Their modules are loaded here from the installed files with the few
rewrites Python 3 needs (2to3's, by text: renamed modules, dict iteration, `basestring`,
`xrange`, and the class-level `__metaclass__` that Python 3 ignores); nothing else of the
client changes, so what it sends is what Balanced's users' code sends."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
import warnings
from types import ModuleType
from typing import Any

# (pattern, replacement) applied to every module of the client, in order.
REWRITES = [
    (r"^import httplib$", "import http.client as httplib"),
    (r"^import urlparse$", "import urllib.parse as urlparse"),
    (r"\burllib\.urlencode\b", "urlparse.urlencode"),
    (r"\.iteritems\(\)", ".items()"),
    (r"\.itervalues\(\)", ".values()"),
    (r"\.iterkeys\(\)", ".keys()"),
    (r"\bbasestring\b", "str"),
    (r"\bxrange\b", "range"),
    # wac.Resource: its registry of resource classes is built by its metaclass.
    (
        r"^class Resource\(_ObjectifyMixin\):$",
        "class Resource(_ObjectifyMixin, metaclass=_ResourceMeta):",
    ),
    # balanced.exc.HTTPError: its metaclass maps category codes to exception classes; here a
    # class decorator does the same (see _register_error_types).
    (r"^    class __metaclass__\(type\):$", "    class _unused_python2_metaclass(type):"),
]
MODULES = ("wac", "balanced")


def _rewritten(source: str) -> str:
    for pattern, replacement in REWRITES:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    return source


class _Python3Loader(importlib.abc.Loader):
    """Executes a module of the client from its rewritten source (never from a cached
    bytecode file, which would hold the unrewritten code)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        with open(self.path, encoding="utf-8") as file:
            source = _rewritten(file.read())
        with warnings.catch_warnings():
            # 2014 code: invalid escape sequences in its docstrings are no concern of ours.
            warnings.simplefilter("ignore", SyntaxWarning)
            code = compile(source, self.path, "exec", dont_inherit=True)
        exec(code, module.__dict__)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] not in MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        spec.loader = _Python3Loader(spec.origin)
        return spec


def _register_error_types(exc: ModuleType) -> None:
    """What balanced.exc.HTTPError's Python 2 metaclass did for every error class: map
    each category code (an upper-case class attribute) to its class."""
    pending = [exc.HTTPError]
    while pending:
        cls = pending.pop()
        cls.types = [
            getattr(cls, key)
            for key in dir(cls)
            if key.isupper() and isinstance(getattr(cls, key), str)
        ]
        cls.type_to_error.update(dict.fromkeys(cls.types, cls))
        pending += cls.__subclasses__()


def load() -> ModuleType:
    """The `balanced` module, imported once."""
    if "balanced" not in sys.modules:
        finder = _Finder()
        sys.meta_path.insert(0, finder)
        try:
            import balanced  # Through the finder above.
        finally:
            sys.meta_path.remove(finder)
        _register_error_types(balanced.exc)
    return sys.modules["balanced"]
