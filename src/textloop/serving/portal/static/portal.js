// Keyboard shortcuts and label search on the task page. No inline scripts: the CSP forbids them.
"use strict";

const FOCUSABLE = "button, a[href], input, select, textarea, summary, [tabindex]";

// A page Back restores from the browser's memory is fetched again: the task it shows may have
// been decided since, and the server says so instead of offering the form.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("decision");
  if (!form) return;
  const search = document.getElementById("label-search");
  const searchSubmit = document.getElementById("search-submit");
  const labels = new Set(form.dataset.labels.split("\n"));

  const submitWith = (button) => form.requestSubmit(button);

  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      if (labels.has(search.value)) {
        searchSubmit.value = search.value;
        submitWith(searchSubmit);
      }
    } else if (event.key === "Escape") {
      search.blur();
    }
  });
  searchSubmit.addEventListener("click", (event) => {
    if (!labels.has(search.value)) {
      event.preventDefault();
      search.focus();
      return;
    }
    searchSubmit.value = search.value;
  });

  document.addEventListener("keydown", (event) => {
    if (event.target === search || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      event.preventDefault();
      search.focus();
    } else if (event.key === "s") {
      event.preventDefault();
      submitWith(document.getElementById("skip"));
    } else if (event.key === "Enter") {
      // Enter presses whatever has focus (a label, Skip, a link): only with nothing focused
      // does it approve the suggestion
      if (event.target instanceof Element && event.target.closest(FOCUSABLE)) return;
      event.preventDefault();
      const approve = document.getElementById("approve");
      if (approve) {
        submitWith(approve);
      } else {
        // an explicit task: the user disputed the model's label, so Enter confirms nothing
        const notice = document.getElementById("disputed");
        if (notice) notice.classList.add("flash");
      }
    } else if (/^[1-9]$/.test(event.key)) {
      const choice = form.querySelector(`button[data-key="${event.key}"]`);
      if (choice) {
        event.preventDefault();
        submitWith(choice);
      }
    }
  });
});
