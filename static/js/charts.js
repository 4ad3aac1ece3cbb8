// Charts from data the server put in <script type="application/json"> blocks or in the
// canvas's data-chart-json attribute.
// Every chart has a table with the same numbers next to it.
(function () {
  "use strict";
  if (!window.Chart) return;
  var colours = { reading: "#1f3a5f", expected: "#8a5a00", projection: "#b42318",
                  planned: "#8eb0d6", outturn: "#1f3a5f" };

  // A bar chart (the dashboard's value by stage): a click on a bar follows data.links.
  function barChart(canvas, data) {
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return { label: s.label, data: s.data.map(Number),
                   backgroundColor: colours[s.kind] || "#555" };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: data.unit } } },
        plugins: { legend: { position: "bottom" } },
        onClick: function (event, elements) {
          if (data.links && elements.length) {
            // Links are query strings of the drill-down page (data-link-base).
            window.location.assign((canvas.getAttribute("data-link-base") || "") +
                                   data.links[elements[0].index]);
          }
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length && data.links ? "pointer" : "default";
        }
      }
    });
  }

  function build(root) {
  root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    if (window.Chart.getChart(canvas)) return;
    // The data is in the canvas's data-chart-json attribute (content swapped in by htmx
    // keeps no <script> element), else in the <script type="application/json"> it names.
    var inline = canvas.getAttribute("data-chart-json");
    var source = inline ? null : document.getElementById(canvas.getAttribute("data-chart"));
    if (!inline && !source) return;
    var data = JSON.parse(inline || source.textContent);
    if (data.type === "bar") { barChart(canvas, data); return; }
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return {
            label: s.label,
            data: s.data.map(function (v) { return v === null ? null : Number(v); }),
            borderColor: colours[s.kind] || "#555",
            backgroundColor: colours[s.kind] || "#555",
            borderDash: s.kind === "expected" ? [6, 4] : (s.kind === "projection" ? [2, 3] : []),
            spanGaps: s.kind !== "reading",
            pointRadius: s.kind === "expected" ? 0 : 3,
            tension: 0
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { title: { display: true, text: data.unit } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  });
  }

  build(document);
  // Content swapped in by htmx (the dashboard's filters) brings new canvases.
  document.addEventListener("htmx:load", function (event) { build(event.detail.elt); });
})();
