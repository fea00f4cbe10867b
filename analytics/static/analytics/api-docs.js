// Starts Swagger UI on /api/docs/ (templates/analytics/api_docs.html). A static file because
// the site's Content Security Policy forbids inline scripts; settings come from json_script.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("swagger-config").textContent);
  window.ui = SwaggerUIBundle({
    url: config.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No badge from validator.swagger.io: the page loads nothing from other sites.
    validatorUrl: null,
    // The API is read-only: "Try it out" sends GETs with the viewer's session cookie.
    withCredentials: true,
    ...config.settings,
  });
})();
