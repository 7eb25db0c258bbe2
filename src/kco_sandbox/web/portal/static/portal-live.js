/*
 * kco-sandbox portal: live rows for the journal (#journal) and an order's timeline (#timeline).
 *
 * Progressive enhancement: a page works without this file (its "Reload" link shows new rows).
 * On a page with <section id="journal" data-live="URL"> or <section id="timeline"
 * data-live="URL">, it opens an EventSource on URL (server-sent events from live.py) and adds
 * each `entry` event as a table row: at the top when the section says
 * data-live-order="newest-first" (the journal), else at the bottom (a timeline, oldest first).
 *
 * In a table, the cells follow its header: each <th data-col="..."> names what its column shows
 * (time, kind, request, status, duration, correlation, order, type, target, method); a column
 * without one stays empty. Without a table (the order page's timeline), each entry becomes an
 * <li class="entry entry-GROUP"> of the section's <ol class="entries">, as order.html renders
 * them. Everything is built with textContent only, never innerHTML of data, and an entry already
 * on the page (same data-id) is not added twice.
 */
(function () {
  "use strict";

  var section = document.querySelector("section#journal[data-live], section#timeline[data-live]");
  if (!section || !window.EventSource) {
    return;
  }
  var table = section.querySelector("table");
  var body = table && table.tBodies[0];
  var newestFirst = section.getAttribute("data-live-order") === "newest-first";
  var columns = table ? Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return { name: th.getAttribute("data-col") || "", className: th.className };
  }) : [];

  // The same rule as journal.py `status_class`: the colour only repeats what the text says.
  function statusClass(row) {
    var status = row.status;
    if (status === null || status === undefined) {
      return row.status_text && row.status_text.indexOf("no answer") === 0 ? "bad" : "neutral";
    }
    if (status < 300) { return "ok"; }
    if (status < 400) { return "info"; }
    return status < 500 ? "warn" : "bad";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fill(cell, name, row) {
    switch (name) {
      case "time": {
        var time = el("time", "", row.time);
        time.setAttribute("datetime", row.at);
        cell.appendChild(time);
        cell.classList.add("when");
        break;
      }
      case "kind":
        cell.appendChild(el("span", "kind kind-" + row.kind, row.kind_label));
        break;
      case "type":
        cell.appendChild(el("code", "", row.type || row.kind_label));
        break;
      case "request":
      case "target":
        if (row.method && name === "request") {
          cell.appendChild(el("span", "method", row.method));
          cell.appendChild(document.createTextNode(" "));
        }
        cell.appendChild(el("code", "", row.target || "—"));
        cell.classList.add("request");
        break;
      case "method":
        cell.textContent = row.method || "—";
        break;
      case "status":
        cell.appendChild(el("span", "badge " + (row.status_class || statusClass(row)), row.status_text));
        break;
      case "duration":
        cell.textContent = row.duration;
        break;
      case "correlation":
        cell.appendChild(el("code", "corr", row.correlation_id || "—"));
        break;
      case "order": {
        var link = el("a", "", null);
        link.href = "/portal/orders/" + encodeURIComponent(row.order_id);
        link.title = row.order_id;
        link.setAttribute("aria-label", "Order " + row.order_id);
        link.appendChild(el("code", "", row.order_id.slice(0, 8) + "…"));
        cell.appendChild(link);
        break;
      }
      default:
        break;
    }
  }

  // An order's timeline as a list (<ol class="entries"> of <li class="entry entry-GROUP">, a
  // time and an .entry-body), the form order.html renders it in.
  function group(row) {
    var type = row.type || "";
    if (row.kind === "api") { return "api"; }
    if (type.indexOf("callback.") === 0) { return "callback"; }
    if (/\.attempt$/.test(type)) { return "attempt"; }
    if (type === "portal.action") { return "portal"; }
    if (type === "clock.advanced") { return "clock"; }
    return type.indexOf("purchase.") === 0 ? "shopper" : "other";
  }

  function addItem(row) {
    var list = section.querySelector("ol.entries");
    if (!list) {
      list = el("ol", "entries", null);
      var empty = section.querySelector(".empty-timeline");
      if (empty) {
        empty.parentNode.replaceChild(list, empty);
      } else {
        section.appendChild(list);
      }
    }
    if (list.querySelector('li[data-id="' + String(row.id).replace(/[^a-z0-9]/gi, "") + '"]')) {
      return;
    }
    var item = el("li", "entry entry-" + group(row) + " row-new", null);
    item.setAttribute("data-id", row.id);
    item.setAttribute("data-kind", row.type || "");
    var time = el("time", "", row.time + " UTC");
    time.setAttribute("datetime", row.at);
    item.appendChild(time);
    var entryBody = el("div", "entry-body", null);
    entryBody.appendChild(el("span", "kind", row.kind_label || row.type));
    if (row.target) {
      entryBody.appendChild(el("code", row.kind === "api" ? "call" : "url",
        (row.method && row.kind === "api" ? row.method + " " : "") + row.target));
    }
    if (row.kind !== "event") {
      entryBody.appendChild(el("span", "badge " + (row.status_class || statusClass(row)), row.status_text));
    }
    if (row.kind === "callback" && row.duration !== "—") {
      entryBody.appendChild(el("span", "muted", row.duration));
    }
    if (row.correlation_id) {
      var corr = el("span", "muted mono corr", row.correlation_id);
      corr.title = "Klarna-Correlation-Id";
      entryBody.appendChild(corr);
    }
    item.appendChild(entryBody);
    if (newestFirst) {
      list.insertBefore(item, list.firstChild);
    } else {
      list.appendChild(item);
    }
  }

  function add(row) {
    if (!body) {
      addItem(row);
      return;
    }
    if (body.querySelector('tr[data-id="' + String(row.id).replace(/[^a-z0-9]/gi, "") + '"]')) {
      return; // rendered with the page already
    }
    var empty = body.querySelector("tr.empty");
    if (empty) { empty.parentNode.removeChild(empty); }
    var tr = el("tr", "row-new", null);
    tr.setAttribute("data-id", row.id);
    columns.forEach(function (column) {
      var td = el("td", column.className, null);
      fill(td, column.name, row);
      tr.appendChild(td);
    });
    if (newestFirst) {
      body.insertBefore(tr, body.firstChild);
    } else {
      body.appendChild(tr);
    }
  }

  // The indicator: a dot and a word, announced politely to screen readers.
  var holder = section.querySelector("[data-live-status]");
  var indicator = el("span", "live-indicator", "Connecting…");
  indicator.setAttribute("role", "status");
  var heading = section.querySelector("h1, h2");
  if (holder) {
    holder.insertBefore(indicator, holder.firstChild);
  } else if (heading) {
    heading.appendChild(document.createTextNode(" "));
    heading.appendChild(indicator);
  } else {
    section.insertBefore(indicator, section.firstChild);
  }
  function show(state, text) {
    indicator.setAttribute("data-state", state);
    indicator.textContent = text;
  }

  var source = new EventSource(section.getAttribute("data-live"));
  source.addEventListener("open", function () { show("on", "Live"); });
  source.addEventListener("error", function () {
    // The browser reconnects by itself (after the `retry` the server set) unless it gave up.
    if (source.readyState === EventSource.CLOSED) {
      show("off", "Live updates stopped: reload the page");
    } else {
      show("wait", "Reconnecting…");
    }
  });
  source.addEventListener("entry", function (event) {
    var row;
    try {
      row = JSON.parse(event.data);
    } catch (ignored) {
      return;
    }
    add(row);
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
