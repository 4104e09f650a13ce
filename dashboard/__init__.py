"""The operator dashboard: `/dashboard` on the API, server-rendered, signed in with an API key.

Layout of the package
---------------------
- `app.py`        the sub-application (mounted by api/app.py at DASHBOARD_PREFIX); its
                  middlewares, outermost first: session (encrypted cookie) → error pages →
                  CSRF → operator (is the session's key still live?). The API's own
                  middlewares (HTTP Basic, rate limit, JSON envelopes) step aside for it.
- `session.py`    sign-in/out, the cookie (HttpOnly, SameSite=Strict, Path=/dashboard,
                  Fernet-encrypted with BALLAST_SESSION_KEY; holds key id, marketplace id
                  and CSRF token — never the secret), PUBLIC_ROUTE_NAMES.
- `csrf.py`       the per-session token; every POST needs it (form field `csrf_token` or
                  header `X-CSRF-Token`) or gets a 403 page before its handler runs.
- `security.py`   CSP and the other headers on every response.
- `errors.py`     HTML error pages (never the API's JSON, never a bare 500).
- `nav.py`        NAV, the header's entries; `views/coming.py` COMING, the placeholders.
- `context.py`    pool(request), redis(request), settings(request), operator(request),
                  marketplace_id(request). Use these: `request.app` is the dashboard
                  sub-application, which does not hold the API's pool.
- `actions.py`    running a ledger function as a form's action (transaction, jobs, the
                  API's error text on refusal), `cents()` for amounts.
- `forms.py`      read_form(request), text_field(form, name): malformed input → 400 or None.
- `paging.py`     limits(request) and page(...) for lists; `formatting.py` money & co.
- `templating.py` the Jinja2 environment (autoescape on everywhere, StrictUndefined) and
                  `render(request, template, context, status=200)`.
- `live.py`, `views/stream.py`   the live event stream; `static/live.js` its client.
- `charts.py`     the overview's SVG chart.
- `templates/`    base.html (layout), macros.html (helpers), error.html, coming.html, and
                  one folder per page; `static/` dashboard.css, dashboard.js, live.js, and
                  vendor/htmx.min.js (htmx 2, vendored: no CDN, works offline).

How to add a page (say "orders")
--------------------------------
1. Views: create `dashboard/views/orders.py` with handlers and a module-level
   `ROUTES: list[web.RouteDef]`. Route paths are relative to /dashboard and names are
   `<section>.<name>`; the page the nav links to is `<section>.index`:

       ROUTES = [
           web.get("/orders", orders_list, name="orders.index"),
           web.get("/orders/{id}", order_page, name="orders.detail"),
           web.post("/orders/{id}/refunds", refund, name="orders.refund"),
       ]

   Add the module to `MODULES` in `dashboard/views/__init__.py`, and remove its section
   ("orders") from `COMING` in `dashboard/views/coming.py` (the placeholder route of the
   same name would clash). The nav entry already exists in `dashboard/nav.py` (NAV):
   for a page not in it, add `NavEntry("<section>", "<Label>")` where it belongs. The
   entry is highlighted on every route whose name starts with `<section>.`.
   Every route is signed-in only (dashboard.session); path ids are user input — read them
   with `request.match_info["id"]`, and a ledger NotFound becomes a 404 page by itself.
2. Templates: `dashboard/templates/orders/index.html`, `.../detail.html`, each starting

       {% extends "base.html" %}
       {% import "macros.html" as ui with context %}
       {% block title %}Orders{% endblock %}
       {% block main %}<h1>Orders</h1> ... {% endblock %}

   and rendered with `return await render(request, "orders/index.html", {...})`. Links:
   `{{ url('orders.detail', id=order.id) }}`, static files `{{ static('x.css') }}`.
   Everything is autoescaped: never use `|safe` or Markup on data. No inline <script>,
   no style="" attributes, no on*="" handlers: the CSP blocks them (add classes to
   static/dashboard.css; add behaviour to a static .js file loaded by base.html).
   Helpers (macros.html): `ui.badge(status)`, `ui.amount(cents, signed=False)` (right-
   aligned in a `<td class="num">`), filters `|money` (`$1,234.56`), `|signed_money`
   (`+$12.00` / minus sign), `|when` (UTC), `|percent`; `ui.pagination(page)` with
   `page = paging.page(request, limit, offset, total)` after
   `limit, offset = paging.limits(request)`; `ui.empty_state("No orders yet",
   "Create one with POST /customers/{id}/orders…")` where a list is empty. Wrap wide
   tables in `<div class="table-scroll">` so phones scroll the table, not the page.
3. Reading data: only through `ledger/` (tests/test_layering.py fails on SQL anywhere
   else). Reuse the functions the API views call (`ledger.orders.get(pool, marketplace_id,
   id)`, `ledger.transfers...`); what the API lacks goes in `ledger/dashboard.py` with
   its named queries in `ledger/sql/dashboard.sql` (`-- name: <query>` + one-line
   comment; parameterised `$1`; every query scoped by marketplace_id), returning
   dataclasses. Pass `context.pool(request)` and `context.marketplace_id(request)`.
4. Actions (POST): a form made by the confirm macro carries the CSRF token already:

       {{ ui.confirm(url('orders.refund', id=order.id), "Refund", debit.amount_cents,
                     error=error, done=done, fields={"debit_id": debit.id}) }}

   It states the amount, needs a ticked confirmation box, and with htmx swaps itself for
   the handler's answer. The handler reads the form (`read_form`, `text_field`,
   `actions.cents`), runs the ledger function through `actions.transfer(request, lambda
   connection: debits.refund(connection, marketplace_id, debit_id, TransferRequest(...)))`
   (or `actions.run` for what returns `(result, jobs)`), and renders the same form
   (a fragment template calling ui.confirm, when `HX-Request` is set — `htmx_request` in
   templates) with `error=outcome.error` (the API's Balanced description) or
   `done="Refunded $12.00."`; without htmx, re-render the whole page with them. Any other
   form: put `{{ ui.csrf_field() }}` inside it. htmx requests get the token as a header
   from static/dashboard.js. Answer a refusal with status 200 (htmx swaps only 2xx) or
   422 for plain forms. Never let a BalancedError escape uncaught from an action: it would
   become an error page instead of the message beside the form.
5. Live elements: an element that shows a state changed by events re-fetches itself
   when the stream reports its entity:

       {% call ui.live(credit.id, url('transactions.badge', id=credit.id)) %}
         {{ ui.badge(credit.status) }}
       {% endcall %}

   Give it a small GET route returning the element's new HTML — again made with
   `ui.live(...)`, so that it stays live (it replaces itself: hx-swap=outerHTML). Use
   entity id "*" to refresh on any event of the marketplace (the overview's figures do,
   see templates/overview/figures.html). static/live.js opens the stream only on pages
   with such an element; each message is `{"entity_id", "status", "type", "event_id"}`.
6. Tests: one behaviour each in `tests/browser/test_<page>.py`, with the `desktop` or
   `phone` fixture (tests/browser/conftest.py: `await desktop.sign_in(marketplace.secret)`,
   `desktop.url(path)`, `desktop.dialogs`, `desktop.csp_violations`) and the API fixtures
   of tests/conftest.py (`marketplace`, `pipeline`); data through the API
   (tests/support/flows.py), assertions with Playwright's `expect`. Screenshots only when
   BALLAST_SCREENSHOTS=1, into docs/screenshots/.
"""
