// Stripe mode of the hosted page. The card is typed into Stripe's own field (Stripe.js, loaded
// before this file); our server only ever receives the id Stripe gives the card.
// - Checkout form: on "Pay", turn the card into a payment method id, put it in the hidden
//   field, submit. "Pay by invoice" submits as usual. Nothing due today ("Start
//   subscription"): confirm a SetupIntent instead and send its id.
// - Processing page with an authentication pending (3-D Secure): run Stripe's authentication,
//   then go to the return URL, where the server reads the outcome from Stripe.
// Our own messages come translated from the page (the field's data-msg-* attributes, see
// the templates); Stripe's are in the page's language through Stripe.js's ``locale``.
(function () {
  "use strict";
  var messages = {unreadable: "Your card could not be read.", unsaved: "Your card could not be saved.",
                  unsavedRetry: "Your card could not be saved. Please try again."};
  function stripeFor(key) {
    return window.Stripe(key, {locale: document.documentElement.lang || "auto"});
  }
  function paymentMethodId(stripe, card) {
    return stripe.createPaymentMethod({type: "card", card: card}).then(function (result) {
      if (result && result.paymentMethod) return {id: result.paymentMethod.id};
      if (result && result.error) return {error: result.error};
      // localstripe (the test double) does not implement createPaymentMethod: its tokens'
      // card ids are accepted as payment methods by PaymentIntents, as Stripe's are.
      return stripe.createToken(card).then(function (token) {
        if (token && token.token) return {id: token.token.card.id};
        return {error: (token && token.error) || {message: messages.unreadable}};
      });
    });
  }

  // Nothing due today: the card is saved, not charged. Our server makes a SetupIntent (on the
  // customer's Stripe Customer, for off-session use), Stripe.js confirms it with the card,
  // 3-D Secure included, and the form sends the SetupIntent's id; the server reads the saved
  // card back from Stripe.
  function setupIntentId(stripe, card, url, csrfToken) {
    return fetch(url, {method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrfToken}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        if (!answer.ok || !answer.body.client_secret) {
          return {error: (answer.body && answer.body.error) || {message: messages.unsaved}};
        }
        return stripe.confirmCardSetup(answer.body.client_secret, {payment_method: {card: card}})
          .then(function (result) {
            if (result && result.setupIntent) return {id: result.setupIntent.id};
            return {error: (result && result.error) || {message: messages.unsaved}};
          });
      }, function () { return {error: {message: messages.unsavedRetry}}; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var auth = document.querySelector("[data-client-secret]");
    if (auth) {
      var stripeForAuth = stripeFor(auth.dataset.stripeKey);
      var authenticate = function () {
        stripeForAuth.confirmCardPayment(auth.dataset.clientSecret).then(function () {
          window.location.assign(auth.dataset.returnUrl);
        });
      };
      var button = auth.querySelector("[data-authenticate]");
      if (button) button.addEventListener("click", authenticate);
      authenticate();
      return;
    }
    var holder = document.querySelector(".stripe-field[data-stripe-key]");
    var form = document.querySelector(".confirm-form");
    if (!holder || !form) return;
    ["unreadable", "unsaved", "unsavedRetry"].forEach(function (name) {
      var text = holder.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)];
      if (text) messages[name] = text;
    });
    var stripe = stripeFor(holder.dataset.stripeKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var hidden = form.querySelector("input[name=payment_method_id]");
    var errors = document.getElementById("card-errors");
    var ready = false;
    form.addEventListener("submit", function (event) {
      var method = form.querySelector("input[name=payment_method]:checked");
      // The promotion code box re-prices the page in place (checkout.js): no card needed.
      if (event.submitter && event.submitter.hasAttribute("data-promotion")) return;
      if (ready || (method && method.value !== "card")) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
      var asked = holder.dataset.setupUrl
        ? setupIntentId(stripe, card, holder.dataset.setupUrl, csrf ? csrf.value : "")
        : paymentMethodId(stripe, card);
      asked.then(function (result) {
        if (result.error) {
          errors.textContent = result.error.message || messages.unreadable;
          return;
        }
        hidden.value = result.id;
        ready = true;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    }, true);
  });
})();
