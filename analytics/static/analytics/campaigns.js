/* clicktrack campaign list: sparklines, client-side search and sorting, clickable rows.
 *
 * Data comes from the json_script block "campaign-sparklines" ({campaign id: [clicks, ...]});
 * names are read from data attributes Django has escaped, and only ever set as text.
 */
(function () {
  "use strict";

  var table = document.getElementById("campaign-table");
  if (!table) {
    return;
  }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) {
      return {};
    }
    try {
      return JSON.parse(el.textContent) || {};
    } catch (e) {
      return {};
    }
  }

  var numberFormat = new Intl.NumberFormat();

  /* ------------------------------------------------------------------ sparklines */

  var sparklines = readJSON("campaign-sparklines");

  function drawSparkline(canvas, data) {
    var width = canvas.clientWidth || 120;
    var height = canvas.clientHeight || 32;
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var ctx = canvas.getContext("2d");
    if (!ctx) {
      return;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    var values = (Array.isArray(data) ? data : []).map(function (v) {
      return typeof v === "number" && isFinite(v) ? v : 0;
    });
    var total = values.reduce(function (a, b) {
      return a + b;
    }, 0);
    var max = values.reduce(function (a, b) {
      return Math.max(a, b);
    }, 0);
    var style = window.getComputedStyle(canvas);
    var color = style.color || "#4f46e5";
    var muted = style.getPropertyValue("--spark-muted").trim() || "#cbd5e1";

    canvas.setAttribute(
      "aria-label",
      values.length
        ? numberFormat.format(total) +
            " clicks over " +
            values.length +
            " " +
            (values.length === 1 ? "interval" : "intervals") +
            (total ? ", at most " + numberFormat.format(max) + " in one" : "")
        : "No trend data"
    );

    var pad = 2;
    var innerH = height - pad * 2;
    if (!values.length) {
      return;
    }
    if (!total) {
      ctx.strokeStyle = muted;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(pad, height - pad - 0.5);
      ctx.lineTo(width - pad, height - pad - 0.5);
      ctx.stroke();
      return;
    }
    var step = values.length > 1 ? (width - pad * 2) / (values.length - 1) : 0;
    var points = values.map(function (v, i) {
      return {
        x: values.length > 1 ? pad + i * step : width / 2,
        y: pad + innerH - (v / max) * innerH
      };
    });

    // Area under the line.
    ctx.beginPath();
    ctx.moveTo(points[0].x, height - pad);
    points.forEach(function (p) {
      ctx.lineTo(p.x, p.y);
    });
    ctx.lineTo(points[points.length - 1].x, height - pad);
    ctx.closePath();
    ctx.globalAlpha = 0.12;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;

    // The line.
    ctx.beginPath();
    points.forEach(function (p, i) {
      if (i === 0) {
        ctx.moveTo(p.x, p.y);
      } else {
        ctx.lineTo(p.x, p.y);
      }
    });
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.stroke();

    // The latest value.
    var last = points[points.length - 1];
    ctx.beginPath();
    ctx.arc(last.x, last.y, 2, 0, Math.PI * 2);
    ctx.fillStyle = color;
    ctx.fill();
  }

  function drawAll() {
    rows.forEach(function (row) {
      var canvas = row.querySelector("canvas.sparkline");
      if (canvas) {
        drawSparkline(canvas, sparklines[canvas.dataset.campaignId]);
      }
    });
  }

  drawAll();
  // Redraw sharp when the pixel ratio changes (zoom, moving to another screen).
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(drawAll, 150);
  });

  /* ------------------------------------------------------------------ relative times */

  // The server writes an absolute time; show "3 hours ago" and keep the date in the tooltip.
  if (typeof Intl.RelativeTimeFormat === "function") {
    var relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    var units = [
      ["year", 365 * 86400],
      ["month", 30 * 86400],
      ["week", 7 * 86400],
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60]
    ];
    var nowSeconds = Date.now() / 1000;
    table.querySelectorAll("time[datetime]").forEach(function (node) {
      var when = Date.parse(node.getAttribute("datetime"));
      if (isNaN(when)) {
        return;
      }
      var seconds = when / 1000 - nowSeconds;
      var text = null;
      for (var i = 0; i < units.length; i++) {
        if (Math.abs(seconds) >= units[i][1]) {
          text = relative.format(Math.round(seconds / units[i][1]), units[i][0]);
          break;
        }
      }
      node.textContent = text || "just now";
    });
  }

  /* ------------------------------------------------------------------ clickable rows */

  tbody.addEventListener("click", function (event) {
    var row = event.target.closest("tr.row-link");
    if (!row || event.target.closest("a, button, input, select, textarea, details")) {
      return; // the row's own link handles its clicks; the sender campaigns open in place
    }
    var selection = window.getSelection ? String(window.getSelection()) : "";
    if (selection) {
      return; // the user is selecting text, not navigating
    }
    var href = row.dataset.href;
    if (!href) {
      return;
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey) {
      window.open(href, "_blank", "noopener");
    } else {
      window.location.assign(href);
    }
  });

  // Middle click on the row opens the dashboard in a new tab, like the link would.
  tbody.addEventListener("auxclick", function (event) {
    var row = event.target.closest("tr.row-link");
    if (event.button !== 1 || !row || event.target.closest("a")) {
      return;
    }
    window.open(row.dataset.href, "_blank", "noopener");
  });

  /* ------------------------------------------------------------------ search */

  var search = document.getElementById("campaign-search");
  var count = document.getElementById("campaign-count");
  var noMatch = document.getElementById("campaign-no-match");
  var total = rows.length;

  function fold(text) {
    return String(text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase();
  }

  var haystacks = rows.map(function (row) {
    return fold(row.dataset.name + " " + row.dataset.sender);
  });

  function applySearch() {
    var terms = fold(search.value).split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row, i) {
      var match = terms.every(function (term) {
        return haystacks[i].indexOf(term) !== -1;
      });
      row.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    noMatch.hidden = shown > 0;
    count.textContent =
      shown === total
        ? total + " campaign" + (total === 1 ? "" : "s")
        : shown + " of " + total + " campaign" + (total === 1 ? "" : "s");
  }

  if (search) {
    search.addEventListener("input", applySearch);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && search.value) {
        search.value = "";
        applySearch();
      }
    });
    if (search.value) {
      applySearch(); // the browser restored a previous search
    }
  }

  /* ------------------------------------------------------------------ sorting */

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var headers = Array.prototype.slice.call(table.tHead.querySelectorAll("th[data-sort-key]"));

  function sortBy(header, direction) {
    var key = header.dataset.sortKey;
    var numeric = header.dataset.sortType === "number";
    var factor = direction === "ascending" ? 1 : -1;
    var sorted = rows.slice().sort(function (a, b) {
      var result;
      if (numeric) {
        result = (parseFloat(a.dataset[key]) || 0) - (parseFloat(b.dataset[key]) || 0);
      } else {
        result = collator.compare(a.dataset[key] || "", b.dataset[key] || "");
      }
      if (result === 0) {
        // Stable, readable tie-break: by name.
        return collator.compare(a.dataset.name || "", b.dataset.name || "");
      }
      return result * factor;
    });
    var frag = document.createDocumentFragment();
    sorted.forEach(function (row) {
      frag.appendChild(row);
    });
    tbody.appendChild(frag);
    headers.forEach(function (h) {
      if (h === header) {
        h.setAttribute("aria-sort", direction);
      } else {
        h.removeAttribute("aria-sort");
      }
    });
  }

  headers.forEach(function (header) {
    var button = header.querySelector("button");
    if (!button) {
      return;
    }
    button.addEventListener("click", function () {
      var current = header.getAttribute("aria-sort");
      var direction;
      if (current === "ascending") {
        direction = "descending";
      } else if (current === "descending") {
        direction = "ascending";
      } else {
        // Numbers and dates start with the largest, names with A.
        direction = header.dataset.sortType === "number" ? "descending" : "ascending";
      }
      sortBy(header, direction);
    });
  });
})();
