/* Chart.js charts: the time series (the breakdowns are lists, tables.js). Chart is the global of
 * the UMD build, loaded before this module. */

import { $, setBusy } from "./dom.js";
import { bucketLabels, fmtInt } from "./format.js";
import { state } from "./state.js";
import {
  canZoom,
  initBucketSwitch,
  renderBucketSwitch,
  zoomInto
} from "./timeseries-controls.js";

var HAS_CHART = typeof window.Chart === "function";
var REDUCED_MOTION =
  window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

export var COLORS = {
  primary: "#4f46e5",
  primaryHover: "#3730a3",
  primaryFill: "rgba(79, 70, 229, 0.10)",
  unique: "#0d9488",
  previous: "#94a3b8",
  text: "#475569",
  grid: "#e2e8f0",
  other: "#cbd5e1",
  palette: [
    "#4f46e5",
    "#0d9488",
    "#d97706",
    "#db2777",
    "#0284c7",
    "#7c3aed",
    "#65a30d",
    "#dc2626",
    "#0891b2",
    "#9333ea"
  ]
};

export var charts = {};
var timeseriesLabels = { short: [], long: [], previous: [] };
/* The points drawn (for zooming), their bucket, and the index of the one still running. */
var timeseriesPoints = { current: [], bucket: "day", partial: -1 };
/* The segment into the running bucket is dotted: its count is still growing. */
var PARTIAL_DASH = [2, 3]; // finer than the previous period's dashes
var partialSegment = {
  borderDash: function (ctx) {
    return ctx.p1DataIndex === timeseriesPoints.partial ? PARTIAL_DASH : undefined;
  }
};

export function setChartDefaults() {
  if (HAS_CHART) {
    var Chart = window.Chart;
    Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = COLORS.text;
    Chart.defaults.borderColor = COLORS.grid;
    if (REDUCED_MOTION) {
      Chart.defaults.animation = false;
    } else {
      Chart.defaults.animation.duration = 250;
    }
  }
}

export function createTimeseriesChart() {
  var canvas = $("chart-timeseries");
  initBucketSwitch();
  if (!HAS_CHART || !canvas) {
    return;
  }
  var pointRadius = function (ctx) {
    return ctx.chart.data.labels.length <= 2 ? 3 : 0;
  };
  charts.timeseries = new window.Chart(canvas, {
    type: "line",
    data: {
      labels: [],
      datasets: [
        {
          label: "Clicks",
          data: [],
          borderColor: COLORS.primary,
          backgroundColor: COLORS.primaryFill,
          fill: "origin",
          borderWidth: 2,
          pointRadius: pointRadius,
          pointHoverRadius: 4,
          segment: partialSegment,
          order: 1
        },
        {
          label: "Unique clicks",
          data: [],
          borderColor: COLORS.unique,
          backgroundColor: COLORS.unique,
          fill: false,
          borderWidth: 2,
          pointRadius: pointRadius,
          pointHoverRadius: 4,
          segment: partialSegment,
          order: 2
        },
        {
          label: "Clicks, previous period",
          data: [],
          borderColor: COLORS.previous,
          backgroundColor: COLORS.previous,
          borderDash: [5, 4],
          borderWidth: 1.5,
          fill: false,
          pointRadius: 0,
          pointHoverRadius: 3,
          order: 3
        }
      ]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      // A click on a point zooms into its period (a day into its hours).
      onClick: function (event, elements) {
        if (elements && elements.length) {
          zoomInto(timeseriesPoints.current[elements[0].index], timeseriesPoints.bucket);
        }
      },
      onHover: function (event, elements) {
        var target = event && event.native && event.native.target;
        if (target) {
          target.classList.toggle(
            "is-zoomable",
            Boolean(elements && elements.length && canZoom(timeseriesPoints.bucket))
          );
        }
      },
      scales: {
        x: {
          grid: { display: false },
          ticks: {
            autoSkip: true,
            maxRotation: 0,
            autoSkipPadding: 12,
            callback: function (value, index) {
              var label = timeseriesLabels.short[value];
              return label != null ? label : timeseriesLabels.short[index];
            }
          }
        },
        y: {
          beginAtZero: true,
          ticks: { precision: 0 },
          grid: { color: COLORS.grid }
        }
      },
      plugins: {
        legend: {
          position: "bottom",
          labels: {
            usePointStyle: true,
            boxWidth: 8,
            boxHeight: 8,
            filter: function (item, data) {
              return data.datasets[item.datasetIndex].data.length > 0;
            },
            generateLabels: function (chart) {
              // Solid swatches in the line colour (the clicks fill is nearly transparent).
              return window.Chart.defaults.plugins.legend.labels
                .generateLabels(chart)
                .map(function (item) {
                  item.fillStyle = item.strokeStyle;
                  return item;
                });
            }
          }
        },
        tooltip: {
          callbacks: {
            title: function (items) {
              if (!items.length) {
                return "";
              }
              var index = items[0].dataIndex;
              var title = timeseriesLabels.long[index] || "";
              return index === timeseriesPoints.partial ? title + " (incomplete)" : title;
            },
            label: function (ctx) {
              if (ctx.datasetIndex === 2) {
                var when = timeseriesLabels.previous[ctx.dataIndex];
                return "Previous period" + (when ? " (" + when + ")" : "") + ": " +
                  fmtInt(ctx.parsed.y);
              }
              return ctx.dataset.label + ": " + fmtInt(ctx.parsed.y);
            }
          }
        }
      }
    }
  });
}

export function renderTimeseries(data) {
  var panel = $("panel-timeseries");
  var current = data.current || [];
  var previous = data.previous || [];
  var tz = data.tz || state.tz;
  var bucket = data.bucket || "day";
  var currentLabels = bucketLabels(current, bucket, tz);
  var previousLabels = bucketLabels(previous, bucket, tz);
  timeseriesLabels = {
    short: currentLabels.short,
    long: currentLabels.long,
    previous: previousLabels.long
  };
  var partial = -1;
  current.forEach(function (point, index) {
    if (point.partial) {
      partial = index;
    }
  });
  timeseriesPoints = { current: current, bucket: bucket, partial: partial };
  $("timeseries-meta").textContent =
    "Per " + bucket + " · " + tz + (partial >= 0 ? " · dotted: this " + bucket + " is incomplete" : "");
  renderBucketSwitch(bucket, data.buckets);
  var chart = charts.timeseries;
  if (chart) {
    chart.data.labels = currentLabels.long;
    chart.data.datasets[0].data = current.map(function (p) {
      return p.clicks;
    });
    chart.data.datasets[1].data = current.map(function (p) {
      return p.unique;
    });
    chart.data.datasets[2].data = previous.map(function (p) {
      return p.clicks;
    });
    chart.update();
  }
  panel.classList.add("has-data");
  setBusy(panel, false);
}
