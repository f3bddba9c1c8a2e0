// The demo page: posts the chosen image to predict (overlay and counts) and shows the answers.
"use strict";

const $ = (id) => document.getElementById(id);

async function errorText(response) {
  try {
    return (await response.json()).error || response.statusText;
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

async function post(file, format) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch(`predict?format=${format}`, { method: "POST", body: form });
  if (!response.ok) {
    throw new Error(await errorText(response));
  }
  return format === "json" ? response.json() : response.blob();
}

function showLegend(counts) {
  const rows = counts.classes.filter((c) => c.pixels > 0).sort((a, b) => b.pixels - a.pixels);
  const body = $("legend").querySelector("tbody");
  body.replaceChildren(
    ...rows.map((c) => {
      const row = document.createElement("tr");
      const name = document.createElement("td");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = `rgb(${c.color.join(",")})`;
      name.append(swatch, c.name);
      const pixels = document.createElement("td");
      pixels.textContent = c.pixels.toLocaleString();
      const share = document.createElement("td");
      share.textContent = `${(100 * c.share).toFixed(1)} %`;
      row.append(name, pixels, share);
      return row;
    }),
  );
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function segment(file) {
  if (!file) {
    return;
  }
  setStatus(`segmenting ${file.name}…`);
  const started = performance.now();
  try {
    const [overlay, counts] = await Promise.all([post(file, "overlay"), post(file, "json")]);
    for (const id of ["original", "overlay"]) {
      URL.revokeObjectURL($(id).src); // the previous image's
    }
    $("original").src = URL.createObjectURL(file);
    $("overlay").src = URL.createObjectURL(overlay);
    showLegend(counts);
    $("result").hidden = false;
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    setStatus(`${file.name}: ${counts.width}x${counts.height}, answered in ${seconds} s`);
  } catch (err) {
    setStatus(`${file.name}: ${err.message}`, true);
  }
}

async function describeModel() {
  try {
    const response = await fetch("model");
    const model = await response.json();
    $("model").textContent = `${model.num_classes} classes, ${model.runtime}`;
  } catch (err) {
    $("model").textContent = `cannot read the model description: ${err.message}`;
  }
}

const drop = $("drop");
$("file").addEventListener("change", (event) => segment(event.target.files[0]));
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  segment(event.dataTransfer.files[0]);
});
describeModel();
