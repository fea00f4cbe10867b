/* The stats API: JSON with the state's query string, and readable errors. */

import { config, queryString, state, stateParams } from "./state.js";

function ApiError(message, status) {
  this.name = "ApiError";
  this.message = message;
  this.status = status;
}
ApiError.prototype = Object.create(Error.prototype);

function errorMessage(data) {
  if (!data) {
    return "";
  }
  if (typeof data === "string") {
    return data;
  }
  if (data.detail) {
    return String(data.detail);
  }
  if (data.error) {
    return String(data.error);
  }
  var messages = [];
  Object.keys(data).forEach(function (key) {
    var value = data[key];
    messages.push(Array.isArray(value) ? value.join(" ") : String(value));
  });
  return messages.join(" ");
}

export function getJSON(url, signal) {
  return fetch(url, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
    signal: signal
  }).then(function (response) {
    var type = response.headers.get("Content-Type") || "";
    var isJSON = type.indexOf("json") !== -1;
    if (response.status === 401 || (response.ok && !isJSON && response.redirected)) {
      throw new ApiError("Your session has ended. Reload the page to sign in again.", 401);
    }
    if (!response.ok || !isJSON) {
      var fallback = "The server answered " + response.status + ".";
      if (!isJSON) {
        throw new ApiError(fallback, response.status);
      }
      return response.json().then(
        function (data) {
          throw new ApiError(errorMessage(data) || fallback, response.status);
        },
        function () {
          throw new ApiError(fallback, response.status);
        }
      );
    }
    return response.json();
  });
}

export function apiURL(name, extra, dim) {
  var base = config.api[name];
  if (dim) {
    base = base.replace("__dimension__", encodeURIComponent(dim));
  }
  var params = stateParams(state);
  Object.keys(extra || {}).forEach(function (key) {
    params.set(key, extra[key]);
  });
  return base + "?" + queryString(params);
}

/* The page endpoint's breakdowns= item for one dimension at one limit. */
export function breakdownSpec(dimension, limit) {
  return dimension + ":" + limit;
}

/* That breakdown's answer in a page answer. */
export function pageBreakdown(page, dimension, limit) {
  return page.breakdowns.filter(function (item) {
    return item.dimension === dimension && item.limit === limit;
  })[0];
}
