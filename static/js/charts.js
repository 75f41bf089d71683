// Draws every chart placeholder from its JSON once plotly.js has loaded.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true };

  function draw() {
    document.querySelectorAll(".plotly-chart[data-figure]").forEach(function (el) {
      var data = document.getElementById(el.dataset.figure);
      if (!data || el.dataset.drawn) { return; }
      var figure = JSON.parse(data.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, config);
      el.dataset.drawn = "1";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
