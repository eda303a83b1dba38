/* The upload form: refuse a file the server would refuse (too big, old .xls, not a
   list) before sending it, so nobody waits for a 200 MB file to travel for nothing.
   The server checks again; the messages come translated from the page's data-* attributes. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload-form]");
  if (!form) return;
  var input = form.querySelector("input[type=file]");
  var button = form.querySelector("button[type=submit]");
  var label = button ? button.textContent : "";
  if (!input) return;
  var note = document.createElement("p");
  note.className = "file-check";
  note.id = "file-check";
  note.setAttribute("role", "alert");
  note.hidden = true;
  input.insertAdjacentElement("afterend", note);

  function problem() {
    var file = input.files && input.files[0];
    if (!file) return "";
    var name = file.name.toLowerCase();
    if (/\.xls$/.test(name)) return form.getAttribute("data-old-excel");
    if (!/\.(csv|txt|xlsx)$/.test(name)) return form.getAttribute("data-bad-type");
    if (file.size > Number(form.getAttribute("data-max-bytes"))) return form.getAttribute("data-too-big");
    return "";
  }

  function check() {
    var text = problem();
    note.textContent = text;
    note.hidden = !text;
    if (text) input.setAttribute("aria-describedby", "file-check");
    return !text;
  }

  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (!check()) {
      event.preventDefault();
      input.focus();
      return;
    }
    if (button) {
      // A big file takes a while to travel: say so, and do not send it twice.
      button.disabled = true;
      button.textContent = form.getAttribute("data-sending");
    }
  });
  // Back from the detail page (bfcache): the button works again.
  window.addEventListener("pageshow", function () {
    if (button) {
      button.disabled = false;
      button.textContent = label;
    }
  });
})();
