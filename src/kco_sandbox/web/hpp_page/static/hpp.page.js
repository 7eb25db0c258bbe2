/* kco-sandbox Hosted Payment Page script (the page at a session's redirect_url).
 * Draws the hosted checkout's iframe and speaks its messages in place of the html_snippet's
 * bootstrap: answers "ready" with "hello", sizes the iframe, approves client-side validation
 * (a hosted page has no merchant page to ask), submits the hidden decline form when the checkout
 * reports a declined purchase, and sends the browser to the session's result when the purchase
 * completes. It also polls the session's state, so an outcome reached by another path (the
 * sandbox API, another tab) ends this page too. Messages are accepted only from the iframe's
 * window and origin. */
(function (w, d) {
  "use strict";
  var configElement = d.getElementById("hpp-config");
  if (!configElement) { return; }
  var config = JSON.parse(configElement.textContent);
  var origin;
  try { origin = new URL(config.iframe, w.location.href).origin; } catch (e) { return; }
  var iframe = d.createElement("iframe");
  iframe.id = "klarna-checkout-iframe";
  iframe.name = "klarna-checkout-iframe";
  iframe.src = config.iframe;
  iframe.title = "Checkout";
  iframe.setAttribute("scrolling", "no");
  d.getElementById("hpp-checkout").appendChild(iframe);
  var leaving = false;

  function post(message) {
    if (iframe.contentWindow) { iframe.contentWindow.postMessage(message, origin); }
  }
  function leave(url) {
    if (leaving) { return; }
    leaving = true;
    w.location.assign(url);
  }
  function decline() {
    if (leaving) { return; }
    var form = d.getElementById("hpp-decline-form");
    if (form) { leaving = true; form.submit(); }
  }

  w.addEventListener("message", function (event) {
    if (event.source !== iframe.contentWindow || event.origin !== origin) { return; }
    var data = event.data;
    if (!data || typeof data !== "object") { return; }
    if (typeof data.height === "number" && data.height > 0) {
      iframe.style.height = Math.ceil(data.height) + "px";
    }
    if (data.kco === "ready") {
      post({ kco: "hello" });
    } else if (data.kco === "validate") {
      post({ kco: "validation_result", should_proceed: true, message: "" });
    } else if (data.kco === "state") {
      (data.events || []).forEach(function (item) {
        if (item[0] === "can_not_complete_order") { decline(); }
      });
    } else if (data.kco === "navigate") {
      if (data.reason === "confirmation") { leave(config.result); }
      else if (typeof data.url === "string" && /^https?:\/\//i.test(data.url)) { leave(data.url); }
    }
  });

  function poll() {
    if (leaving) { return; }
    fetch(config.state, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && state.status !== "IN_PROGRESS" && state.status !== "WAITING") {
          leave(config.result);
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})(window, document);
