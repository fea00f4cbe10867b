/* Chart.js charts: the time series and one chart per breakdown. A click on a bar or a slice
 * filters by its value. Chart is the global of the UMD build, loaded before this module. */

import { $, setBusy } from "./dom.js";
import { addFilter } from "./filters.js";
import { bucketLabels, fmtInt, fmtShare, truncate } from "./format.js";
import { state } from "./state.js";

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
export var breakdownRows = {};

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
              return items.length ? timeseriesLabels.long[items[0].dataIndex] : "";
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

function isClickableIndex(dim, index) {
  var rows = breakdownRows[dim] || [];
  return index >= 0 && index < rows.length;
}

function onChartClick(dim) {
  return function (event, elements) {
    if (!elements || !elements.length) {
      return;
    }
    var index = elements[0].index;
    if (!isClickableIndex(dim, index)) {
      return; // "Other"
    }
    var row = breakdownRows[dim][index];
    addFilter(dim, row.value, row.label);
  };
}

function onChartHover(dim) {
  return function (event, elements) {
    var target = event && event.native && event.native.target;
    if (target) {
      target.style.cursor =
        elements && elements.length && isClickableIndex(dim, elements[0].index)
          ? "pointer"
          : "default";
    }
  };
}

export function createBreakdownChart(dim) {
  var canvas = $("chart-" + dim.key);
  if (!HAS_CHART || !canvas) {
    return;
  }
  var shareLabel = function (ctx) {
    var total = ctx.dataset.data.reduce(function (a, b) {
      return a + b;
    }, 0);
    var value = typeof ctx.parsed === "object" ? ctx.parsed.x : ctx.parsed;
    var share = total ? value / total : 0;
    var rows = breakdownRows[dim.key] || [];
    if (ctx.dataIndex < rows.length && typeof rows[ctx.dataIndex].share === "number") {
      share = rows[ctx.dataIndex].share;
    } else if (charts[dim.key] && charts[dim.key].$otherShare != null) {
      share = charts[dim.key].$otherShare;
    }
    return fmtInt(value) + " clicks (" + fmtShare(share) + ")";
  };
  if (dim.chart === "doughnut") {
    var baseLabels = window.Chart.overrides.doughnut.plugins.legend.labels.generateLabels;
    var legendPosition = function (width) {
      return width < 420 ? "bottom" : "right";
    };
    charts[dim.key] = new window.Chart(canvas, {
      type: "doughnut",
      data: {
        labels: [],
        datasets: [{ data: [], backgroundColor: [], borderColor: "#ffffff", borderWidth: 2 }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        cutout: "62%",
        onClick: onChartClick(dim.key),
        onHover: onChartHover(dim.key),
        onResize: function (chart, size) {
          var position = legendPosition(size.width);
          if (chart.options.plugins.legend.position !== position) {
            chart.options.plugins.legend.position = position;
            chart.update("none");
          }
        },
        plugins: {
          legend: {
            position: legendPosition(canvas.parentNode.clientWidth),
            labels: {
              boxWidth: 10,
              boxHeight: 10,
              generateLabels: function (chart) {
                return baseLabels(chart).map(function (item) {
                  item.text = truncate(item.text, 22);
                  return item;
                });
              }
            }
          },
          tooltip: {
            callbacks: {
              label: shareLabel
            }
          }
        }
      }
    });
  } else {
    charts[dim.key] = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: [],
        datasets: [
          {
            label: "Clicks",
            data: [],
            backgroundColor: COLORS.primary,
            hoverBackgroundColor: COLORS.primaryHover,
            borderRadius: 3,
            maxBarThickness: 18
          }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: "y",
        onClick: onChartClick(dim.key),
        onHover: onChartHover(dim.key),
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: COLORS.grid } },
          y: {
            grid: { display: false },
            ticks: {
              autoSkip: false,
              callback: function (value) {
                // Narrow charts get shorter labels so the bars keep their room.
                var max = Math.max(10, Math.min(26, Math.floor(this.chart.width / 22)));
                return truncate(this.getLabelForValue(value), max);
              }
            }
          }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: function (items) {
                return items.length ? items[0].label : "";
              },
              label: shareLabel
            }
          }
        }
      }
    });
  }
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
  $("timeseries-meta").textContent = "Per " + bucket + " · " + tz;
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
