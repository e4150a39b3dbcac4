// Progressive enhancement only: the page works the same without it.
// - Disables the submit button after the first click (the server refuses a second
//   confirm anyway; this just avoids a confusing double click).
// - Renames the button to "Confirm" when "Pay by invoice" is chosen.
// - Moves focus to the error summary after a refused submit.
// - The promotion code box re-prices in place: its buttons post the form in the background and
//   only the parts of the page that depend on the price are replaced, so nothing typed (nor
//   Stripe's card field) is touched. Without JavaScript the same post answers the whole page,
//   with what was typed kept.
// - The billing-interval switch (monthly / yearly) and the items box (quantities, add-ons) the
//   same way: a change of their inputs posts in the background to the adjust endpoint, and
//   their "Update price" buttons (for pages without JavaScript) are hidden.
(function () {
  "use strict";

  document.documentElement.classList.add("js");
  var changed = null;  // the id of the switch or items control whose change is being priced

  // The parts of the page the promotion box changes (data-swap), and the pay button's label.
  function fieldNames(root) {
    return Array.prototype.map.call(root.querySelectorAll(".confirm-form [name]"), function (el) { return el.name; })
      .sort().join(" ");
  }

  // Returns false when the new price changes the form itself (nothing due any more, or due
  // again): then the page is posted as without JavaScript, which keeps what was typed.
  function swapPriced(html, form, button) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    if (fieldNames(fresh) !== fieldNames(document)) return false;
    document.querySelectorAll("[data-swap]").forEach(function (part) {
      var next = fresh.querySelector('[data-swap="' + part.dataset.swap + '"]');
      if (next) part.replaceWith(document.importNode(next, true));
    });
    var freshButton = fresh.querySelector(".confirm-form [data-testid=confirm]");
    if (button && freshButton) {
      button.dataset.payLabel = freshButton.dataset.payLabel;
      var method = form.querySelector("input[name=payment_method]:checked");
      button.textContent = method && method.value === "invoice" ? button.dataset.invoiceLabel : button.dataset.payLabel;
      var mandate = fresh.querySelector("#mandate");
      if (mandate) button.setAttribute("aria-describedby", "mandate"); else button.removeAttribute("aria-describedby");
    }
    var freshDefault = fresh.querySelector(".default-submit"), oldDefault = document.querySelector(".default-submit");
    if (freshDefault && oldDefault) oldDefault.textContent = freshDefault.textContent;
    return true;
  }

  function promotionSubmit(form, submitter, button) {
    var data = new FormData(form);
    if (submitter.name) data.set(submitter.name, submitter.value);
    var reprice = submitter.hasAttribute("data-reprice");
    // Card fields stay in the browser: the server would not show them again anyway.
    ["card_number", "card_cvc", "payment_method_id"].forEach(function (name) { data.delete(name); });
    submitter.disabled = true;
    submitter.setAttribute("aria-busy", "true");
    return fetch(submitter.formAction, {method: "POST", body: data, credentials: "same-origin",
                                        headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (response.redirected || !/text\/html/.test(response.headers.get("Content-Type") || "")) {
          window.location.assign(response.url);  // the session is no longer open: its page says why
          return;
        }
        return response.text().then(function (html) {
          if (!swapPriced(html, form, button)) {
            if (submitter.name) {
              var input = document.createElement("input");
              input.type = "hidden"; input.name = submitter.name; input.value = submitter.value;
              form.appendChild(input);
            }
            form.action = submitter.formAction;
            HTMLFormElement.prototype.submit.call(form);
            return;
          }
          if (reprice) {  // back on the control the customer changed (its box was replaced)
            var again = (changed && document.getElementById(changed)) ||
              document.querySelector("#plan-choices input:checked") || document.querySelector("#plan-choices input");
            if (again) again.focus();
            changed = null;
            return;
          }
          var focus = document.querySelector("#promotion-box .has-error input") ||
            document.querySelector("#promotion-box [data-testid=promotion-applied]") ||
            document.getElementById("id_promotion_code");
          if (focus) {
            if (!focus.matches("input")) focus.setAttribute("tabindex", "-1");
            focus.focus();
          }
        });
      })
      .catch(function () { form.requestSubmit ? form.requestSubmit(submitter) : form.submit(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // After a refused submit, take keyboard and screen-reader users to what needs fixing.
    var summary = document.querySelector(".error-summary") || document.querySelector("#promotion-box .has-error input");
    if (summary) {
      if (!summary.matches("input")) summary.setAttribute("tabindex", "-1");
      summary.focus();
    }
    var form = document.querySelector(".confirm-form");
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("change", function (event) {
      if (!button || event.target.name !== "payment_method") return;
      button.textContent = event.target.value === "invoice" ? (button.dataset.invoiceLabel || button.dataset.payLabel)
        : button.dataset.payLabel;
    });
    // A billing interval picked: priced at once (the radios sit outside the form element,
    // joined to it by their form attribute, so the change is heard on the document).
    // A quantity or an add-on changed: the same (a number field's change comes on Enter, on
    // leaving it, or from its arrows).
    document.addEventListener("change", function (event) {
      if (!event.target.matches) return;
      var box = event.target.matches("#plan-choices input[name=plan_id]") ? "#plan-choices"
        : event.target.matches("#adjust-items input") ? "#adjust-items" : null;
      if (!box) return;
      changed = event.target.id;
      var update = document.querySelector(box + " [data-reprice]");
      if (update) update.click();
    });
    window.addEventListener("pageshow", function () {  // back button (bfcache): usable again
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
    });
    // Enter in the promotion code box applies the code (the form's default button would pay).
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || !event.target.matches || !event.target.matches("#id_promotion_code")) return;
      var apply = document.querySelector("#promotion-box [data-promotion]");
      if (apply) { event.preventDefault(); apply.click(); }
    });
    // Enter in a quantity prices it (the form's default button would pay).
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || !event.target.matches || !event.target.matches("#adjust-items input[type=number]")) return;
      var update = document.querySelector("#adjust-items [data-reprice]");
      if (update) { event.preventDefault(); changed = event.target.id; update.click(); }
    });
    // Capture: runs before any other submit handler (Stripe's, which makes a card payment method).
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && (submitter.hasAttribute("data-promotion") || submitter.hasAttribute("data-reprice")) &&
          window.fetch && window.FormData) {
        event.preventDefault();
        event.stopImmediatePropagation();
        promotionSubmit(form, submitter, button);
      }
    }, true);
    form.addEventListener("submit", function () {
      if (!button) return;
      window.setTimeout(function () { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
    });
  });
})();
