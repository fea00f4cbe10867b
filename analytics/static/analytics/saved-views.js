/* The dashboard's "Save view" form saves the view on screen: the dashboard keeps its filters in
 * the address, which changes without a reload, so the address's query is copied in on submit. */
(function () {
  var form = document.getElementById("save-view-form");
  if (!form) {
    return;
  }
  form.addEventListener("submit", function () {
    document.getElementById("save-view-query").value = window.location.search.replace(/^\?/, "");
  });
})();
