// Live updates: listen to the marketplace's events (GET /dashboard/stream, server-sent
// events) and make every element showing a changed entity fetch itself again.
//
// An element opts in with data-live-entity="<entity id>" (or "*": any event) plus its own
// htmx attributes: hx-get="<url answering its new HTML>" hx-trigger="live" (the macro
// ui.live in macros.html writes them). On a message this script triggers the "live"
// event on those elements; htmx does the fetch and the swap.
"use strict";
(() => {
  const meta = document.querySelector('meta[name="live-stream"]');
  if (!meta || !window.EventSource || !document.querySelector("[data-live-entity]")) {
    return;
  }
  const source = new EventSource(meta.content);
  source.addEventListener("entity", (message) => {
    let entityId;
    try {
      entityId = JSON.parse(message.data).entity_id;
    } catch (error) {
      return;
    }
    // Compared as strings, never put into a selector: an id cannot inject CSS syntax.
    for (const element of document.querySelectorAll("[data-live-entity]")) {
      const wanted = element.dataset.liveEntity;
      if (wanted === "*" || wanted === entityId) {
        window.htmx.trigger(element, "live", { entityId });
      }
    }
  });
  // Tests and curious operators can tell the stream is open.
  source.addEventListener("open", () => document.documentElement.setAttribute("data-live", "open"));
  source.addEventListener("error", () => document.documentElement.setAttribute("data-live", "retrying"));
  window.addEventListener("pagehide", () => source.close());
})();
