/* clicktrack dashboard: filters in the query string, numbers from the stats API, Chart.js charts.
 *
 * The page's query string is the single source of truth (state.js): every control change
 * commits a new state and this module re-fetches the page (summary, time series and the shown
 * breakdowns, one request to /api/stats/page/) with exactly that query string. Back/forward
 * (popstate) re-reads it.
 *
 * Text from the API (campaign names, cities, referers...) is only ever set with textContent or
 * drawn on a canvas by Chart.js, never parsed as HTML.
 *
 * body[data-loaded] is "false" while loading, "true" once every number is on screen and
 * "error" when a request failed.
 */

import { forgetSuggestions, initAddFilter } from "./add-filter.js";
import { apiURL, getJSON } from "./api.js";
import { createTimeseriesChart, renderTimeseries, setChartDefaults } from "./charts.js";
import { $, setBusy } from "./dom.js";
import { buildZoneOptions, initFilters, renderSteps, syncControls } from "./filters.js";
import {
  afterCommit,
  config,
  initialState,
  setState,
  settleAddress,
  stateFromSearch
} from "./state.js";
import { renderSummary } from "./summary.js";
import { loadMapPanel, mapSpecs } from "./map.js";
import { initPanels, loadPanels, panelSpecs, setPanelsBusy } from "./tables.js";

var body = document.body;

/* ---------------------------------------------------------------- loading */

var loadSeq = 0;
var loadController = null;

function showError(message) {
  $("load-error-text").textContent = message;
  $("load-error").hidden = false;
}

function hideError() {
  $("load-error").hidden = true;
}

function setAllBusy(busy) {
  ["card-clicks", "card-unique", "card-bots", "card-qr", "panel-timeseries"].forEach(function (id) {
    setBusy($(id), busy);
  });
  setPanelsBusy(busy);
}

function load() {
  var seq = ++loadSeq;
  if (loadController) {
    loadController.abort();
  }
  loadController = new AbortController();
  var signal = loadController.signal;
  body.dataset.loaded = "false";
  setAllBusy(true);
  hideError();
  forgetSuggestions(); // filters changed: refresh the add-filter values next time

  function when(promise, render) {
    return promise.then(function (data) {
      if (seq === loadSeq) {
        render(data);
      }
    });
  }

  // The whole page in one request, from one snapshot of the data.
  var specs = panelSpecs().concat(mapSpecs());
  var page = getJSON(apiURL("page", { breakdowns: specs.join(",") }), signal);
  var jobs = [
    when(page, function (data) {
      renderSummary(data.summary);
      renderSteps(data.summary);
      renderTimeseries(data.timeseries);
    })
  ];
  jobs = jobs.concat(loadPanels(when, signal, page));
  jobs = jobs.concat(loadMapPanel(when, page));

  return Promise.all(jobs).then(
    function () {
      if (seq === loadSeq) {
        body.dataset.loaded = "true";
      }
    },
    function (error) {
      if (seq !== loadSeq || (error && error.name === "AbortError")) {
        return;
      }
      loadController.abort(); // stop the other requests of this load
      setAllBusy(false);
      showError(
        (error && error.message) || "The numbers could not be loaded. Check your connection."
      );
      body.dataset.loaded = "error";
    }
  );
}

/* ---------------------------------------------------------------- start */

function start() {
  body.dataset.loaded = "false";
  settleAddress();
  afterCommit(function () {
    syncControls();
    load();
  });
  initFilters();
  $("load-retry").addEventListener("click", function () {
    load();
  });
  window.addEventListener("popstate", function () {
    setState(stateFromSearch(window.location.search));
    syncControls();
    load();
  });
  initAddFilter();
  setChartDefaults();

  buildZoneOptions();
  createTimeseriesChart();
  initPanels();
  syncControls();
  load();
}

if (config && initialState) {
  start();
}
