/* Dashboard state: the page's configuration, the filter state and its query string.
 *
 * The page's query string is the single source of truth: every control change builds a new
 * state and commits it, which pushes its query string with history.pushState; main.js then
 * re-fetches everything with exactly that query string. Back/forward (popstate) re-reads it.
 */

function readJSON(id) {
  var el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

/* main.js starts nothing unless the page has both. */
export var config = readJSON("dashboard-config");
export var initialState = readJSON("dashboard-state");
var pageConfig = config || {};

/* A shared link's dashboard (/s/<token>/): the filters are the server's, fixed; the visitor
 * changes the period, zone, bots rule and buckets only, and the address stays under the link. */
export var READONLY = pageConfig.readonly === true;
var DASHBOARD_PATH = (pageConfig.pages && pageConfig.pages.dashboard) || "";

export var DEFAULT_RANGE = pageConfig.default_range || "30d";
export var DEFAULT_TZ = pageConfig.default_tz || "UTC";
export var DIMENSIONS = pageConfig.dimensions || [];
var DIM_BY_KEY = {};
DIMENSIONS.forEach(function (d) {
  DIM_BY_KEY[d.key] = d;
});
export var PRESET_KEYS = {};
(pageConfig.presets || []).forEach(function (p) {
  PRESET_KEYS[p.key] = p.label;
});
PRESET_KEYS.custom = PRESET_KEYS.custom || "Custom range";
export var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
export var BUCKETS = ["hour", "day", "week", "month"];
/* [{name, offset}] of the current IANA zone names; code -> name of the known countries; the
 * values the closed dimensions (device, sender, bot_reason) take. */
export var ZONES = pageConfig.zones || [];
export var COUNTRIES = pageConfig.countries || {};
export var CHOICES = pageConfig.choices || {};
export var BREAKDOWN_LIMIT = 10;
export var SUGGESTION_LIMIT = 100;

/* ---------------------------------------------------------------- state & query strings */

export function emptyFilters() {
  var filters = {};
  DIMENSIONS.forEach(function (d) {
    filters[d.key] = { is: [], not: [] };
  });
  return filters;
}

function uniqueStrings(values) {
  var seen = {};
  var out = [];
  (values || []).forEach(function (v) {
    // The server strips values; mirror it so the chips match what is applied.
    var s = String(v == null ? "" : v).trim();
    if (!Object.prototype.hasOwnProperty.call(seen, s)) {
      seen[s] = true;
      out.push(s);
    }
  });
  return out;
}

export function normalizeState(raw) {
  raw = raw || {};
  var filters = emptyFilters();
  var rawFilters = raw.filters || {};
  Object.keys(filters).forEach(function (key) {
    var f = rawFilters[key] || {};
    filters[key].is = uniqueStrings(f.is);
    filters[key].not = uniqueStrings(f.not);
  });
  var range = Object.prototype.hasOwnProperty.call(PRESET_KEYS, raw.range)
    ? raw.range
    : DEFAULT_RANGE;
  return {
    range: range,
    from: range === "custom" ? raw.from || "" : "",
    to: range === "custom" ? raw.to || "" : "",
    tz: raw.tz || DEFAULT_TZ,
    bots: raw.bots === "include" ? "include" : "exclude",
    bucket: BUCKETS.indexOf(raw.bucket) !== -1 ? raw.bucket : "",
    filters: filters
  };
}

export function stateFromSearch(search) {
  var params = new URLSearchParams(search);
  var raw = {
    range: params.get("range") || DEFAULT_RANGE,
    from: params.get("from") || "",
    to: params.get("to") || "",
    tz: params.get("tz") || DEFAULT_TZ,
    bots: params.get("bots") || "exclude",
    bucket: params.get("bucket") || "",
    filters: {}
  };
  if (!READONLY) {
    DIMENSIONS.forEach(function (d) {
      raw.filters[d.key] = { is: params.getAll(d.key), not: params.getAll(d.key + "!") };
    });
  }
  return normalizeState(raw);
}

export function cloneState(s) {
  var filters = {};
  Object.keys(s.filters).forEach(function (key) {
    filters[key] = { is: s.filters[key].is.slice(), not: s.filters[key].not.slice() };
  });
  return {
    range: s.range,
    from: s.from,
    to: s.to,
    tz: s.tz,
    bots: s.bots,
    bucket: s.bucket,
    filters: filters
  };
}

/* Same parameters, in the same order, as the server's ClickFilter.params(). A shared dashboard
 * always sends bots and bucket (bucket= for "the range decides"): the server starts from the
 * link's saved view, whose bots=include or bucket=week would otherwise stay in force. */
export function stateParams(s, options) {
  var params = new URLSearchParams();
  params.append("range", s.range);
  if (s.range === "custom") {
    params.append("from", s.from);
    params.append("to", s.to);
  }
  params.append("tz", s.tz);
  if (s.bots !== "exclude" || READONLY) {
    params.append("bots", s.bots);
  }
  if (s.bucket || READONLY) {
    params.append("bucket", s.bucket);
  }
  if (READONLY) {
    return params; // a shared dashboard's filters are the server's: the API refuses any
  }
  DIMENSIONS.forEach(function (d) {
    if (options && options.without === d.key) {
      return;
    }
    var f = s.filters[d.key];
    f.is.forEach(function (v) {
      params.append(d.key, v);
    });
    f.not.forEach(function (v) {
      params.append(d.key + "!", v);
    });
  });
  return params;
}

/* URLSearchParams encodes the "!" of "country!" as %21 and every "/" as %2F; Django decodes
 * either, and the literal forms are easier to read in the address bar ("tz=Europe/Berlin").
 * "%21=" can only end a key: a "=" inside a value is encoded as %3D. "/" needs no escaping
 * in a query string (RFC 3986). */
export function queryString(params) {
  return params.toString().replace(/%21=/g, "!=").replace(/%2F/gi, "/");
}

export function hasDimensionFilters(s) {
  return Object.keys(s.filters).some(function (key) {
    return s.filters[key].is.length > 0 || s.filters[key].not.length > 0;
  });
}

export function isDefaultView(s) {
  return !hasDimensionFilters(s) && s.range === DEFAULT_RANGE && s.bots === "exclude";
}

export var state = normalizeState(initialState);

var onCommit = function () {};

/* What to do after every commit: main.js syncs the controls and reloads the numbers. */
export function afterCommit(callback) {
  onCommit = callback;
}

/* Back/forward: the state read back from the address bar. */
export function setState(next) {
  state = next;
}

/* The page's own path; a shared dashboard's is its link's, whatever the address bar says. */
function pagePath() {
  return READONLY && DASHBOARD_PATH ? DASHBOARD_PATH : window.location.pathname;
}

/* A shared dashboard's address names every parameter from the start, so that back/forward to
 * it shows what it showed: a bare /s/<token>/ means the saved view's period, which this page
 * cannot tell from the defaults. */
export function settleAddress() {
  if (READONLY) {
    var qs = queryString(stateParams(state));
    window.history.replaceState(null, "", pagePath() + (qs ? "?" + qs : "") + window.location.hash);
  }
}

export function commit(next, options) {
  var replace = options && options.replace;
  var qs = queryString(stateParams(next));
  var url = pagePath() + (qs ? "?" + qs : "") + window.location.hash;
  state = next;
  if (replace) {
    window.history.replaceState(null, "", url);
  } else if (url !== window.location.pathname + window.location.search + window.location.hash) {
    window.history.pushState(null, "", url);
  }
  onCommit();
}

/* value -> label per dimension, from the page and from every API answer. */
export var labels = {};
/* Returns true when the label is new or different. */
export function rememberLabel(dim, value, label) {
  if (!label) {
    return false;
  }
  labels[dim] = labels[dim] || {};
  var key = String(value);
  if (labels[dim][key] === String(label)) {
    return false;
  }
  labels[dim][key] = String(label);
  return true;
}
(function () {
  var initialLabels = (initialState && initialState.labels) || {};
  Object.keys(initialLabels).forEach(function (dim) {
    Object.keys(initialLabels[dim] || {}).forEach(function (value) {
      rememberLabel(dim, value, initialLabels[dim][value]);
    });
  });
})();

export function valueLabel(dim, value) {
  var known = labels[dim] && labels[dim][String(value)];
  if (known) {
    return known;
  }
  return value === "" ? "Unknown" : String(value);
}

export function dimensionLabel(dim) {
  return DIM_BY_KEY[dim] ? DIM_BY_KEY[dim].label : dim;
}
