// Stripe mode of the hosted page. The card is typed into Stripe's own field (Stripe.js, loaded
// before this file); our server only ever receives the id Stripe gives the card.
// - Checkout form: on "Pay", turn the card into a payment method id, put it in the hidden
//   field, submit. "Pay by invoice" submits as usual. Nothing due today ("Start
//   subscription"): confirm a SetupIntent instead and send its id.
// - Processing page with an authentication pending (3-D Secure): run Stripe's authentication,
//   then go to the return URL, where the server reads the outcome from Stripe.
(function () {
  "use strict";
  function paymentMethodId(stripe, card) {
    return stripe.createPaymentMethod({type: "card", card: card}).then(function (result) {
      if (result && result.paymentMethod) return {id: result.paymentMethod.id};
      if (result && result.error) return {error: result.error};
      // localstripe (the test double) does not implement createPaymentMethod: its tokens'
      // card ids are accepted as payment methods by PaymentIntents, as Stripe's are.
      return stripe.createToken(card).then(function (token) {
        if (token && token.token) return {id: token.token.card.id};
        return {error: (token && token.error) || {message: "Your card could not be read."}};
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
          return {error: (answer.body && answer.body.error) || {message: "Your card could not be saved."}};
        }
        return stripe.confirmCardSetup(answer.body.client_secret, {payment_method: {card: card}})
          .then(function (result) {
            if (result && result.setupIntent) return {id: result.setupIntent.id};
            return {error: (result && result.error) || {message: "Your card could not be saved."}};
          });
      }, function () { return {error: {message: "Your card could not be saved. Please try again."}}; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var auth = document.querySelector("[data-client-secret]");
    if (auth) {
      var stripeForAuth = window.Stripe(auth.dataset.stripeKey);
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
    var stripe = window.Stripe(holder.dataset.stripeKey);
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
          errors.textContent = result.error.message || "Your card could not be read.";
          return;
        }
        hidden.value = result.id;
        ready = true;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    }, true);
  });
})();
