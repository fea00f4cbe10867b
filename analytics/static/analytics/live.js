/* The live view: polls /api/stats/live/ every few seconds while the tab is visible, and draws
 * the per-minute bars, the total, the top lists and the latest clicks.
 *
 * Text from the API (campaign names, referers) is only ever set with textContent.
 * body[data-loaded] turns "true" after the first answer; body[data-refreshes] counts answers.
 */
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const statusEl = document.getElementById("live-status");
  const number = new Intl.NumberFormat();
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  let timer = null;
  let refreshes = 0;
  let busy = false;

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function drawMinutes(minutes) {
    const svg = document.getElementById("live-minutes");
    const max = Math.max(1, ...minutes.map((m) => m.clicks));
    const width = 300 / minutes.length;
    svg.replaceChildren();
    minutes.forEach((minute, i) => {
      const height = (minute.clicks / max) * 76;
      const bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", String(i * width + 1));
      bar.setAttribute("y", String(80 - height));
      bar.setAttribute("width", String(width - 2));
      bar.setAttribute("height", String(height));
      const current = i === minutes.length - 1;
      bar.setAttribute("class", current ? "live-minutes__bar live-minutes__bar--current" : "live-minutes__bar");
      bar.dataset.clicks = String(minute.clicks);
      const title = document.createElementNS(SVG, "title");
      const at = clock.format(new Date(minute.t)).slice(0, 5);
      title.textContent = `${at}${current ? " (this minute, so far)" : ""}: ${number.format(minute.clicks)} clicks`;
      bar.appendChild(title);
      svg.appendChild(bar);
    });
  }

  function drawTop(key, rows) {
    const list = document.getElementById(`live-${key}`);
    list.replaceChildren(
      ...rows.map((row) => {
        const item = document.createElement("li");
        const label = document.createElement("span");
        label.className = "live-top__label";
        label.textContent = row.label;
        const count = document.createElement("span");
        count.className = "live-top__count";
        count.textContent = number.format(row.clicks);
        item.dataset.value = row.value;
        item.append(label, count);
        return item;
      })
    );
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    return td;
  }

  function drawLatest(clicks) {
    document.getElementById("live-latest").replaceChildren(
      ...clicks.map((click) => {
        const row = document.createElement("tr");
        row.dataset.id = String(click.id);
        const time = document.createElement("time");
        time.dateTime = click.at;
        time.textContent = clock.format(new Date(click.at));
        const when = cell("");
        when.appendChild(time);
        row.append(
          when,
          cell(click.country_label),
          cell(click.device_label),
          cell(click.campaign_label),
          cell(click.referer_label, "live-latest__referer")
        );
        return row;
      })
    );
    document.getElementById("live-latest-empty").hidden = clicks.length > 0;
  }

  function draw(data) {
    document.getElementById("live-total").textContent = number.format(data.total);
    drawMinutes(data.minutes);
    drawTop("countries", data.countries);
    drawTop("campaigns", data.campaigns);
    drawTop("referers", data.referers);
    drawLatest(data.latest);
  }

  async function refresh() {
    timer = null;
    busy = true;
    try {
      const response = await fetch(config.api, {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      draw(await response.json());
      refreshes += 1;
      document.body.dataset.refreshes = String(refreshes);
      document.body.dataset.loaded = "true";
      setStatus("live", `Updated ${clock.format(new Date())}.`);
    } catch (error) {
      // Shown on the page; the next refresh tries again.
      setStatus("error", "Could not refresh; trying again.");
    }
    busy = false;
    schedule();
  }

  function schedule() {
    if (timer === null && !document.hidden) {
      timer = setTimeout(refresh, config.refreshMs);
    }
  }

  // A hidden tab asks nothing; it catches up at once when shown again.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
      setStatus("paused", "Paused while this tab is hidden.");
    } else if (timer === null && !busy) {
      refresh();
    }
  });

  refresh();
})();
