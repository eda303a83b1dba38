/* The officer dashboard's turnout chart (vendored Chart.js; data from a json_script block). */
(function () {
  "use strict";
  var source = document.getElementById("turnout-data");
  var canvas = document.getElementById("turnout-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
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
})();
