/* Breakdown panels: one compact list per panel (label, clicks, share, and a bar behind the row
 * as wide as the share), tabs where breakdowns are related (the chosen tab is kept in
 * localStorage), and a note under the list on what Direct, Unknown or No campaign hold.
 *
 * Only the shown tab of each panel is loaded, with the rest of the page in one request (main.js);
 * another tab is fetched when it is chosen. A row of a filter dimension is a button that filters
 * the dashboard by its value; the UTM, link and URL breakdowns have no filter, so their rows are
 * plain text, as are every row of a shared link's dashboard (its config marks no tab as
 * filtering), which has no "See all" links. */

import { apiURL, breakdownSpec, getJSON, pageBreakdown } from "./api.js";
import { $, el, setBusy } from "./dom.js";
import { addFilter, renderChips } from "./filters.js";
import { fmtInt, fmtShare } from "./format.js";
import { BREAKDOWN_LIMIT, config, queryString, rememberLabel, state, stateParams } from "./state.js";

var PANELS = (config && config.panels) || [];
var STORAGE_PREFIX = "clicktrack.tab.";

/* The current load: its `when` (which drops answers of an older load) and abort signal. */
var current = { when: null, signal: null, drawn: {} };

function storedTab(panel) {
  try {
    return window.localStorage.getItem(STORAGE_PREFIX + panel.key);
  } catch (e) {
    return null; // storage disabled: the first tab
  }
}

function storeTab(panel, tab) {
  try {
    window.localStorage.setItem(STORAGE_PREFIX + panel.key, tab.key);
  } catch (e) {
    /* storage disabled or full: the choice lasts until the page is left */
  }
}

function selectedTab(panel) {
  var key = storedTab(panel);
  return (
    panel.tabs.filter(function (tab) {
      return tab.key === key;
    })[0] || panel.tabs[0]
  );
}

function appendNumbers(row, clicks, share) {
  row.appendChild(el("span", "bar-list__clicks", fmtInt(clicks)));
  row.appendChild(el("span", "bar-list__share", fmtShare(share)));
}

function bar(share) {
  var node = el("span", "bar-list__bar");
  node.setAttribute("aria-hidden", "true");
  // A CSS variable set through the CSSOM, which the Content Security Policy allows.
  node.style.setProperty("--share", String(Math.max(0, Math.min(1, share || 0))));
  return node;
}

function rowNode(tab, row, share, active) {
  var value = String(row.value == null ? "" : row.value);
  var label = row.label || (value === "" ? "Unknown" : value);
  var node;
  if (tab.filters) {
    node = el("button", "bar-list__row" + (active ? " is-active" : ""));
    node.type = "button";
    if (active) {
      node.setAttribute("aria-disabled", "true");
    }
  } else {
    node = el("div", "bar-list__row bar-list__row--static");
  }
  node.dataset.value = value;
  node.dataset.label = label;
  node.appendChild(bar(share));
  node.appendChild(el("span", "bar-list__label", label));
  appendNumbers(node, row.clicks, share);
  if (tab.filters) {
    node.appendChild(
      el(
        "span",
        "sr-only",
        active ? " (active filter)" : ", filter by this " + tab.label.toLowerCase()
      )
    );
  }
  return node;
}

function renderNotes(box, tab, rows) {
  box.textContent = "";
  var notes = tab.notes || {};
  rows.forEach(function (row) {
    var value = String(row.value == null ? "" : row.value);
    if (Object.prototype.hasOwnProperty.call(notes, value)) {
      box.appendChild(el("li", "panel__note", notes[value]));
    }
  });
  box.hidden = !box.childNodes.length;
}

function seeAllURL(tab) {
  var qs = queryString(stateParams(state));
  return (
    config.pages.breakdown.replace("__dimension__", encodeURIComponent(tab.key)) +
    (qs ? "?" + qs : "")
  );
}

export function renderBreakdown(tab, data) {
  var box = $("list-" + tab.key);
  var list = box.querySelector(".bar-list");
  var rows = data.rows || [];
  var other = data.other;
  var activeIs = state.filters[tab.key] ? state.filters[tab.key].is : [];
  var newLabels = false;
  var total = (data.total && data.total.clicks) || 0;
  // From the counts, not the API's share (rounded to 4 places): see fmtShare.
  var shareOf = function (clicks) {
    return total ? clicks / total : 0;
  };

  var frag = document.createDocumentFragment();
  rows.forEach(function (row) {
    var value = String(row.value == null ? "" : row.value);
    var active = tab.filters && activeIs.indexOf(value) !== -1;
    if (tab.filters && rememberLabel(tab.key, value, row.label) && active) {
      newLabels = true;
    }
    var item = el("li");
    item.appendChild(rowNode(tab, row, shareOf(row.clicks), active));
    frag.appendChild(item);
  });
  if (other && other.clicks) {
    var otherItem = el("li", "bar-list__other");
    otherItem.appendChild(bar(shareOf(other.clicks)));
    otherItem.appendChild(el("span", "bar-list__label", "Other"));
    appendNumbers(otherItem, other.clicks, shareOf(other.clicks));
    frag.appendChild(otherItem);
  }
  list.textContent = "";
  list.appendChild(frag);
  box.querySelector(".bar-list__empty").hidden = rows.length > 0;
  renderNotes(box.querySelector(".panel__notes"), tab, rows);
  var seeAll = $("see-all-" + tab.key);
  if (seeAll) {
    seeAll.href = seeAllURL(tab);
  }
  box.classList.add("has-data");
  setBusy(box, false);
  if (newLabels) {
    renderChips(); // e.g. after back/forward to filters this page had no names for
  }
}

