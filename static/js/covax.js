/* covax page behaviour. No inline scripts anywhere (the Content-Security-Policy forbids
   them): every page loads this file; pages mark elements with data-* attributes. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Language switch: changing the select is enough.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Instant search over the rows already on the page: works with no network at all.
  // Every word must appear in the row's name, reference id, last 4 of the ID or mobile.
  function filterRows(input) {
    var scope = document.querySelector(input.getAttribute("data-filter"));
    if (!scope) return;
    var words = input.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
    var shown = 0;
    scope.querySelectorAll("tr.person").forEach(function (row) {
      var hay = row.getAttribute("data-search") || "";
      var digits = hay.replace(/[^0-9 ]/g, "");
      var match = words.every(function (w) { return hay.indexOf(w) !== -1 || (/^[0-9]+$/.test(w) && digits.indexOf(w) !== -1); });
      row.hidden = !match;
      if (match) shown += 1;
    });
    var none = scope.querySelector(".no-match");
    if (none) none.hidden = shown > 0 || words.length === 0;
  }
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    input.addEventListener("input", function () { filterRows(input); });
    input.form.addEventListener("submit", function (event) { event.preventDefault(); filterRows(input); });
    if (input.value) filterRows(input);
  });

  // The lot number: remembered on this device too, so a reload keeps it.
  document.querySelectorAll("input[data-remember]").forEach(function (input) {
    var key = "covax-" + input.getAttribute("data-remember");
    try {
      if (!input.value && localStorage.getItem(key)) input.value = localStorage.getItem(key);
      input.addEventListener("change", function () { localStorage.setItem(key, input.value.trim()); });
    } catch (e) { /* private mode: the server remembers it as well */ }
  });

  function recount() {
    var due = document.getElementById("count-due-n");
    var done = document.getElementById("count-done-n");
    if (due) due.textContent = document.querySelectorAll("#due-body tr.person[data-status=due]").length;
    if (done) done.textContent = document.querySelectorAll("#done-body tr.person").length;
  }

  document.body.addEventListener("htmx:afterSettle", function () {
    recount();
    var search = document.querySelector("input[data-filter]");
    if (search) {
      filterRows(search);
      // Ready for the next person in the queue: typing replaces the last search.
      search.focus();
      search.select();
    }
  });
  document.body.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("messages");
    if (box) {
      var div = document.createElement("div");
      div.className = "alert alert-error";
      div.setAttribute("role", "alert");
      div.textContent = box.getAttribute("data-offline") || "The server could not be reached. Nothing was saved; try again.";
      box.appendChild(div);
    }
  });
})();
