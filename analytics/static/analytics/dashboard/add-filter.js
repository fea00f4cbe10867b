/* "Add filter": a dimension, is / is not, and a value picked from suggestions or typed.
 * A shared link's dashboard (READONLY) has no such form: nothing starts here. */

import { getJSON } from "./api.js";
import { $, el } from "./dom.js";
import { addFilter } from "./filters.js";
import {
  CHOICES,
  COUNTRIES,
  READONLY,
  SUGGESTION_LIMIT,
  config,
  labels,
  queryString,
  rememberLabel,
  state,
  stateParams
} from "./state.js";

var addFilterDetails = $("add-filter");
var addFilterForm = $("add-filter-form");
var addFilterDim = $("add-filter-dimension");
var addFilterOp = $("add-filter-op");
var addFilterValue = $("add-filter-value");
var addFilterList = $("add-filter-values");
var addFilterError = $("add-filter-error");

var suggestions = { key: "", options: [] };
var suggestionController = null;

function loadSuggestions() {
  var dim = addFilterDim.value;
  // Suggest values as if this dimension were unfiltered, within every other filter.
  var params = stateParams(state, { without: dim });
  params.set("limit", String(SUGGESTION_LIMIT));
  var url =
    config.api.breakdown.replace("__dimension__", encodeURIComponent(dim)) +
    "?" +
    queryString(params);
  if (suggestions.key === url) {
    return;
  }
  suggestions = { key: url, options: [] };
  addFilterList.textContent = "";
  if (suggestionController) {
    suggestionController.abort();
  }
  suggestionController = new AbortController();
  getJSON(url, suggestionController.signal)
    .then(function (data) {
      if (suggestions.key !== url) {
        return;
      }
      var rows = data.rows || [];
      var counts = {};
      rows.forEach(function (row) {
        rememberLabel(dim, row.value, row.label);
        var text = row.label || (row.value === "" ? "Unknown" : row.value);
        counts[text] = (counts[text] || 0) + 1;
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (row) {
        var text = row.label || (row.value === "" ? "Unknown" : row.value);
        if (counts[text] > 1) {
          text += " [" + row.value + "]"; // two campaigns with one name
        }
        suggestions.options.push({ text: text, value: row.value, label: row.label });
        var option = el("option");
        option.value = text;
        frag.appendChild(option);
      });
      addFilterList.textContent = "";
      addFilterList.appendChild(frag);
    })
    .catch(function () {
      /* suggestions are a convenience; typing a value still works */
    });
}

function resolveTypedValue(dim, typed) {
  var text = typed.trim();
  var lower = text.toLowerCase();
  var i;
  for (i = 0; i < suggestions.options.length; i++) {
    if (suggestions.options[i].text.toLowerCase() === lower) {
      return suggestions.options[i];
    }
  }
  for (i = 0; i < suggestions.options.length; i++) {
    if (String(suggestions.options[i].value).toLowerCase() === lower) {
      return suggestions.options[i];
    }
  }
  var known = labels[dim] || {};
  var values = Object.keys(known);
  for (i = 0; i < values.length; i++) {
    if (known[values[i]].toLowerCase() === lower) {
      return { value: values[i], label: known[values[i]] };
    }
  }
  if (lower === "unknown" && dim !== "sender") {
    return { value: "", label: "Unknown" };
  }
  if (dim === "country") {
    // A code or a name the app knows (the server refuses any other: "Narnia", "ZZ").
    var code = text.toUpperCase();
    if (Object.prototype.hasOwnProperty.call(COUNTRIES, code)) {
      return { value: code, label: COUNTRIES[code] };
    }
    var codes = Object.keys(COUNTRIES);
    for (i = 0; i < codes.length; i++) {
      if (COUNTRIES[codes[i]].toLowerCase() === lower) {
        return { value: codes[i], label: COUNTRIES[codes[i]] };
      }
    }
    return null;
  }
  if (CHOICES[dim]) {
    return CHOICES[dim].indexOf(lower) !== -1 ? { value: lower, label: "" } : null;
  }
  if (dim === "campaign") {
    return null; // ids only come from the list: a typed one may not exist
  }
  return { value: text, label: "" };
}

/* Why a typed value is refused, quoting at most 60 characters of it. */
function refusal(dim, typed) {
  var text = typed.trim();
  var quoted = "\u201c" + (text.length > 60 ? text.slice(0, 59) + "\u2026" : text) + "\u201d";
  if (dim === "country") {
    return quoted + " is not a country: pick one from the list or type its two-letter code.";
  }
  if (dim === "campaign") {
    return "Pick a campaign from the list.";
  }
  return quoted + " is not one of the values: pick one from the list.";
}

function showAddFilterError(message) {
  addFilterError.textContent = message;
  addFilterError.hidden = !message;
  if (message) {
    addFilterValue.setAttribute("aria-invalid", "true");
  } else {
    addFilterValue.removeAttribute("aria-invalid");
  }
}

function closeAddFilter() {
  if (addFilterDetails.open) {
    addFilterDetails.open = false;
    addFilterDetails.querySelector("summary").focus();
  }
}

/* The filters changed: refresh the suggested values the next time the form opens. */
export function forgetSuggestions() {
  suggestions.key = "";
}

function onAddFilterKeydown(event) {
  if (event.key === "Escape") {
    closeAddFilter();
  }
}

function onDocumentClick(event) {
  if (addFilterDetails.open && !addFilterDetails.contains(event.target)) {
    addFilterDetails.open = false;
  }
}

function onAddFilterToggle() {
  if (addFilterDetails.open) {
    loadSuggestions();
    addFilterValue.focus();
  }
}

function onDimensionChange() {
  addFilterValue.value = "";
  showAddFilterError("");
  loadSuggestions();
}

function onValueInput() {
  showAddFilterError("");
}

function onAddFilterSubmit(event) {
  event.preventDefault();
  var dim = addFilterDim.value;
  var typed = addFilterValue.value;
  if (!typed.trim()) {
    showAddFilterError("Choose or type a value.");
    addFilterValue.focus();
    return;
  }
  var resolved = resolveTypedValue(dim, typed);
  var badId = resolved && dim === "campaign" && resolved.value !== "" && !/^\d+$/.test(resolved.value);
  if (!resolved || badId) {
    showAddFilterError(refusal(dim, typed));
    addFilterValue.focus();
    return;
  }
  showAddFilterError("");
  addFilterValue.value = "";
  addFilterDetails.open = false;
  addFilter(dim, resolved.value, resolved.label, addFilterOp.value);
  addFilterDetails.querySelector("summary").focus();
}

export function initAddFilter() {
  if (READONLY) {
    return;
  }
  addFilterDetails.addEventListener("keydown", onAddFilterKeydown);
  document.addEventListener("click", onDocumentClick);
  addFilterDetails.addEventListener("toggle", onAddFilterToggle);
  addFilterDim.addEventListener("change", onDimensionChange);
  addFilterValue.addEventListener("focus", loadSuggestions);
  addFilterValue.addEventListener("input", onValueInput);
  addFilterForm.addEventListener("submit", onAddFilterSubmit);
}
