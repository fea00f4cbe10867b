/* The time series' controls: the bucket switch (hour, day, week, month) and zooming into a
 * point (a day becomes that day in hours; a week or a month, its days). Each is a commit. */

import { $ } from "./dom.js";
import { isoDate } from "./format.js";
import { BUCKETS, cloneState, commit, state } from "./state.js";

var NEXT_BUCKET = { day: "hour", week: "day", month: "day" };
var NAMES = { hour: "hour", day: "day", week: "week", month: "month" };

/* Days as YYYY-MM-DD strings: arithmetic on UTC dates, which have no DST. */
function addDays(day, days) {
  var d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function monthEnd(day) {
  var d = new Date(day.slice(0, 7) + "-01T00:00:00Z");
  d.setUTCMonth(d.getUTCMonth() + 1);
  d.setUTCDate(0);
  return d.toISOString().slice(0, 10);
}

/* The range a bucket covers, cut at today; null for an hour (nothing finer to show). */
export function zoomRange(point, bucket) {
  if (!point || !NEXT_BUCKET[bucket]) {
    return null;
  }
  // "t" is the bucket's start in the viewer's zone, with its offset: its date is local.
  var from = String(point.t).slice(0, 10);
  var to = bucket === "day" ? from : bucket === "week" ? addDays(from, 6) : monthEnd(from);
  var today = isoDate(new Date(), state.tz);
  return { from: from, to: to < today ? to : today, bucket: NEXT_BUCKET[bucket] };
}

export function zoomInto(point, bucket) {
  var range = zoomRange(point, bucket);
  if (!range) {
    return;
  }
  var next = cloneState(state);
  next.range = "custom";
  next.from = range.from;
  next.to = range.to;
  next.bucket = range.bucket;
  commit(next);
}

export function canZoom(bucket) {
  return Boolean(NEXT_BUCKET[bucket]);
}

/* The switch shows the bucket drawn and lets only those the period allows be picked. */
export function renderBucketSwitch(bucket, allowed) {
  var box = $("bucket-switch");
  if (!box) {
    return;
  }
  box.querySelectorAll("button[data-bucket]").forEach(function (button) {
    var key = button.dataset.bucket;
    var ok = !allowed || allowed.indexOf(key) !== -1;
    button.setAttribute("aria-pressed", key === bucket ? "true" : "false");
    button.disabled = !ok;
    button.title = ok ? "One point per " + NAMES[key] : "Too many points for this range";
  });
}

function onSwitch(event) {
  var button = event.target.closest("button[data-bucket]");
  if (!button || button.disabled || BUCKETS.indexOf(button.dataset.bucket) === -1) {
    return;
  }
  if (button.getAttribute("aria-pressed") === "true") {
    return;
  }
  var next = cloneState(state);
  next.bucket = button.dataset.bucket;
  commit(next);
}

export function initBucketSwitch() {
  var box = $("bucket-switch");
  if (box) {
    box.addEventListener("click", onSwitch);
  }
}
