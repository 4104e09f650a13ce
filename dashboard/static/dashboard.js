// The dashboard's own script (no inline script anywhere: the CSP forbids it).
// Every htmx request carries the session's CSRF token, read from <meta name="csrf-token">.
"use strict";
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});
