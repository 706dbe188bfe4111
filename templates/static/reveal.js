// Show-password buttons for Gatehouse's pages. Loaded from the server
// itself (the pages' CSP is script-src 'self'); no inline script.
//
// A button with data-reveal="ID" (hidden in the HTML, so without scripts
// the field stays a plain password field) is shown and toggles the field
// ID between hidden and shown text; its two labels are the spans
// data-reveal-show and data-reveal-hide, and aria-pressed says which
// state it is in. The field is hidden again before its form is sent, so
// browsers offer to save the password as usual.
(function () {
  "use strict";

  function setShown(button, field, shown) {
    field.type = shown ? "text" : "password";
    button.setAttribute("aria-pressed", shown ? "true" : "false");
    button.querySelector("[data-reveal-show]").hidden = shown;
    button.querySelector("[data-reveal-hide]").hidden = !shown;
  }

  function wire(button) {
    var field = document.getElementById(button.dataset.reveal);
    if (!field || field.type !== "password") {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      setShown(button, field, field.type === "password");
      field.focus();
    });
    if (field.form) {
      field.form.addEventListener("submit", function () {
        setShown(button, field, false);
      });
    }
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-reveal]"), wire);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
