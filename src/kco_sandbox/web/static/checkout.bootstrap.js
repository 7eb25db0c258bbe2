/* kco-sandbox checkout bootstrap: draws the checkout iframe into the snippet's container. */
(function (w, d) {
  "use strict";
  var api = w._klarnaCheckout;
  var config = api && api.config;
  if (!config || !config.container) { return; }
  var container = config.container;
  if (d.getElementById("klarna-checkout-iframe")) { return; } // the snippet ran twice
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
  container.appendChild(iframe);
  w.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source === iframe.contentWindow && data && typeof data.height === "number") {
      iframe.style.height = data.height + "px";
    }
  });
})(window, document);
