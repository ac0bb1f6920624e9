/* WhatsApp Gateway console: the only script (no inline script; CSP).
 * 1. <time datetime="...Z"> shown in the browser's zone (unless the
 *    server already used the operator's zone: data-fixed).
 * 2. [data-refresh=URL][data-interval=s]: re-fetch URL and swap in the
 *    element with the same id (or the whole answer for a fragment);
 *    stops once the answer holds [data-done].
 * 3. [data-confirm] buttons ask first; [data-autoselect] inputs select.
 * Every page reads fine without it. */
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
    timeZoneName: "short"
  });

  function localise(root) {
    var nodes = root.querySelectorAll("time[datetime]:not([data-fixed])");
    for (var i = 0; i < nodes.length; i++) {
      var d = new Date(nodes[i].getAttribute("datetime"));
      if (isNaN(d.getTime())) { continue; }
      nodes[i].title = nodes[i].getAttribute("datetime");
      nodes[i].textContent = fmt.format(d);
    }
  }

  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var seconds = parseFloat(el.getAttribute("data-interval") || "10");
    var timer = null;
    function tick() {
      if (document.hidden) { timer = setTimeout(tick, seconds * 1000); return; }
      fetch(url, {credentials: "same-origin", headers: {"X-Console-Refresh": "1"}})
        .then(function (r) {
          if (r.redirected || !r.ok) { throw new Error("refresh " + r.status); }
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = el.id ? doc.getElementById(el.id) : null;
          el.innerHTML = fresh ? fresh.innerHTML : doc.body.innerHTML;
          localise(el);
          if (!el.querySelector("[data-done]")) {
            timer = setTimeout(tick, seconds * 1000);
          }
        })
        .catch(function () { timer = setTimeout(tick, seconds * 4000); });
    }
    if (!el.querySelector("[data-done]")) { timer = setTimeout(tick, seconds * 1000); }
    return timer;
  }

  document.addEventListener("DOMContentLoaded", function () {
    localise(document);
    var live = document.querySelectorAll("[data-refresh]");
    for (var i = 0; i < live.length; i++) { refresh(live[i]); }
    document.addEventListener("submit", function (ev) {
      var button = ev.submitter || ev.target.querySelector("[data-confirm]");
      var question = button && button.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { ev.preventDefault(); }
    });
    var sel = document.querySelectorAll("[data-autoselect]");
    for (var j = 0; j < sel.length; j++) {
      sel[j].addEventListener("focus", function (e) { e.target.select(); });
    }
  });
}());
