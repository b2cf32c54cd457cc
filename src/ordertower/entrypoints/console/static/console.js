// The console's own behaviour (no inline script: the Content-Security-Policy forbids it).
// - renders every <pre class="mermaid"> with the vendored Mermaid, on load and after each
//   htmx swap; a rendered diagram's container gets data-rendered="true";
// - the order page's time slider (#plan-at): shows the plan as it stood at a past moment.
(function () {
  "use strict";
  var ready = false;

  function renderDiagrams(root) {
    if (!window.mermaid) { return; }
    if (!ready) {
      window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default",
                                  flowchart: { htmlLabels: false }, gantt: { useWidth: 1100 } });
      ready = true;
    }
    var nodes = Array.prototype.slice.call(
      (root || document).querySelectorAll("pre.mermaid:not([data-processed])"));
    if (!nodes.length) { return; }
    window.mermaid.run({ nodes: nodes }).then(function () {
      nodes.forEach(function (n) {
        var box = n.closest(".diagram");
        if (box) { box.setAttribute("data-rendered", "true"); }
      });
    }).catch(function (err) {
      nodes.forEach(function (n) {
        var box = n.closest(".diagram");
        if (box) { box.setAttribute("data-rendered", "error"); box.setAttribute("data-error", String(err)); }
      });
    });
  }

  function iso(ms) {
    return new Date(Number(ms)).toISOString();
  }

  function setupSlider() {
    var slider = document.getElementById("plan-at");
    if (!slider || slider.dataset.bound) { return; }
    slider.dataset.bound = "1";
    var label = document.getElementById("plan-at-label");
    var panel = document.getElementById(slider.dataset.target);
    var live = document.getElementById("plan-at-live");
    function show() {
      var atEnd = Number(slider.value) >= Number(slider.max);
      var url = slider.dataset.src + (atEnd ? "" : "?at=" + encodeURIComponent(iso(slider.value)));
      label.textContent = atEnd ? "now (live)" : iso(slider.value);
      panel.setAttribute("hx-get", url);
      panel.setAttribute("data-at", atEnd ? "" : iso(slider.value));
      window.htmx.process(panel);
      window.htmx.ajax("GET", url, { target: panel, swap: "innerHTML" });
    }
    slider.addEventListener("input", show);
    slider.addEventListener("change", show);
    if (live) {
      live.addEventListener("click", function () { slider.max = String(Date.now()); slider.value = slider.max; show(); });
    }
  }

  // Live updates: the event stream of an [sse-connect] element fires "sse:change" on its
  // [data-live-signal] child; every [data-live] element of that container then gets a
  // "refresh" (its hx-trigger), at most once per LIVE_MS and always once after the last event.
  var LIVE_MS = 600;
  document.addEventListener("sse:change", function (evt) {
    var box = evt.target.closest("[sse-connect]");
    if (!box) { return; }
    box.querySelectorAll("[data-live]").forEach(function (el) {
      if (el._liveTimer) { el._livePending = true; return; }
      window.htmx.trigger(el, "refresh");
      el._liveTimer = window.setTimeout(function tick() {
        if (el._livePending) {
          el._livePending = false;
          window.htmx.trigger(el, "refresh");
          el._liveTimer = window.setTimeout(tick, LIVE_MS);
        } else {
          el._liveTimer = null;
        }
      }, LIVE_MS);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    renderDiagrams(document);
    setupSlider();
  });
  document.addEventListener("htmx:afterSettle", function (evt) {
    renderDiagrams(evt.target);
    setupSlider();
  });
  // a confirm() before destructive actions, without inline script: <form data-confirm="...">
  document.addEventListener("submit", function (evt) {
    var msg = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { evt.preventDefault(); }
  }, true);
})();
