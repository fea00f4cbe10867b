/* The filter bar: date range and its arrows, time zone, bots, the chips of the active filters,
 * and the changes they make to the state (each one a commit).
 *
 * A shared link's dashboard (READONLY) has no chips, no "Clear all filters" and no "Add filter":
 * its filters are fixed by the server. */

import { $, el } from "./dom.js";
import { isoDate } from "./format.js";
import {
  DATE_RE,
  DEFAULT_TZ,
  DIMENSIONS,
  READONLY,
  ZONES,
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
var tzSelect = $("tz-select"); // a text input with the zones as its datalist
var tzList = $("tz-zones");
var tzError = $("tz-error");
var rangePrev = $("range-prev");
var rangeNext = $("range-next");
var EARLIEST_DAY = "2000-01-01";
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

/* The server's list of current IANA names (Intl's keeps old ones such as Asia/Calcutta). */
var ZONE_OFFSET = {};
ZONES.forEach(function (z) {
  ZONE_OFFSET[z.name] = z.offset;
});

/* The datalist: the default and the browser's zone first, then every zone, each with its
 * offset as the label, so typing "Kolk" or "+05:30" finds Asia/Kolkata. */
export function buildZoneOptions() {
  var notes = {};
  function note(zone, text) {
    if (zone && ZONE_OFFSET[zone]) {
      (notes[zone] = notes[zone] || []).push(text);
    }
  }
  note(DEFAULT_TZ, "default");
  note(browserZone, "your browser");
  var first = Object.keys(notes);
  var rest = ZONES.map(function (z) {
    return z.name;
  }).filter(function (name) {
    return first.indexOf(name) === -1;
  });
  var frag = document.createDocumentFragment();
  first.concat(rest).forEach(function (name) {
    var option = el("option");
    option.value = name;
    option.label = ZONE_OFFSET[name] + (notes[name] ? " · " + notes[name].join(", ") : "");
    frag.appendChild(option);
  });
  tzList.textContent = "";
  tzList.appendChild(frag);
  tzSelect.value = state.tz;
}

/* The zone a typed text names: the name itself (any case), else the only zone containing it. */
function resolveZone(text) {
  var typed = text.trim().replace(/ /g, "_").toLowerCase();
  if (!typed) {
    return "";
  }
  var names = Object.keys(ZONE_OFFSET);
  var matches = names.filter(function (name) {
    return name.toLowerCase() === typed;
  });
  if (!matches.length) {
    matches = names.filter(function (name) {
      return name.toLowerCase().indexOf(typed) !== -1;
    });
  }
  return matches.length === 1 ? matches[0] : "";
}

function showZoneError(message) {
  tzError.textContent = message;
  tzError.hidden = !message;
  if (message) {
    tzSelect.setAttribute("aria-invalid", "true");
  } else {
    tzSelect.removeAttribute("aria-invalid");
  }
}

export function syncControls() {
  rangeSelect.value = state.range;
  customRange.hidden = state.range !== "custom";
  var today = isoDate(new Date(), state.tz);
  dateFrom.min = EARLIEST_DAY;
  dateTo.max = today;
  if (state.range === "custom") {
    dateFrom.value = state.from;
    dateTo.value = state.to;
    dateTo.min = state.from || EARLIEST_DAY;
    dateFrom.max = state.to || today;
  }
  hideDateError();
  tzSelect.value = state.tz;
  showZoneError("");
  // Until the new period's summary says where its neighbours are (renderSteps).
  rangePrev.disabled = true;
  rangeNext.disabled = true;
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
  if (READONLY) {
    return; // no filters to remove here
  }
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
  if (READONLY || !state.filters[dim]) {
    return; // a shared dashboard's filters are fixed
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

/* ---------------------------------------------------------------- range arrows */

var steps = { previous: null, next: null };

function stepLabel(step) {
  return step.from === step.to ? step.from : step.from + " to " + step.to;
}

/* The summary's steps: the periods of the same length before and after this one. */
export function renderSteps(summary) {
  steps = (summary && summary.steps) || { previous: null, next: null };
  [
    [rangePrev, steps.previous, "Previous period"],
    [rangeNext, steps.next, "Next period"]
  ].forEach(function (item) {
    var button = item[0];
    button.disabled = !item[1];
    var label = item[1] ? item[2] + ": " + stepLabel(item[1]) : item[2] + " (none)";
    button.setAttribute("aria-label", label);
    button.title = label;
  });
}

function onStep(step) {
  if (!step) {
    return;
  }
  var next = cloneState(state);
  next.range = "custom";
  next.from = step.from;
  next.to = step.to;
  commit(next); // the same length: the bucket chosen still fits
}

function onRangeChange() {
  var next = cloneState(state);
  next.range = rangeSelect.value;
  next.bucket = ""; // the new length picks its own
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
  var today = isoDate(new Date(), state.tz);
  if (from < EARLIEST_DAY || to > today) {
    dateError.textContent = "Pick dates from " + EARLIEST_DAY + " to today (" + today + ").";
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
  next.bucket = ""; // a longer range may not fit the bucket chosen
  commit(next);
}

function onZoneChange() {
  var typed = tzSelect.value;
  if (!typed.trim()) {
    tzSelect.value = state.tz; // emptied to search: nothing chosen
    showZoneError("");
    return;
  }
  var zone = resolveZone(typed);
  if (!zone) {
    showZoneError("No time zone matches this; pick one from the list, such as Europe/Berlin.");
    return;
  }
  showZoneError("");
  tzSelect.value = zone;
  if (zone === state.tz) {
    return;
  }
  var next = cloneState(state);
  next.tz = zone;
  commit(next);
}

function onZoneInput(event) {
  showZoneError("");
  // Picking from the list (no typing involved) applies at once.
  if (!event.inputType || event.inputType === "insertReplacementText") {
    if (ZONE_OFFSET[tzSelect.value]) {
      onZoneChange();
    }
  }
}

function onZoneKeydown(event) {
  if (event.key === "Enter") {
    event.preventDefault();
    onZoneChange();
  } else if (event.key === "Escape") {
    tzSelect.value = state.tz;
    showZoneError("");
  }
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
  tzSelect.addEventListener("input", onZoneInput);
  tzSelect.addEventListener("keydown", onZoneKeydown);
  rangePrev.addEventListener("click", function () {
    onStep(steps.previous);
  });
  rangeNext.addEventListener("click", function () {
    onStep(steps.next);
  });
  botsToggle.addEventListener("change", onBotsChange);
  $("filter-form").addEventListener("submit", onFilterFormSubmit);
  if (!READONLY) {
    clearFilters.addEventListener("click", onClearFilters);
    $("reset-filters").addEventListener("click", resetFilters);
  }
}
