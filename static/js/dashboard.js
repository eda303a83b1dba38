/* The officer dashboard's turnout chart (vendored Chart.js; data from a json_script block). */
(function () {
  "use strict";
  var source = document.getElementById("turnout-data");
  var canvas = document.getElementById("turnout-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);

  // Text on a canvas is drawn once, in the font Chart.js names, whatever the page's CSS
  // says: name the page's own families (Noto Sans Devanagari first, static/vendor/fonts),
  // and draw only once that font has loaded, or a Hindi legend, axis or tooltip is boxes.
  var family = getComputedStyle(document.documentElement).fontFamily;
  if (family) Chart.defaults.font.family = family;

  function draw() {
    var chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.label_planned, data: data.planned, backgroundColor: "#c9d3dd" },
          { label: data.label_vaccinated, data: data.vaccinated, backgroundColor: "#0b6e4f" }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-ready", chart ? "1" : "0");
  }

  var fonts = document.fonts;
  if (!fonts || !fonts.load) {
    draw();
    return;
  }
  // The text the chart draws, so that the faces (and subsets) it needs are the ones loaded:
  // regular for the legend and ticks, bold for the tooltip's title.
  var text = [data.label_planned, data.label_vaccinated].concat(data.labels).join(" ");
  var size = Chart.defaults.font.size + "px " + Chart.defaults.font.family;
  Promise.all([fonts.load(size, text), fonts.load("bold " + size, text)])
    .then(function () { return fonts.ready; })
    .catch(function () { /* a font that cannot load: draw in the fallback rather than not at all */ })
    .then(draw);
})();