function fetchTab(tab) {
  var box = $("list-" + tab.key);
  setBusy(box, true);
  current.drawn[tab.key] = true;
  var url = apiURL("breakdown", { limit: String(BREAKDOWN_LIMIT) }, tab.key);
  return current.when(getJSON(url, current.signal), function (data) {
    renderBreakdown(tab, data);
  });
}

/* The shown tab of every panel, as the page endpoint's breakdowns= names them. */
export function panelSpecs() {
  return PANELS.map(function (panel) {
    return breakdownSpec(selectedTab(panel).key, BREAKDOWN_LIMIT);
  });
}

/* Draw the shown tab of every panel from the page answer (the promise main.js fetched with
 * panelSpecs); other tabs are fetched when chosen. ``when(promise, render)`` renders only if
 * the load is still the latest. */
export function loadPanels(when, signal, page) {
  current = { when: when, signal: signal, drawn: {} };
  return PANELS.map(function (panel) {
    var tab = selectedTab(panel);
    setBusy($("list-" + tab.key), true);
    current.drawn[tab.key] = true;
    return when(page, function (data) {
      renderBreakdown(tab, pageBreakdown(data, tab.key, BREAKDOWN_LIMIT));
      setBusy($("panel-" + panel.key), false);
    });
  });
}

export function setPanelsBusy(busy) {
  PANELS.forEach(function (panel) {
    setBusy($("panel-" + panel.key), busy);
  });
}

function showTab(panel, tab, focus) {
  panel.tabs.forEach(function (other) {
    var selected = other.key === tab.key;
    var button = $("tab-" + other.key);
    if (button) {
      button.setAttribute("aria-selected", selected ? "true" : "false");
      button.tabIndex = selected ? 0 : -1;
      if (selected && focus) {
        button.focus();
      }
    }
    $("list-" + other.key).hidden = !selected;
  });
  storeTab(panel, tab);
  if (current.when && !current.drawn[tab.key]) {
    fetchTab(tab).catch(function (error) {
      if (error && error.name === "AbortError") {
        return;
      }
      var box = $("list-" + tab.key);
      var empty = box.querySelector(".bar-list__empty");
      empty.textContent = (error && error.message) || "These numbers could not be loaded.";
      empty.hidden = false;
      setBusy(box, false);
    });
  }
}

/* Tabs as WAI-ARIA describes them: arrows move between tabs (wrapping), Home and End go to
 * the ends, and the chosen tab is shown at once. */
function onTabKey(panel) {
  return function (event) {
    var index = panel.tabs.findIndex(function (tab) {
      return tab.key === event.target.dataset.tab;
    });
    var count = panel.tabs.length;
    var next = {
      ArrowRight: (index + 1) % count,
      ArrowDown: (index + 1) % count,
      ArrowLeft: (index - 1 + count) % count,
      ArrowUp: (index - 1 + count) % count,
      Home: 0,
      End: count - 1
    }[event.key];
    if (index < 0 || next === undefined) {
      return;
    }
    event.preventDefault();
    showTab(panel, panel.tabs[next], true);
  };
}

/* Rows: a click (or Enter/Space on the focused button) filters by the row's value. */
function onListClick(tab) {
  return function (event) {
    var row = event.target.closest("button.bar-list__row");
    if (!row || !this.contains(row) || row.getAttribute("aria-disabled") === "true") {
      return;
    }
    addFilter(tab.key, row.dataset.value, row.dataset.label);
  };
}

export function initPanels() {
  PANELS.forEach(function (panel) {
    panel.tabs.forEach(function (tab) {
      var list = $("list-" + tab.key).querySelector(".bar-list");
      if (tab.filters) {
        list.addEventListener("click", onListClick(tab));
      }
      var button = $("tab-" + tab.key);
      if (button) {
        button.addEventListener("click", function () {
          showTab(panel, tab, false);
        });
        button.addEventListener("keydown", onTabKey(panel));
      }
    });
    showTab(panel, selectedTab(panel), false);
  });
}
