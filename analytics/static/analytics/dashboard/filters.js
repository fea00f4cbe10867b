/* The filter bar: date range, time zone, bots, the chips of the active filters, and the
 * changes they make to the state (each one a commit). */

import { $, el } from "./dom.js";
import { isoDate } from "./format.js";
import {
  DATE_RE,
  DEFAULT_TZ,
  DIMENSIONS,
  cloneState,
  commit,
  config,
  dimensionLabel,
  emptyFilters,
  isDefaultView,
  normalizeState,
  queryString,
  rememberLabel,
  state,
  stateParams,
  valueLabel
} from "./state.js";
import { lastSummary } from "./summary.js";

var rangeSelect = $("range-select");
var customRange = $("custom-range");
var dateFrom = $("date-from");
var dateTo = $("date-to");
var dateError = $("date-error");
var tzSelect = $("tz-select");
var botsToggle = $("bots-toggle");
var chipsList = $("filter-chips");
var clearFilters = $("clear-filters");
var addFilterDetails = $("add-filter");

var browserZone = (function () {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return "";
  }
})();

var allZones = (function () {
  try {
    return typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  } catch (e) {
    return [];
  }
})();

export function buildZoneOptions() {
  var current = state.tz;
  tzSelect.textContent = "";
  var quick = [];
  function addQuick(zone, note) {
    if (!zone) {
      return;
    }
    for (var i = 0; i < quick.length; i++) {
      if (quick[i].zone === zone) {
        quick[i].notes.push(note);
        return;
      }
    }
    quick.push({ zone: zone, notes: [note] });
  }
  addQuick(DEFAULT_TZ, "default");
  addQuick(browserZone, "your browser");
  if (current !== DEFAULT_TZ && current !== browserZone) {
    addQuick(current, "selected");
  }
  var group = el("optgroup");
  group.label = "Suggested";
  quick.forEach(function (q) {
    var option = el("option", null, q.zone + " (" + q.notes.join(", ") + ")");
    option.value = q.zone;
    group.appendChild(option);
  });
  tzSelect.appendChild(group);
  if (allZones.length) {
    var all = el("optgroup");
    all.label = "All time zones";
    allZones.forEach(function (zone) {
      var option = el("option", null, zone);
      option.value = zone;
      all.appendChild(option);
    });
    tzSelect.appendChild(all);
  }
  tzSelect.value = current;
}

export function syncControls() {
  rangeSelect.value = state.range;
  customRange.hidden = state.range !== "custom";
  if (state.range === "custom") {
    dateFrom.value = state.from;
    dateTo.value = state.to;
    dateTo.min = state.from || "";
    dateFrom.max = state.to || "";
  }
  hideDateError();
  if (tzSelect.value !== state.tz) {
    buildZoneOptions();
  }
  botsToggle.checked = state.bots === "include";
  $("summary-bots-title").textContent =
    state.bots === "include" ? "Bots and scanners included" : "Bots and scanners filtered out";
  renderChips();
  updateLinks();
}

function updateLinks() {
  var qs = queryString(stateParams(state));
  /* The export buttons download what the page shows: the same filters, read by the server. */
  document.querySelectorAll("a[data-export]").forEach(function (link) {
    link.href = link.dataset.export + (qs ? "?" + qs : "");
  });
  DIMENSIONS.forEach(function (d) {
    var link = $("see-all-" + d.key);
    if (link) {
      link.href =
        config.pages.breakdown.replace("__dimension__", encodeURIComponent(d.key)) +
        (qs ? "?" + qs : "");
    }
  });
}

function chipText(dim, op, value) {
  return dimensionLabel(dim) + (op === "not" ? " is not " : " is ") + valueLabel(dim, value);
}

export function renderChips() {
  var frag = document.createDocumentFragment();
  var count = 0;
  DIMENSIONS.forEach(function (d) {
    ["is", "not"].forEach(function (op) {
      state.filters[d.key][op].forEach(function (value, index) {
        var text = chipText(d.key, op, value);
        var li = el("li", "chip");
        li.dataset.dimension = d.key;
        li.dataset.op = op;
        li.dataset.value = value;
        if (index > 0) {
          // country=US&country=DE is "US or DE"; country!=US&country!=DE is "neither".
          li.dataset.join = op === "is" ? "or" : "and";
        }
        var bodyNode = el("span", "chip__body");
        var textNode = el("span", "chip__text");
        textNode.appendChild(el("span", "chip__dim", dimensionLabel(d.key)));
        textNode.appendChild(document.createTextNode(" "));
        textNode.appendChild(el("span", "chip__op", op === "not" ? "is not" : "is"));
        textNode.appendChild(document.createTextNode(" "));
        textNode.appendChild(el("span", "chip__value", valueLabel(d.key, value)));
        textNode.title = text;
        var remove = el("button", "chip__remove");
        remove.type = "button";
        remove.setAttribute("aria-label", "Remove filter: " + text);
        remove.appendChild(el("span", null, "×")).setAttribute("aria-hidden", "true");
        remove.addEventListener("click", function () {
          removeFilter(d.key, op, value);
        });
        bodyNode.appendChild(textNode);
        bodyNode.appendChild(remove);
        li.appendChild(bodyNode);
        frag.appendChild(li);
        count += 1;
      });
    });
  });
  chipsList.textContent = "";
  chipsList.appendChild(frag);
  chipsList.hidden = count === 0;
  clearFilters.hidden = count === 0;
}

