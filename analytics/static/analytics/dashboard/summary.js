/* The headline cards (clicks, unique, bots, QR share), the period line and the empty state. */

import { $, el, setBusy } from "./dom.js";
import { fmtInt, fmtShare, formatPeriod } from "./format.js";
import { PRESET_KEYS, READONLY, hasDimensionFilters, isDefaultView, state } from "./state.js";

/* The last summary shown: a switch to "custom" starts from its period. */
export var lastSummary = null;

var ARROWS = { up: "▲", down: "▼", flat: "→" };

function renderChange(id, change, kind, options) {
  var node = $(id);
  node.textContent = "";
  node.className = "card__change";
  if (change == null || typeof change !== "number" || !isFinite(change)) {
    node.classList.add("change--none");
    node.textContent =
      options && options.noPrevious ? "No earlier period to compare" : "No data to compare";
    return;
  }
  var direction = Math.abs(change) < 0.0005 ? "flat" : change > 0 ? "up" : "down";
  node.classList.add("change--" + direction);
  if (options && options.neutral) {
    node.classList.add("change--neutral");
  }
  var text;
  if (direction === "flat") {
    text = "No change";
  } else if (kind === "points") {
    var points = Math.abs(change * 100);
    text = (change > 0 ? "+" : "−") + points.toFixed(points < 10 ? 1 : 0) + " pts";
  } else {
    var pct = Math.abs(change);
    text =
      (change > 0 ? "+" : "−") +
      new Intl.NumberFormat(undefined, {
        style: "percent",
        maximumFractionDigits: pct < 0.1 ? 1 : 0
      }).format(pct);
  }
  var arrow = el("span", "change__arrow", ARROWS[direction]);
  arrow.setAttribute("aria-hidden", "true");
  node.appendChild(arrow);
  node.appendChild(
    el(
      "span",
      "sr-only",
      direction === "up" ? "Up " : direction === "down" ? "Down " : ""
    )
  );
  node.appendChild(el("span", "change__value", text));
  node.appendChild(el("span", "change__context", " vs previous period"));
}

export function renderSummary(data) {
  lastSummary = data;
  var current = data.current || {};
  var change = data.change || {};
  var noPrevious = !data.previous_period;
  $("summary-clicks").textContent = fmtInt(current.clicks);
  $("summary-unique").textContent = fmtInt(current.unique);
  $("summary-bots").textContent = fmtInt(current.bots);
  // From the counts, not qr_share (rounded to 4 places): see fmtShare.
  $("summary-qr").textContent = current.clicks ? fmtShare(current.qr / current.clicks) : "—";
  $("summary-qr").title = fmtInt(current.qr) + " QR scans";
  renderChange("summary-clicks-change", change.clicks, "relative", { noPrevious: noPrevious });
  renderChange("summary-unique-change", change.unique, "relative", { noPrevious: noPrevious });
  // More bot clicks is neither good nor bad: arrow and text, but no green/red.
  renderChange("summary-bots-change", change.bots, "relative", {
    noPrevious: noPrevious,
    neutral: true
  });
  renderChange("summary-qr-change", change.qr_share, "points", { noPrevious: noPrevious });
  ["clicks", "unique", "bots", "qr"].forEach(function (key) {
    var card = $("card-" + key);
    card.classList.add("has-data");
    setBusy(card, false);
    var changeNode = $("summary-" + key + "-change");
    changeNode.title = data.previous_period
      ? "Compared with " + formatPeriod(data.previous_period, state.tz)
      : "";
  });

  var label = (data.period && data.period.label) || PRESET_KEYS[state.range] || "";
  var range = formatPeriod(data.period, state.tz);
  var text = label;
  if (range && state.range !== "custom") {
    text += " · " + range;
  }
  if (data.previous_period) {
    text += " · compared with " + formatPeriod(data.previous_period, state.tz);
  }
  $("period-label").textContent = text;

  var empty = !current.clicks;
  $("empty-state").hidden = !empty;
  $("results").hidden = empty;
  if (empty && READONLY) {
    // A shared dashboard's empty state has no button: its filters are fixed, only the period
    // is the visitor's to change.
    $("empty-state-text").textContent =
      state.range === "all"
        ? "No clicks have been recorded for this dashboard yet."
        : "No clicks were recorded in this period. Try a longer date range.";
  } else if (empty) {
    var text2 = $("empty-state-text");
    var button = $("reset-filters");
    if (!isDefaultView(state)) {
      text2.textContent = "Try a longer date range or remove some filters.";
      button.textContent = "Reset filters";
      button.hidden = false;
    } else {
      text2.textContent = "No clicks were recorded in this period.";
      button.textContent = "Show all time";
      button.hidden = false;
    }
    if (state.range === "all" && !hasDimensionFilters(state) && state.bots === "exclude") {
      text2.textContent =
        "No clicks have been recorded yet. They appear here once a sender's webhook delivers them.";
      button.hidden = true;
    }
  }
}
