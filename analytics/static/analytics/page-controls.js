/* clicktrack: the range, time zone and bots controls of the campaigns and "See all" pages.
 *
 * The controls sit in a plain GET form (templates/analytics/_page_filters.html) whose hidden
 * fields carry the active filters; a change submits it, so the server renders the new numbers
 * and the address bar holds the whole view, as on the dashboard.
 */
(function () {
  "use strict";

  var form = document.getElementById("filter-form");
  if (!form) {
    return;
  }
  var range = document.getElementById("range-select");
  var custom = document.getElementById("custom-range");
  var dateFrom = document.getElementById("date-from");
  var dateTo = document.getElementById("date-to");
  var dateError = document.getElementById("date-error");
  var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  // from/to only mean something for a custom range: leave them out of other ranges' URLs.
  function showDates(shown) {
    custom.hidden = !shown;
    dateFrom.disabled = !shown;
    dateTo.disabled = !shown;
  }

  function showDateError(message) {
    dateError.textContent = message;
    dateError.hidden = !message;
    dateFrom.setAttribute("aria-invalid", message ? "true" : "false");
    dateTo.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function datesValid() {
    if (!DATE_RE.test(dateFrom.value) || !DATE_RE.test(dateTo.value)) {
      showDateError("Enter both dates.");
      return false;
    }
    if (dateTo.value < dateFrom.value) {
      showDateError("The end date must be on or after the start date.");
      return false;
    }
    showDateError("");
    return true;
  }

  function submit() {
    if (range.value === "custom" && !datesValid()) {
      return;
    }
    form.requestSubmit();
  }

  showDates(range.value === "custom");
  range.addEventListener("change", function () {
    showDates(range.value === "custom");
    if (range.value === "custom") {
      dateFrom.focus(); // the fields start from the period on screen; submit once both are set
    } else {
      submit();
    }
  });
  dateFrom.addEventListener("change", function () {
    if (DATE_RE.test(dateTo.value)) {
      submit();
    }
  });
  dateTo.addEventListener("change", submit);
  document.getElementById("tz-select").addEventListener("change", submit);
  document.getElementById("bots-toggle").addEventListener("change", submit);
  form.addEventListener("submit", function (event) {
    if (range.value === "custom" && !datesValid()) {
      event.preventDefault();
    }
  });
})();