/* ---------------------------------------------------------------- state changes */

export function addFilter(dim, value, label, op) {
  if (!state.filters[dim]) {
    return;
  }
  op = op === "not" ? "not" : "is";
  value = String(value == null ? "" : value).trim();
  rememberLabel(dim, value, label);
  if (state.filters[dim][op].indexOf(value) !== -1) {
    return; // already applied
  }
  var next = cloneState(state);
  var other = op === "is" ? "not" : "is";
  next.filters[dim][op].push(value);
  next.filters[dim][other] = next.filters[dim][other].filter(function (v) {
    return v !== value;
  });
  commit(next);
}

function removeFilter(dim, op, value) {
  var next = cloneState(state);
  next.filters[dim][op] = next.filters[dim][op].filter(function (v) {
    return v !== value;
  });
  commit(next);
  // Keep keyboard focus in the filter area once the chip is gone.
  var first = chipsList.querySelector(".chip__remove");
  (first || $("add-filter").querySelector("summary")).focus();
}

function resetFilters() {
  var next = normalizeState({ tz: state.tz });
  if (isDefaultView(state)) {
    next.range = "all"; // nothing to reset: widen to all time instead
  }
  commit(next);
}

function onRangeChange() {
  var next = cloneState(state);
  next.range = rangeSelect.value;
  if (next.range === "custom") {
    // Start from the period on screen, so "custom" first shows the same numbers.
    var from = "";
    var to = "";
    if (lastSummary && lastSummary.period) {
      var start = new Date(lastSummary.period.start);
      var end = new Date(new Date(lastSummary.period.end).getTime() - 1);
      if (!isNaN(start.getTime()) && !isNaN(end.getTime())) {
        from = isoDate(start, state.tz);
        to = isoDate(end, state.tz);
      }
    }
    if (!from) {
      var now = new Date();
      to = isoDate(now, state.tz);
      from = isoDate(new Date(now.getTime() - 29 * 86400000), state.tz);
    }
    next.from = from;
    next.to = to;
  } else {
    next.from = "";
    next.to = "";
  }
  commit(next);
  if (next.range === "custom") {
    dateFrom.focus();
  }
}

function hideDateError() {
  dateError.hidden = true;
  dateError.textContent = "";
}

function onDateChange() {
  var from = dateFrom.value;
  var to = dateTo.value;
  if (!DATE_RE.test(from) || !DATE_RE.test(to)) {
    dateError.textContent = "Enter both dates.";
    dateError.hidden = false;
    return;
  }
  if (to < from) {
    dateError.textContent = "The end date must be on or after the start date.";
    dateError.hidden = false;
    return;
  }
  hideDateError();
  if (from === state.from && to === state.to && state.range === "custom") {
    return;
  }
  var next = cloneState(state);
  next.range = "custom";
  next.from = from;
  next.to = to;
  commit(next);
}

function onZoneChange() {
  if (!tzSelect.value || tzSelect.value === state.tz) {
    return;
  }
  var next = cloneState(state);
  next.tz = tzSelect.value;
  commit(next);
}

function onBotsChange() {
  var next = cloneState(state);
  next.bots = botsToggle.checked ? "include" : "exclude";
  commit(next);
}

function onFilterFormSubmit(event) {
  event.preventDefault(); // controls apply on change; Enter in a date field lands here
  if (state.range === "custom" || rangeSelect.value === "custom") {
    onDateChange();
  }
}

function onClearFilters() {
  var next = cloneState(state);
  next.filters = emptyFilters();
  commit(next);
  addFilterDetails.querySelector("summary").focus();
}

export function initFilters() {
  rangeSelect.addEventListener("change", onRangeChange);
  dateFrom.addEventListener("change", onDateChange);
  dateTo.addEventListener("change", onDateChange);
  tzSelect.addEventListener("change", onZoneChange);
  botsToggle.addEventListener("change", onBotsChange);
  $("filter-form").addEventListener("submit", onFilterFormSubmit);
  clearFilters.addEventListener("click", onClearFilters);
  $("reset-filters").addEventListener("click", resetFilters);
}
