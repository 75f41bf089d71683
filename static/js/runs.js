// Keeps the collection runs table current while a run is queued or running.
(function () {
  "use strict";
  var EVERY_MS = 2000;

  function poll() {
    var box = document.getElementById("runs");
    if (!box || box.dataset.active !== "1") { return; }
    fetch(box.dataset.url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#runs");
          if (fresh) { box.replaceWith(fresh); }
        }
        window.setTimeout(poll, EVERY_MS);
      })
      .catch(function () { window.setTimeout(poll, EVERY_MS * 3); });
  }

  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, EVERY_MS); });
})();

// Facebook's login redirect appends "#_=_" to the return URL; drop it so the
// address bar (and a bookmark of it) shows the page's own URL.
(function () {
  "use strict";
  if (window.location.hash === "#_=_" && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
