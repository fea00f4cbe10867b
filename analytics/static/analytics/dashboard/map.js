/* The country map: Natural Earth's countries (vendor/world-atlas-2.0.2/world-110m.json, built
 * by tools/build_world_map.py) drawn as plain SVG, shaded by the country breakdown's clicks.
 *
 * Hover or focus a country for its numbers; click it (or press Enter) to filter the dashboard
 * by it, as the country list's rows do. Only countries with clicks take focus, so the keyboard
 * is not walked through 170 empty shapes. Names from the API are set with textContent only.
 *
 * On a shared link's dashboard (READONLY) the numbers show on hover and focus the same way, but
 * a country is no button: the filters are the link's (addFilter refuses them).
 */

import { breakdownSpec, pageBreakdown } from "./api.js";
import { $ } from "./dom.js";
import { addFilter } from "./filters.js";
import { fmtInt, fmtShare } from "./format.js";
import { READONLY, state } from "./state.js";

var SVG = "http://www.w3.org/2000/svg";
var LEVELS = 5;
var panel = $("panel-map");
var mapReady = null;
var shapes = {}; // alpha-2 code -> <path>
var figures = {}; // alpha-2 code -> {label, clicks, share}

function buildSvg(map) {
  var svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", map.viewBox);
  svg.setAttribute("class", READONLY ? "map__svg map__svg--readonly" : "map__svg");
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-label", "World map of clicks by country");
  Object.keys(map.countries).forEach(function (code) {
    var shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", map.countries[code].d);
    shape.setAttribute("class", "map__country");
    shape.dataset.country = code;
    shape.dataset.name = map.countries[code].name;
    shapes[code] = shape;
    svg.appendChild(shape);
  });
  svg.addEventListener("pointerover", onPoint);
  svg.addEventListener("pointermove", onPoint);
  svg.addEventListener("pointerleave", hideTip);
  svg.addEventListener("focusin", onFocus);
  svg.addEventListener("focusout", hideTip);
  svg.addEventListener("click", onChoose);
  svg.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onChoose(event);
    }
  });
  $("map-canvas").replaceChildren(svg);
}

function loadMap() {
  if (!mapReady) {
    mapReady = fetch(panel.dataset.mapUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("The world map could not be loaded.");
        }
        return response.json();
      })
      .then(function (map) {
        buildSvg(map);
        return map;
      });
  }
  return mapReady;
}

/* Shade level 1..LEVELS by the square root of clicks over the most clicked country's, so a
 * country with a tenth of the leader's clicks is still visibly shaded. */
function level(clicks, max) {
  if (!clicks) {
    return 0;
  }
  return Math.max(1, Math.ceil(Math.sqrt(clicks / max) * LEVELS));
}

/* The smallest click count that reaches each level, for the legend. */
function levelFloor(n, max) {
  return Math.floor(max * Math.pow((n - 1) / LEVELS, 2)) + 1;
}

function renderLegend(max) {
  var legend = $("map-legend");
  legend.replaceChildren();
  if (!max) {
    return;
  }
  for (var n = 1; n <= LEVELS; n++) {
    var low = levelFloor(n, max);
    var high = n === LEVELS ? max : levelFloor(n + 1, max) - 1;
    if (high < low) {
      continue; // few clicks: this level has no whole number of its own
    }
    var item = document.createElement("li");
    item.className = "map__legend-item";
    var swatch = document.createElement("span");
    swatch.className = "map__swatch map__swatch--" + n;
    swatch.setAttribute("aria-hidden", "true");
    var text = document.createElement("span");
    text.textContent = low === high ? fmtInt(low) : fmtInt(low) + "–" + fmtInt(high);
    item.append(swatch, text);
    legend.appendChild(item);
  }
}

function render(map, data) {
  var rows = data.rows || [];
  var max = rows.reduce(function (m, row) {
    return Math.max(m, row.clicks);
  }, 0);
  figures = {};
  var offMap = data.other ? data.other.clicks : 0;
  rows.forEach(function (row) {
    if (row.value && shapes[row.value]) {
      figures[row.value] = row;
    } else {
      offMap += row.clicks; // unknown, or a country too small for a 1:110m map
    }
  });
  var chosen = (state.filters.country && state.filters.country.is) || [];
  Object.keys(shapes).forEach(function (code) {
    var shape = shapes[code];
    var row = figures[code];
    var lvl = row ? level(row.clicks, max) : 0;
    shape.setAttribute("class", "map__country map__country--" + lvl);
    shape.dataset.clicks = String(row ? row.clicks : 0);
    shape.classList.toggle("map__country--chosen", chosen.indexOf(code) !== -1);
    if (row && READONLY) {
      // Focusable for its numbers (the tip), but nothing to press.
      shape.setAttribute("tabindex", "0");
      shape.setAttribute("role", "img");
      shape.setAttribute("aria-label", describe(code));
    } else if (row) {
      shape.setAttribute("tabindex", "0");
      shape.setAttribute("role", "button");
      shape.setAttribute("aria-label", describe(code) + ". Select to filter by it.");
    } else {
      shape.removeAttribute("tabindex");
      shape.removeAttribute("role");
      shape.removeAttribute("aria-label");
    }
  });
  renderLegend(max);
  var note = $("map-note");
  note.hidden = offMap === 0;
  note.textContent = offMap
    ? fmtInt(offMap) + " clicks are not on the map: unknown countries, or ones too small for it."
    : "";
  hideTip();
}

function describe(code) {
  var row = figures[code];
  var name = row ? row.label : shapes[code].dataset.name;
  if (!row) {
    return name + ": no clicks";
  }
  return name + ": " + fmtInt(row.clicks) + " clicks (" + fmtShare(row.share) + ")";
}

function showTip(code, x, y) {
  var tip = $("map-tip");
  var box = panel.getBoundingClientRect(); // the tip is placed within the panel
  tip.textContent = describe(code);
  tip.hidden = false;
  // CSSOM, not a style attribute: the CSP allows it. Kept inside the panel near the edges.
  var left = Math.min(Math.max(x - box.left, 0), box.width - tip.offsetWidth);
  tip.style.left = Math.max(left, 0) + "px";
  tip.style.top = Math.max(y - box.top - tip.offsetHeight - 8, 0) + "px";
}

function hideTip() {
  $("map-tip").hidden = true;
}

function codeOf(event) {
  var target = event.target;
  return target && target.dataset ? target.dataset.country : undefined;
}

function onPoint(event) {
  var code = codeOf(event);
  if (code) {
    showTip(code, event.clientX, event.clientY);
  } else {
    hideTip();
  }
}

function onFocus(event) {
  var code = codeOf(event);
  if (code) {
    var box = event.target.getBoundingClientRect();
    showTip(code, box.left + box.width / 2, box.top);
  }
}

function onChoose(event) {
  var code = codeOf(event);
  if (code && figures[code]) {
    addFilter("country", code, figures[code].label);
  }
}

var MAP_LIMIT = 1000; // every country with clicks

/* The map's breakdowns= item for the page endpoint; none without the map panel. */
export function mapSpecs() {
  return panel ? [breakdownSpec("country", MAP_LIMIT)] : [];
}

/* Shade the map from the page answer (the promise main.js fetched with mapSpecs). */
export function loadMapPanel(when, page) {
  if (!panel) {
    return [];
  }
  panel.setAttribute("aria-busy", "true");
  return [
    when(Promise.all([loadMap(), page]), function (both) {
      render(both[0], pageBreakdown(both[1], "country", MAP_LIMIT));
      panel.setAttribute("aria-busy", "false");
    })
  ];
}
