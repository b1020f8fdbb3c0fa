"""Patch prose and captions of the executed chapter 8 (no effect on outputs)."""
import nbformat
p = "/work/main/book/08_all_together.ipynb"
nb = nbformat.read(p, as_version=4)
R = [
 ("the training loss is measured with dropout on, so it sits above the validation loss",
  "the training loss is averaged over the epoch with dropout on, the validation loss measured after it with dropout off"),
 ("The improved run's validation accuracy climbs above the baseline's and ends at its best when the one-cycle schedule anneals the learning rate (right), while the baseline moves up and down with its short cycles.",
  "The improved run's validation accuracy ends above the baseline's as the one-cycle schedule anneals the learning rate (right); the baseline's rate goes up and down with its short cycles."),
 ("model: five filters and dropout 0.5 leave little capacity, and half of every\nepoch is spent at learning rates near the bottom of the cycle.",
  "model: five filters and dropout 0.5 leave little capacity, and the short\ncycles raise the learning rate again each time the model starts to settle."),
 ("still tiny (see the parameter counts below), and five filters are too few to\n  tell fingers apart at 28x28.",
  "still tiny (see the parameter counts below), and five filters give it few\n  features to tell three hand shapes apart."),
 ("A single seed and 372 validation images make differences of a point or two\nnoise,",
  "A single seed and a few hundred validation images make differences of a\npoint or two noise,"),
]
hits = {a: 0 for a, _ in R}
for c in nb.cells:
    cap = c.metadata.get("mystnb", {}).get("figure", {})
    for a, b in R:
        if a in c.source:
            c.source = c.source.replace(a, b); hits[a] += 1
        if "caption" in cap and a in cap["caption"]:
            cap["caption"] = cap["caption"].replace(a, b); hits[a] += 1
missing = [a[:50] for a, n in hits.items() if n == 0]
print("missing:", missing)
nbformat.write(nb, p)
