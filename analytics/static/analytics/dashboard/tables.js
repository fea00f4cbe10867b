/* Breakdown tables: the top values, "Other", and a row click (or its button) to filter. */

import { COLORS, breakdownRows, charts } from "./charts.js";
import { $, el, setBusy } from "./dom.js";
import { addFilter, renderChips } from "./filters.js";
import { fmtInt, fmtShare } from "./format.js";
import { rememberLabel, state } from "./state.js";

function appendCells(tr, clicks, unique, share) {
  tr.appendChild(el("td", "num", fmtInt(clicks)));
  tr.appendChild(el("td", "num", fmtInt(unique)));
  tr.appendChild(el("td", "num", fmtShare(share)));
}

export function renderBreakdown(dim, data) {
  var panel = $("panel-" + dim.key);
  var table = $("table-" + dim.key);
  var rows = data.rows || [];
  var other = data.other;
  breakdownRows[dim.key] = rows;
  var activeIs = state.filters[dim.key] ? state.filters[dim.key].is : [];
  var newLabels = false;

  var tbody = table.tBodies[0];
  var frag = document.createDocumentFragment();
  rows.forEach(function (row) {
    var value = String(row.value == null ? "" : row.value);
    var label = row.label || (value === "" ? "Unknown" : value);
    var active = activeIs.indexOf(value) !== -1;
    if (rememberLabel(dim.key, value, label) && active) {
      newLabels = true;
    }
    var tr = el("tr", "row-filter" + (active ? " is-active" : ""));
    tr.dataset.value = value;
    tr.dataset.label = label;
    var th = el("th");
    th.scope = "row";
    var button = el("button", "cell-button");
    button.type = "button";
    button.title = label;
    button.appendChild(el("span", "cell-button__text", label));
    button.appendChild(
      el(
        "span",
        "sr-only",
        active ? " (active filter)" : ", filter by this " + dim.label.toLowerCase()
      )
    );
    if (active) {
      button.setAttribute("aria-disabled", "true");
    }
    th.appendChild(button);
    tr.appendChild(th);
    appendCells(tr, row.clicks, row.unique, row.share);
    frag.appendChild(tr);
  });
  if (other && other.clicks) {
    var tr = el("tr", "row-other");
    var th = el("th", null, "Other");
    th.scope = "row";
    tr.appendChild(th);
    appendCells(tr, other.clicks, other.unique, other.share);
    frag.appendChild(tr);
  }
  if (!rows.length) {
    var emptyRow = el("tr", "row-empty");
    var td = el("td", null, "No clicks to show");
    td.colSpan = 4;
    emptyRow.appendChild(td);
    frag.appendChild(emptyRow);
  }
  tbody.textContent = "";
  tbody.appendChild(frag);

  var box = panel.querySelector(".chart-box");
  box.querySelector(".chart-box__empty").hidden = rows.length > 0;

  var chart = charts[dim.key];
  if (chart) {
    var chartLabels = rows.map(function (row) {
      return row.label || (row.value === "" ? "Unknown" : String(row.value));
    });
    var values = rows.map(function (row) {
      return row.clicks;
    });
    chart.$otherShare = other ? other.share : null;
    if (dim.chart === "doughnut") {
      var colors = rows.map(function (row, i) {
        return row.value === "" ? COLORS.other : COLORS.palette[i % COLORS.palette.length];
      });
      if (other && other.clicks) {
        chartLabels.push("Other");
        values.push(other.clicks);
        colors.push(COLORS.other);
      }
      chart.data.datasets[0].backgroundColor = colors;
    }
    chart.data.labels = chartLabels;
    chart.data.datasets[0].data = values;
    chart.update();
  }
  panel.classList.add("has-data");
  setBusy(panel, false);
  if (newLabels) {
    renderChips(); // e.g. after back/forward to filters this page had no names for
  }
}

/* Table rows: the button is the keyboard path; a click anywhere on the row does the same. */
export function onTableClick(dim) {
  return function (event) {
    var tr = event.target.closest("tr.row-filter");
    if (!tr || !this.tBodies[0].contains(tr)) {
      return;
    }
    addFilter(dim.key, tr.dataset.value, tr.dataset.label);
  };
}
