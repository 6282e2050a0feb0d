// Keyboard shortcuts, the label filter on the task page, and confirmations on admin pages.
// No inline scripts: the CSP forbids them.
"use strict";

const FOCUSABLE = "button, a[href], input, select, textarea, summary, [tabindex]";
// Where keys type text: the page's shortcuts leave them alone (a tick box is not one).
const TYPING = "textarea, input:not([type=checkbox]):not([type=radio])";
const MAX_SHOWN = 12; // matching labels listed under the filter

// A page Back restores from the browser's memory is fetched again: the task it shows may have
// been decided since, and the server says so instead of offering the form.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

// Forms that change or remove something ask first (data-confirm holds the question).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// How well `query` matches `text`: a substring beats a subsequence (letters in order, gaps
// allowed), an earlier and tighter match beats a later or looser one; null: no match.
function matchRank(query, text) {
  const at = text.indexOf(query);
  if (at >= 0) return at;
  let from = 0;
  let first = -1;
  for (const letter of query) {
    const found = text.indexOf(letter, from);
    if (found < 0) return null;
    if (first < 0) first = found;
    from = found + 1;
  }
  return 1000 + (from - first - query.length) * 10 + first;
}

function labelFilter(form, search) {
  const list = document.getElementById("label-options");
  const submit = document.getElementById("search-submit");
  const options = Array.from(list.querySelectorAll("[role=option]"));
  const labels = new Set(options.map((option) => option.dataset.label));
  let shown = [];
  let active = -1;
  search.removeAttribute("list"); // the script's list replaces the browser's datalist

  const activate = (index) => {
    shown.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (index >= 0) {
      search.setAttribute("aria-activedescendant", shown[index].id);
      shown[index].scrollIntoView({ block: "nearest" });
    } else {
      search.removeAttribute("aria-activedescendant");
    }
  };
  const close = () => {
    list.hidden = true;
    search.setAttribute("aria-expanded", "false");
    activate(-1);
  };
  const filter = () => {
    const query = search.value.trim().toLowerCase();
    if (!query) {
      shown = [];
      options.forEach((option) => (option.hidden = true));
      close();
      return;
    }
    const ranked = [];
    for (const option of options) {
      const label = option.dataset.label.toLowerCase();
      const name = option.dataset.name.toLowerCase();
      const ranks = [matchRank(query, label), matchRank(query, name)].filter((r) => r !== null);
      if (ranks.length) ranked.push([Math.min(...ranks), option.dataset.label, option]);
    }
    ranked.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
    shown = ranked.slice(0, MAX_SHOWN).map((entry) => entry[2]);
    options.forEach((option) => (option.hidden = !shown.includes(option)));
    shown.forEach((option) => list.appendChild(option)); // best match first
    list.hidden = shown.length === 0;
    search.setAttribute("aria-expanded", String(!list.hidden));
    activate(shown.length ? 0 : -1);
  };
  const take = (label) => {
    submit.value = label;
    form.requestSubmit(submit);
  };

  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      activate((active + step + shown.length) % shown.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0) take(shown[active].dataset.label);
      else if (labels.has(search.value.trim())) take(search.value.trim());
      else search.classList.add("flash"); // nothing matches: say so, save nothing
    } else if (event.key === "Escape") {
      close();
      search.blur();
    }
  });
  list.addEventListener("mousedown", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) {
      event.preventDefault();
      take(option.dataset.label);
    }
  });
  submit.addEventListener("click", (event) => {
    const typed = active >= 0 ? shown[active].dataset.label : search.value.trim();
    if (!labels.has(typed)) {
      event.preventDefault();
      search.focus();
      return;
    }
    submit.value = typed;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("decision");
  const undo = document.getElementById("undo");
  const search = document.getElementById("label-search");
  const proposed = document.getElementById("proposed-label");
  if (form && search) labelFilter(form, search);
  if (proposed) {
    proposed.addEventListener("keydown", (event) => {
      if (event.key === "Escape") proposed.blur(); // the page's keys work again
    });
  }
  if (!form && !undo) return;

  const submitWith = (button) => (form || undo).requestSubmit(button);

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof Element && event.target.closest(TYPING);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (undo && (event.key === "u" || event.key === "Backspace")) {
      if (event.target instanceof Element && event.target.closest("input, textarea")) return;
      event.preventDefault();
      undo.requestSubmit();
      return;
    }
    if (!form) return;
    if (form.dataset.sets) {
      labelSetKey(event, form, submitWith);
      return;
    }
    if (event.key === "/") {
      event.preventDefault();
      search.focus();
    } else if (event.key === "s") {
      event.preventDefault();
      submitWith(document.getElementById("skip"));
    } else if (event.key === "n") {
      event.preventDefault();
      submitWith(document.getElementById("none-fits"));
    } else if (event.key === "p" && document.getElementById("proposed-label")) {
      event.preventDefault(); // focus the box without typing the p into it
      document.getElementById("proposed-label").focus();
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

// A multi-label task: a number key ticks or unticks that label, Enter saves the ticked set (on
// a focused button, the button's own choice), n saves "no label applies", s skips.
function labelSetKey(event, form, submitWith) {
  if (event.key === "Enter") {
    if (event.target instanceof Element && event.target.closest("button, a[href]")) return;
    event.preventDefault();
    submitWith(document.getElementById("save-set"));
  } else if (event.key === "n" || event.key === "s") {
    event.preventDefault();
    submitWith(document.getElementById(event.key === "n" ? "none-fits" : "skip"));
  } else if (/^[1-9]$/.test(event.key)) {
    const box = form.querySelector(`input[type=checkbox][data-key="${event.key}"]`);
    if (box) {
      event.preventDefault();
      box.checked = !box.checked;
    }
  }
}
