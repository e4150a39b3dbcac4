// Progressive enhancement only: the page works the same without it.
// - Disables the submit button after the first click (the server refuses a second
//   confirm anyway; this just avoids a confusing double click).
// - Renames the button to "Confirm" when "Pay by invoice" is chosen.
// - Moves focus to the error summary after a refused submit.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // After a refused submit, take keyboard and screen-reader users to what needs fixing.
    var summary = document.querySelector(".error-summary") || document.querySelector(".promotion-form .has-error input");
    if (summary) {
      if (!summary.matches("input")) summary.setAttribute("tabindex", "-1");
      summary.focus();
    }
    var form = document.querySelector(".confirm-form");
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    var payLabel = button ? button.textContent : "";
    form.addEventListener("change", function (event) {
      if (!button || event.target.name !== "payment_method") return;
      button.textContent = event.target.value === "invoice" ? (button.dataset.invoiceLabel || payLabel) : payLabel;
    });
    window.addEventListener("pageshow", function () {  // back button (bfcache): usable again
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
    });
    form.addEventListener("submit", function () {
      if (!button) return;
      window.setTimeout(function () { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
    });
  });
})();
