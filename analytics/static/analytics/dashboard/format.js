/* Numbers, shares, dates and periods as the dashboard shows them. */

var intFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function fmtInt(n) {
  return typeof n === "number" && isFinite(n) ? intFormat.format(n) : "—";
}

/* A share (0.2314) as every page shows it: "23.1%", "25%", "<0.1%" below a tenth of a percent.
 * The same rule as the server's share filter (analytics/templatetags/shares.py): the shortest
 * decimal of the number (String(x), as Python's str) rounded half up to a tenth of a percent,
 * whatever the browser's locale, so the dashboard and the "See all" pages never disagree.
 * Give it clicks / total, not the API's share rounded to 4 places: rounding twice would show
 * 8/97 (8.247%) as 8.3%. */
export function fmtShare(x) {
  if (typeof x !== "number" || !isFinite(x)) {
    return "—";
  }
  if (x > 0 && x < 0.001) {
    return "<0.1%";
  }
  var parts = String(Math.abs(x)).split(".");
  var digits = (parts[1] || "") + "0000";
  var tenths =
    Number(parts[0]) * 1000 + Number(digits.slice(0, 3)) + (Number(digits[3]) >= 5 ? 1 : 0);
  var text = String(Math.floor(tenths / 10)) + (tenths % 10 ? "." + (tenths % 10) : "");
  return (x < 0 && tenths ? "-" : "") + text + "%";
}

function safeZone(tz) {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: tz });
    return tz;
  } catch (e) {
    return "UTC";
  }
}

var formatterCache = {};
function formatter(tz, options) {
  var key = tz + "|" + JSON.stringify(options);
  if (!formatterCache[key]) {
    var opts = Object.assign({ timeZone: safeZone(tz) }, options);
    formatterCache[key] = new Intl.DateTimeFormat(undefined, opts);
  }
  return formatterCache[key];
}

/* Calendar parts of an instant in a zone, as numbers. */
var partsFormatters = {};
function zonedParts(date, tz) {
  if (!partsFormatters[tz]) {
    partsFormatters[tz] = new Intl.DateTimeFormat("en-US", {
      timeZone: safeZone(tz),
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23"
    });
  }
  var parts = partsFormatters[tz].formatToParts(date);
  var out = {};
  parts.forEach(function (p) {
    if (p.type !== "literal") {
      out[p.type] = parseInt(p.value, 10);
    }
  });
  if (out.hour === 24) {
    out.hour = 0;
  }
  return out;
}

function pad2(n) {
  return (n < 10 ? "0" : "") + n;
}

/* YYYY-MM-DD of an instant in a zone (for the custom range inputs). */
export function isoDate(date, tz) {
  var p = zonedParts(date, tz);
  return p.year + "-" + pad2(p.month) + "-" + pad2(p.day);
}

var BUCKET_FORMATS = {
  hour: {
    short: { hour: "numeric", minute: "2-digit" },
    long: { weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }
  },
  day: {
    short: { month: "short", day: "numeric" },
    long: { weekday: "short", month: "short", day: "numeric", year: "numeric" }
  },
  week: {
    short: { month: "short", day: "numeric" },
    long: { month: "short", day: "numeric", year: "numeric" }
  },
  month: {
    short: { month: "short", year: "numeric" },
    long: { month: "long", year: "numeric" }
  }
};

export function bucketLabels(points, bucket, tz) {
  var formats = BUCKET_FORMATS[bucket] || BUCKET_FORMATS.day;
  var shortFmt = formatter(tz, formats.short);
  var longFmt = formatter(tz, formats.long);
  var dayFmt = formatter(tz, { month: "short", day: "numeric" });
  var short = [];
  var long = [];
  points.forEach(function (point) {
    var date = new Date(point.t);
    if (isNaN(date.getTime())) {
      short.push(String(point.t));
      long.push(String(point.t));
      return;
    }
    var s = shortFmt.format(date);
    if (bucket === "hour" && zonedParts(date, tz).hour === 0) {
      s = dayFmt.format(date); // midnight ticks name the new day
    }
    short.push(s);
    long.push(bucket === "week" ? "Week of " + longFmt.format(date) : longFmt.format(date));
  });
  return { short: short, long: long };
}

/* "Oct 24 – Nov 22, 2026" for [start, end) in the viewer's zone. */
export function formatPeriod(period, tz) {
  if (!period || !period.start || !period.end) {
    return "";
  }
  var start = new Date(period.start);
  var end = new Date(period.end);
  if (isNaN(start.getTime()) || isNaN(end.getTime())) {
    return "";
  }
  // Times only for periods that do not start and end at midnight ("24h"); days otherwise.
  var startParts = zonedParts(start, tz);
  var endParts = zonedParts(end, tz);
  var atMidnight =
    startParts.hour === 0 && startParts.minute === 0 && endParts.hour === 0 && endParts.minute === 0;
  var withTime = !atMidnight && end - start <= 2 * 86400000 + 3600000;
  var lastMoment = withTime ? end : new Date(end.getTime() - 1); // inclusive last day
  var fmt = formatter(
    tz,
    withTime
      ? { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }
      : { month: "short", day: "numeric", year: "numeric" }
  );
  if (typeof fmt.formatRange === "function") {
    try {
      return fmt.formatRange(start, lastMoment);
    } catch (e) {
      /* fall through */
    }
  }
  return fmt.format(start) + " – " + fmt.format(lastMoment);
}

export function truncate(text, max) {
  text = String(text);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
