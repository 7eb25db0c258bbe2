/* kco-sandbox hosted checkout page script (inside the iframe).
 * Reports the page height, hands the page state to the bootstrap in the merchant page, shows
 * the suspend overlay, asks the merchant page before buying when client validation is on, and
 * fires checkbox_change and user_interacted. The merchant page's origin is learnt from its
 * "hello" answer; nothing but the height is sent before that. */
(function (w, d) {
  "use strict";
  var stateElement = d.getElementById("kco-page-state");
  var state = stateElement ? JSON.parse(stateElement.textContent) : {};
  var texts = state.texts || {};
  var embedded = w.parent && w.parent !== w;
  var parentOrigin = null;
  var pendingForm = null;
  var interacted = false;

  function height() { return Math.ceil(d.body.getBoundingClientRect().height); }
  function postHeight() {
    if (embedded) { w.parent.postMessage({ height: height() }, "*"); }
  }
  function send(message) {
    if (embedded && parentOrigin) { w.parent.postMessage(message, parentOrigin); }
  }
  function go(url) {
    if (typeof url === "string" && /^https?:\/\//i.test(url)) { w.location.href = url; }
  }

  function announce() {
    send({ kco: "state", step: state.step, state: state.snapshot, events: state.events,
      canonical: state.canonical });
    if (state.navigate) {
      send({ kco: "navigate", url: state.navigate.url, reason: state.navigate.reason });
    }
  }

  function suspend() {
    if (d.getElementById("klarna-checkout-suspended")) { return; }
    var overlay = d.createElement("div");
    overlay.id = "klarna-checkout-suspended";
    overlay.setAttribute("role", "status");
    overlay.setAttribute("aria-live", "polite");
    var spinner = d.createElement("div");
    spinner.className = "spinner";
    spinner.setAttribute("aria-hidden", "true");
    var label = d.createElement("span");
    label.className = "muted";
    label.textContent = "\u00a0" + (texts.updating || "Updating…");
    overlay.appendChild(spinner);
    overlay.appendChild(label);
    var main = d.querySelector("main");
    if (main) { main.setAttribute("inert", ""); }
    d.body.appendChild(overlay);
  }

  function showMessage(text) {
    var box = d.getElementById("client-validation-message");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = !text;
    postHeight();
    if (text && box.scrollIntoView) { box.scrollIntoView({ block: "nearest" }); }
  }

  w.addEventListener("message", function (event) {
    if (!embedded || event.source !== w.parent) { return; }
    var data = event.data;
    if (!data || typeof data !== "object") { return; }
    if (data.kco === "hello") {
      if (parentOrigin === null) { parentOrigin = event.origin; announce(); }
      return;
    }
    if (event.origin !== parentOrigin) { return; }
    if (data.kco === "suspend") {
      suspend();
    } else if (data.kco === "validation_result" && pendingForm) {
      var form = pendingForm;
      pendingForm = null;
      if (data.should_proceed) { form.submit(); }
      else {
        showMessage(data.message || texts.not_accepted ||
          "The store could not accept the order right now.");
      }
    }
  });

  d.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.getAttribute("data-client-validation") !== "true") { return; }
    if (!embedded || !parentOrigin) { return; } // no merchant page to ask
    event.preventDefault();
    pendingForm = form;
    showMessage("");
    send({ kco: "validate", data: { customer: state.snapshot.customer,
      billing_address: state.snapshot.billing_address,
      shipping_address: state.snapshot.shipping_address,
      order_total: state.snapshot.order_total } });
  });

  d.addEventListener("change", function (event) {
    var target = event.target;
    var key = target && target.getAttribute && target.getAttribute("data-checkbox-key");
    if (key) {
      send({ kco: "event", name: "checkbox_change", data: { key: key, checked: !!target.checked } });
    }
    if (target && target.id === "separate_shipping_address") {
      var set = d.querySelector('fieldset[data-toggle="separate_shipping_address"]');
      if (set) { set.hidden = !target.checked; set.disabled = !target.checked; postHeight(); }
    }
  });

  function interaction(event) {
    if (interacted) { return; }
    interacted = true;
    send({ kco: "event", name: "user_interacted", data: { type: event.type } });
  }
  d.addEventListener("mousedown", interaction, true);
  d.addEventListener("keydown", interaction, true);
  w.addEventListener("offline", function () {
    send({ kco: "event", name: "network_error", data: {} });
  });

  if (!embedded && state.navigate) { go(state.navigate.url); } // opened on its own
  if (embedded) {
    w.parent.postMessage({ kco: "ready", height: height() }, "*");
    if (w.ResizeObserver) { new w.ResizeObserver(postHeight).observe(d.body); }
    w.addEventListener("load", postHeight);
  }
})(window, document);
