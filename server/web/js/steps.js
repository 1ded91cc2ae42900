// The config's steps as a list: each step with its type and an arrow per nextStepIds entry, the
// active one highlighted as step_change events arrive. Rendered from the editor's JSON, so it
// follows edits; the active and visited marks survive a re-render.

const list = () => document.getElementById("steps");

let activeStepId = null;
const visited = new Set();

/** Renders `config.steps`; anything that is not a list of steps renders as a hint instead. */
export function renderSteps(config) {
  const ol = list();
  ol.replaceChildren();
  const steps = Array.isArray(config?.steps) ? config.steps : null;
  if (!steps || steps.length === 0) {
    ol.append(hint(steps ? "the config has no steps" : "no steps: config.steps is not a list"));
    return;
  }
  const ids = new Set(steps.map((step) => step?.id).filter((id) => typeof id === "string"));

  steps.forEach((step, index) => {
    const id = typeof step?.id === "string" ? step.id : "";
    const li = document.createElement("li");
    li.className = "step";
    li.dataset.stepId = id;
    li.dataset.index = String(index);

    const head = document.createElement("div");
    head.className = "step-head";
    head.append(span("step-id", id || `(step ${index} has no id)`), span(`step-type type-${step?.type}`, String(step?.type ?? "?")));
    li.append(head);

    const next = step?.nextStepIds;
    if (next && typeof next === "object") {
      // Spans, not nested <li>s: "#steps li" should count steps only.
      const edges = document.createElement("div");
      edges.className = "edges";
      for (const [label, target] of Object.entries(next)) {
        const edge = span("edge", "");
        // "next" is the unconditional way on; only branch labels are worth printing.
        if (label !== "next") edge.append(span("edge-label", label));
        edge.append(span("arrow", "→"));
        const to = span("edge-target", String(target));
        if (!ids.has(target)) {
          to.classList.add("missing");
          to.title = "no step has this id";
        }
        edge.append(to);
        edges.append(edge);
      }
      li.append(edges);
    }
    ol.append(li);
  });
  applyMarks();
}

/** Highlights the step a step_change entered. */
export function setActiveStep(stepId) {
  activeStepId = stepId;
  visited.add(stepId);
  applyMarks();
}

/** Forgets the previous session's path through the steps. */
export function resetActiveStep() {
  activeStepId = null;
  visited.clear();
  applyMarks();
}

/** Flags the steps a validation problem points into (paths such as `steps[2].nextStepIds.true`). */
export function markStepProblems(problems) {
  const flagged = new Map();
  for (const problem of problems ?? []) {
    const match = /^steps\[(\d+)\]/.exec(problem.path ?? "");
    if (!match) continue;
    const worst = flagged.get(match[1]);
    if (worst !== "error") flagged.set(match[1], problem.severity === "warning" ? "warning" : "error");
  }
  for (const li of list().querySelectorAll("li.step")) {
    li.classList.remove("has-error", "has-warning");
    const severity = flagged.get(li.dataset.index);
    if (severity) li.classList.add(`has-${severity}`);
  }
}

function applyMarks() {
  for (const li of list().querySelectorAll("li.step")) {
    li.classList.toggle("active", activeStepId !== null && li.dataset.stepId === activeStepId);
    li.classList.toggle("visited", visited.has(li.dataset.stepId));
  }
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function hint(text) {
  const li = document.createElement("li");
  li.className = "hint";
  li.textContent = text;
  return li;
}
