/* kco-sandbox checkout bootstrap, loaded by the html_snippet into the merchant page.
 * Draws the checkout iframe into the snippet's container and provides the JavaScript API:
 * window._klarnaCheckout(function (api) { api.suspend(); api.resume(); api.on({...}); }).
 * It talks to the page in the iframe with postMessage, and only with that page: every message
 * is checked for the iframe's window and the checkout's origin (see docs/checkout-page.md). */
(function (w, d) {
  "use strict";
  var stub = w._klarnaCheckout;
  var config = stub && stub.config;
  if (!config || !config.container) { return; }
  if (d.getElementById("klarna-checkout-iframe")) { return; } // the snippet ran twice
  var origin;
  try { origin = new URL(config.IFRAME_URL, w.location.href).origin; } catch (e) { return; }
  var fallback = d.getElementById("klarna-unsupported-page");
  if (fallback && fallback.parentNode) { fallback.parentNode.removeChild(fallback); }
  var iframe = d.createElement("iframe");
  iframe.id = "klarna-checkout-iframe";
  iframe.name = "klarna-checkout-iframe";
  iframe.src = config.IFRAME_URL;
  iframe.title = "Checkout";
  iframe.setAttribute("frameborder", "0");
  iframe.setAttribute("scrolling", "no");
  iframe.style.cssText = "width:100%;min-width:280px;height:640px;border:0;display:block;";
  config.container.appendChild(iframe);

  var AUTO_RESUME_MS = 10000;
  var NETWORK_TIMEOUT_MS = 15000;
  // Events the iframe may fire directly; the others are derived here from the page state.
  var PAGE_EVENTS = { user_interacted: 1, checkbox_change: 1, network_error: 1,
    can_not_complete_order: 1, load_confirmation: 1 };
  var handlers = {};
  var last = null;          // the shopper data of the previous screen
  var canonical = null;     // the current step's URL path, re-read on resume
  var suspended = false;
  var resumeTimer = null;
  var watchdog = null;
  var interacted = false;

  function emit(name, data) {
    var handler = handlers[name];
    if (typeof handler !== "function") { return; }
    try { handler(data); } catch (error) { setTimeout(function () { throw error; }); }
  }
  function post(message) {
    if (iframe.contentWindow) { iframe.contentWindow.postMessage(message, origin); }
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  var api = {
    suspend: function (options) {
      suspended = true;
      clearTimeout(resumeTimer);
      post({ kco: "suspend" });
      var auto = !(options && options.autoResume && options.autoResume.enabled === false);
      if (auto) { resumeTimer = setTimeout(api.resume, AUTO_RESUME_MS); }
    },
    resume: function () {
      clearTimeout(resumeTimer);
      suspended = false;
      // Reloading the current step re-reads the order, so merchant changes show up.
      var path = canonical && canonical.indexOf("/kco/checkout/") === 0 ? canonical : null;
      iframe.src = path ? origin + path : config.IFRAME_URL;
      clearTimeout(watchdog);
      watchdog = setTimeout(function () { emit("network_error", {}); }, NETWORK_TIMEOUT_MS);
    },
    on: function (map) {
      if (!map) { return; }
      Object.keys(map).forEach(function (name) {
        if (typeof map[name] === "function") { handlers[name] = map[name]; }
      });
    }
  };

  function onState(message) {
    var s = message.state || {};
    if (typeof message.canonical === "string") { canonical = message.canonical; }
    if (last === null) {
      if (message.step !== "confirmation") {
        emit("load", { customer: s.customer, shipping_address: s.shipping_address });
      }
    } else {
      if (!same(s.customer, last.customer)) { emit("customer", s.customer); }
      if (s.email !== last.email || s.postal_code !== last.postal_code || s.country !== last.country) {
        emit("change", { email: s.email, postal_code: s.postal_code, country: s.country });
      }
      if (s.billing_address && !same(s.billing_address, last.billing_address)) {
        emit("billing_address_change", s.billing_address);
      }
      if (s.shipping_address && !same(s.shipping_address, last.shipping_address)) {
        emit("shipping_address_change", s.shipping_address);
      }
      if (s.shipping_option && !same(s.shipping_option, last.shipping_option)) {
        emit("shipping_option_change", s.shipping_option);
      }
      if (s.order_total !== last.order_total) {
        emit("order_total_change", { order_total: s.order_total });
      }
    }
    last = s;
    (message.events || []).forEach(function (event) {
      if (PAGE_EVENTS[event[0]]) { emit(event[0], event[1] || {}); }
    });
  }

  function validate(data) {
    var answered = false;
    function reply(result) {
      if (answered) { return; }
      answered = true;
      post({ kco: "validation_result", should_proceed: !!(result && result.should_proceed),
        message: result && typeof result.message === "string" ? result.message : "" });
    }
    var handler = handlers.validation_callback;
    if (typeof handler !== "function") { reply({ should_proceed: true }); return; }
    try { handler(data, reply); } catch (error) {
      reply({ should_proceed: false });
      setTimeout(function () { throw error; });
    }
  }

  function navigate(url, reason) {
    if (typeof url !== "string" || !/^https?:\/\//i.test(url)) { return; }
    if (reason === "confirmation") { emit("redirect_initiated", {}); }
    w.location.assign(url);
  }

  w.addEventListener("message", function (event) {
    if (event.source !== iframe.contentWindow || event.origin !== origin) { return; }
    var data = event.data;
    if (!data || typeof data !== "object") { return; }
    if (typeof data.height === "number" && data.height > 0) {
      iframe.style.height = Math.ceil(data.height) + "px";
    }
    if (data.kco === "ready") {
      clearTimeout(watchdog);
      post({ kco: "hello" });
      if (suspended) { post({ kco: "suspend" }); }
    } else if (data.kco === "state") {
      onState(data);
    } else if (data.kco === "event" && PAGE_EVENTS[data.name]) {
      if (data.name === "user_interacted") {
        if (interacted) { return; }
        interacted = true;
      }
      emit(data.name, data.data || {});
    } else if (data.kco === "validate") {
      validate(data.data || {});
    } else if (data.kco === "navigate") {
      navigate(data.url, data.reason);
    }
  });

  // Calls made before this script loaded were queued by the snippet: replay them in order.
  function run(callback) {
    if (typeof callback !== "function") { return; }
    try { callback(api); } catch (error) { setTimeout(function () { throw error; }); }
  }
  var queued = (stub.q || []).slice();
  var live = function (callback) { run(callback); };
  live.config = config;
  live.q = [];
  w._klarnaCheckout = live;
  queued.forEach(function (args) { run(args && args[0]); });
})(window, document);
