// Starts Swagger UI on the API reference page (api/docs.py). A file of its own, not an
// inline script: the page's Content-Security-Policy allows scripts from this origin only.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.openapi,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // A search box over the tags, and every tag folded: the API has over a hundred operations.
    filter: true,
    docExpansion: "none",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    // Never ask a validator service elsewhere about the document: the page works offline.
    validatorUrl: null,
  });
});
