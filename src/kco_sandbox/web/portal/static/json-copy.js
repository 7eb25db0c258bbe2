// kco-sandbox portal: a "Copy" button on each JSON block of the order page (progressive
// enhancement: without JavaScript the JSON is still there to select and copy by hand).
"use strict";
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("details.raw").forEach(function (details) {
    var pre = details.querySelector("pre.json");
    var summary = details.querySelector("summary");
    if (!pre || !summary) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy JSON";
    button.setAttribute("aria-label", "Copy " + summary.textContent.trim());
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Copy failed: select the text"; }
      );
      setTimeout(function () { button.textContent = "Copy JSON"; }, 2000);
    });
    details.insertBefore(button, pre);
  });
})();
