"""Tests of ``dlsolve train-loop``: a hand-labelled corpus, an independent simulation of the
gradient buffer for every ordering of zero_grad/backward/step, --diff, the exam's loop, the CLI.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.solvers.train_loop import RULES, analyze, solve

CORPUS = Path(__file__).parent / "data" / "train_loops"
CORPUS_FILES = sorted(CORPUS.glob("*.py"))


def expected_rules(path: Path) -> set[str]:
    """The ``# expect: DL001, DL010`` (or ``clean``) label written on the first line of a corpus file."""
    first = path.read_text().splitlines()[0]
    match = re.fullmatch(r"# expect: (.*)", first)
    assert match, f"{path.name} has no '# expect:' label"
    labels = match.group(1).strip()
    return set() if labels == "clean" else {code.strip() for code in labels.split(",")}


# --------------------------------------------------------------------------- the corpus


def test_corpus_covers_every_rule_and_has_correct_loops():
    labelled = set().union(*(expected_rules(path) for path in CORPUS_FILES))
    assert labelled == set(RULES)
    assert sum(1 for path in CORPUS_FILES if not expected_rules(path)) >= 6


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_findings_match_labels(path):
    findings, _ = analyze(path.read_text(), path.name)
    assert {f.rule for f in findings} == expected_rules(path)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_diff_output_parses_and_removes_the_mechanical_findings(path):
    source = path.read_text()
    findings, corrected = analyze(source, path.name)
    ast.parse(corrected)
    after, _ = analyze(corrected, path.name)
    fixed_only_when_unambiguous = {"DL005", "DL022", "DL023", "DL041"}
    assert {f.rule for f in after} <= {f.rule for f in findings} & (fixed_only_when_unambiguous | {"DL020"})
    if not findings:
        assert corrected == source


@pytest.mark.parametrize(
    ("name", "patched"),
    [
        (
            "dl005_backward_missing",
            "    loss = criterion(model(inputs), labels)\n    loss.backward()\n    optimizer.step()",
        ),
        ("dl022_nll_on_logits", "loss = F.cross_entropy(model(x), y)"),
        ("dl023_bce_on_logits", "criterion = nn.BCEWithLogitsLoss()"),
        ("dl041_backward_under_no_grad", "    optimizer.zero_grad()\n    outputs = model(inputs)\n"),
    ],
)
def test_unambiguous_fixes_of_dl005_dl022_dl023_dl041(name, patched):
    _, corrected = analyze((CORPUS / f"{name}.py").read_text())
    assert patched in corrected
    assert analyze(corrected)[0] == []


@pytest.mark.parametrize(
    "code",
    [
        # the NLLLoss object is also used on log-probabilities: renaming it would break that call
        "criterion = nn.NLLLoss()\nfor x, y in loader:\n    loss = criterion(model(x), y)\n"
        "    other = criterion(F.log_softmax(model(x), dim=1), y)\n",
        # a bare import: the new class may not be imported
        "from torch.nn import BCELoss\ncriterion = BCELoss()\nfor x, y in loader:\n    loss = criterion(model(x), y)\n",
        # no_grad also guards a manual update: which part needs autograd is a guess
        "for x, y in loader:\n    with torch.no_grad():\n        loss = criterion(model(x), y)\n"
        "        w -= 0.1 * w.grad\n    loss.backward()\n",
        # a decorated step
        "@torch.no_grad()\ndef step(x, y):\n    loss = criterion(model(x), y)\n    loss.backward()\n",
        # two losses (a GAN) and no backward: which one?
        "for x, y in loader:\n    optimizer.zero_grad()\n    d_loss = criterion(model(x), y)\n"
        "    g_loss = criterion(model(x), 1 - y)\n    optimizer.step()\n",
        # no zero_grad in the loop either: inserting backward alone would leave DL001
        "for x, y in loader:\n    loss = criterion(model(x), y)\n    optimizer.step()\n",
    ],
)
def test_no_fix_where_it_would_be_a_guess(code):
    loss = "" if "criterion = " in code else "criterion = nn.CrossEntropyLoss()\n"
    source = "model = nn.Sequential(nn.Linear(4, 3))\n" + loss + code
    findings, corrected = analyze(source)
    assert findings and corrected == source
    if "log_softmax" in code:  # without the second use the constructor is renamed
        assert "nn.CrossEntropyLoss()" in analyze(source.rsplit("    other = ", 1)[0])[1]


# --------------------------------------------------------------------------- the exam, part 2(b)


def test_exam_2b_buggy_loop():
    path = CORPUS / "exam_2b.py"
    findings, corrected = analyze(path.read_text(), "exam_2b.py")
    assert [(f.line, f.col, f.rule) for f in findings] == [(19, 1, "DL001"), (21, 12, "DL010")]
    assert "loss = loss_fn(preds, labels)" in corrected
    lines = corrected.splitlines()
    assert lines.index("    optimizer.zero_grad()") < lines.index("    loss.backward()")


def test_exam_2b_sheet_rewrite_still_has_the_argument_order_bug():
    findings, _ = analyze((CORPUS / "exam_2b_sheet_rewrite.py").read_text(), "sheet")
    assert [f.rule for f in findings] == ["DL010"]
    assert "loss_fn(labels, preds)" in findings[0].message


# --------------------------------------------------------------------------- same names, different scopes


def owners_of_findings(source: str) -> list[tuple[str, str]]:
    """(enclosing top-level ``class``/``def`` line, rule) of each finding in ``source``."""
    lines = source.splitlines()
    return [
        (next(lines[i] for i in range(f.line - 1, -1, -1) if lines[i].startswith(("class ", "def "))), f.rule)
        for f in analyze(source)[0]
    ]


def test_methods_and_closures_of_the_same_name_keep_their_own_facts():
    # ClassifierTrainer.fit (its train_step lacks zero_grad) and fit_bad (its closure lacks it);
    # no DL023 from mixing RegressorTrainer's BCEWithLogitsLoss with ClassifierTrainer's BCELoss.
    source = (CORPUS / "dl001_same_method_name_two_classes.py").read_text()
    assert owners_of_findings(source) == [("class ClassifierTrainer:", "DL001"), ("def fit_bad(model, x, y):", "DL001")]


def test_class_order_does_not_change_which_method_is_called():
    source = (CORPUS / "dl001_same_method_name_two_classes.py").read_text()
    head, regressor, rest = source.partition("class RegressorTrainer:")
    regressor_body, classifier, rest = rest.partition("class ClassifierTrainer:")
    classifier_body, fit_good, functions = rest.partition("def fit_good")
    swapped = head + classifier + classifier_body + regressor + regressor_body + fit_good + functions
    assert owners_of_findings(swapped) == [
        ("class ClassifierTrainer:", "DL001"),
        ("def fit_bad(model, x, y):", "DL001"),
    ]


def test_same_local_name_in_two_functions_keeps_each_functions_loss():
    # train_classifier: softmax into its CrossEntropyLoss; train_tagger: log_softmax into its NLLLoss
    source = (CORPUS / "dl020_same_name_two_functions.py").read_text()
    assert [(f.line, f.rule) for f in analyze(source)[0]] == [(22, "DL020")]
    head, classifier, tagger = re.split(r"\n(?=def )", source)
    swapped = f"{head}\n{tagger}\n{classifier}"  # the later binding must not win either way
    assert [(f.line, f.rule) for f in analyze(swapped)[0]] == [(35, "DL020")]


def test_closures_read_their_own_enclosing_functions_bindings():
    source = (CORPUS / "dl020_closure_reads_outer_criterion.py").read_text()
    assert owners_of_findings(source) == [("def main(train_loader, epochs=10):", "DL020")]
    assert [f.line for f in analyze(source)[0]] == [21]


def test_module_bindings_stay_visible_to_functions_that_only_read_them():
    source = (CORPUS / "clean_module_criterion_in_functions.py").read_text()
    assert analyze(source)[0] == []
    # the module's CrossEntropyLoss and SGD are what train() uses: a softmax there is DL020, a
    # missing zero_grad() DL001 (neither is known from the names alone)
    softmax = source.replace(
        "        outputs = model(inputs)\n        loss", "        outputs = model(inputs).softmax(1)\n        loss"
    )
    assert [(f.line, f.rule) for f in analyze(softmax)[0]] == [(39, "DL020")]
    renamed = source.replace("optimizer", "sgd").replace("criterion", "xent")
    assert analyze(renamed)[0] == []
    no_zero = renamed.replace("        sgd.zero_grad()\n        outputs", "        outputs")
    assert [(f.line, f.rule) for f in analyze(no_zero)[0]] == [(36, "DL001")]


@pytest.mark.parametrize(
    ("code", "rules"),
    [
        # a local of another function does not hide (or replace) the module's loss
        ("def other():\n    criterion = nn.CrossEntropyLoss()\n" + "LOOP", {"DL022"}),
        # ... but a global declaration rebinds the module's name
        ("def other():\n    global criterion\n    criterion = nn.CrossEntropyLoss()\n" + "LOOP", set()),
        # a comprehension variable is the comprehension's own
        ("def train():\n    names = [criterion for criterion in 'ab']\n" + "INDENTED", {"DL022"}),
        # a local bound to something else is that, not the module's loss
        ("def train():\n    criterion = make_loss()\n" + "INDENTED", set()),
        # nonlocal: the closure rebinds the enclosing function's name
        (
            "def main():\n    criterion = nn.CrossEntropyLoss()\n    def use_nll():\n        nonlocal criterion\n"
            "        criterion = nn.NLLLoss()\n" + "INDENTED",
            {"DL022"},
        ),
    ],
)
def test_name_scopes_spellings(code, rules):
    loop = "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
    loop += "    optimizer.step()\n"
    indented = "".join(f"    {line}\n" for line in loop.splitlines())
    body = code.replace("LOOP", loop).replace("INDENTED", indented)
    source = "model = nn.Sequential(nn.Linear(4, 3))\ncriterion = nn.NLLLoss()\n" + body
    assert {f.rule for f in analyze(source)[0]} == rules


def test_a_parameter_takes_the_callers_object():
    # train()'s criterion parameter is main()'s local NLLLoss, fed raw logits
    source = (
        "model = nn.Sequential(nn.Linear(4, 3))\n"
        "def train(model, criterion):\n    for x, y in loader:\n        loss = criterion(model(x), y)\n"
        "def main():\n    criterion = nn.NLLLoss()\n    train(model, criterion)\n"
    )
    assert [(f.line, f.rule) for f in analyze(source)[0]] == [(4, "DL022")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dl020_parameter_named_differently", [(20, "DL020")]),
        ("clean_parameter_two_losses", []),
        ("clean_fit_method_keywords", []),
    ],
)
def test_parameters_take_what_the_calls_pass(name, expected):
    source = (CORPUS / f"{name}.py").read_text()
    assert [(f.line, f.rule) for f in analyze(source)[0]] == expected


def test_a_method_called_with_keywords_takes_what_every_call_passes():
    source = (CORPUS / "clean_fit_method_keywords.py").read_text()
    both_nll = re.sub(r"nn\.CrossEntropyLoss\([^)]*\)", "nn.NLLLoss()", source)
    assert [(f.line, f.rule) for f in analyze(both_nll)[0]] == [(25, "DL022")]
    one_nll = source.replace("nn.CrossEntropyLoss(label_smoothing=0.1)", "nn.NLLLoss()")
    assert analyze(one_nll)[0] == []  # the calls disagree: unknown, no finding either way


TRAIN = "def train(net, loss_fn=nn.NLLLoss()):\n    for x, y in loader:\n        loss = loss_fn(net(x), y)\n"


@pytest.mark.parametrize(
    ("calls", "rules"),
    [
        ("train(model)\n", {"DL022"}),  # the default
        ("train(model, nn.CrossEntropyLoss())\n", set()),
        ("train(loss_fn=nn.CrossEntropyLoss(), net=model)\n", set()),
        ("crit = nn.CrossEntropyLoss()\ntrain(model, crit)\ntrain(model.to(device), loss_fn=crit)\n", set()),
        ("train(model, nn.NLLLoss())\ntrain(model, nn.CrossEntropyLoss())\n", set()),
        ("train(model, *extra)\n", set()),
        ("train(model, **options)\n", set()),
        ("model.train()\ntrain(model)\n", {"DL022"}),  # a method call is not a call of train()
        ("", set()),  # never called: the parameters' names decide
    ],
)
def test_parameter_resolution_spellings(calls, rules):
    source = "model = nn.Sequential(nn.Linear(4, 3))\n" + TRAIN + calls
    assert {f.rule for f in analyze(source)[0]} == rules


def test_a_recursive_call_passing_a_parameter_on_adds_nothing():
    source = (
        "model = nn.Sequential(nn.Linear(4, 3))\n"
        "def train(net, loss_fn, depth):\n    for x, y in loader:\n        loss = loss_fn(net(x), y)\n"
        "    if depth:\n        train(net, loss_fn, depth - 1)\n"
        "train(model, nn.NLLLoss(), 2)\n"
    )
    assert [(f.line, f.rule) for f in analyze(source)[0]] == [(4, "DL022")]


def test_an_alias_of_a_parameter_takes_what_the_calls_pass():
    source = (
        "model = nn.Sequential(nn.Linear(4, 3))\n"
        "def train(net, loss_fn):\n    criterion = loss_fn\n    for x, y in loader:\n"
        "        loss = criterion(net(x), y)\n"
        "def other():\n    loss_fn = nn.CrossEntropyLoss()\n"
        "train(model, nn.NLLLoss())\n"
    )
    assert [(f.line, f.rule) for f in analyze(source)[0]] == [(5, "DL022")]


def test_a_local_of_the_same_name_does_not_block_the_nll_fix():
    source = (
        "model = nn.Sequential(nn.Linear(4, 3))\ncriterion = nn.NLLLoss()\nfor x, y in loader:\n"
        "    loss = criterion(model(x), y)\n"
        "def other(head, x, y):\n    criterion = nn.NLLLoss()\n    return criterion(F.log_softmax(head(x), 1), y)\n"
    )
    findings, corrected = analyze(source)
    assert [f.rule for f in findings] == ["DL022"]
    assert corrected.count("nn.CrossEntropyLoss()") == 1 and corrected.count("nn.NLLLoss()") == 1


def test_numeric_names_are_scoped():
    # ``accum`` is a number at module level; a helper's own ``accum`` tensor does not change that
    source = (
        "model = Net()\ncriterion = nn.CrossEntropyLoss()\naccum = 4\n"
        "def helper(x):\n    accum = model(x)\n    return accum\n"
        "with torch.no_grad():\n    out = model(x)\nloss = criterion(out, y) / accum\nloss.backward()\n"
    )
    assert [f.rule for f in analyze(source)[0]] == ["DL041"]


# --------------------------------------------------------------------------- evaluation outside loops


def test_evaluation_outside_loops_is_checked_at_the_forward_pass():
    source = (CORPUS / "dl030_dl031_outside_loops.py").read_text()
    findings, corrected = analyze(source)
    assert [(f.line, f.rule) for f in findings] == [
        (18, "DL030"),  # evaluate(): neither
        (18, "DL031"),
        (24, "DL030"),  # predict(): no_grad-decorated, training mode
        (33, "DL030"),  # validation pass in the training loop: neither
        (33, "DL031"),
        (38, "DL031"),  # after model.eval(), autograd on
    ]
    assert "on held-out x_val" in findings[3].message and "in evaluate()" in findings[0].message
    # the fix sets eval mode around the pass and gives training mode back to the training loop
    assert "    model.eval()\n    with torch.no_grad():\n        val_loss = " in corrected
    assert "        val_loss = criterion(model(x_val), y_val).item()\n    model.train()\n" in corrected


@pytest.mark.parametrize(
    ("code", "rules"),
    [
        ("preds = model(x_test)\n", {"DL030", "DL031"}),
        ("model.eval()\nacc = (net(X_val.to(device)).argmax(1) == y_val).float().mean()\n", {"DL031"}),
        ("model.eval()\nacc = (model(X_val.to(device)).argmax(1) == y_val).float().mean()\n", {"DL031"}),
        ("def predict(model, x):\n    with torch.no_grad():\n        return model(x)\n", {"DL030"}),
        ("def score(model, x, y):\n    model.eval()\n    return (model(x).argmax(1) == y).sum()\n", {"DL031"}),
        # not: eval mode and no_grad, training data, input gradients, a model's method, a pytest test
        ("model.eval()\nwith torch.inference_mode():\n    preds = model(x_test)\n", set()),
        ("out = model(x_train)\n", set()),
        ("x_test.requires_grad_()\nmodel(x_test)[0, 3].backward()\n", set()),
        (
            "class Net(nn.Module):\n    def forward(self, x):\n        return x\n\n    def predict(self, x):\n"
            "        return self.forward(x)\n",
            set(),
        ),
        ("def test_shape():\n    assert model(x_test).shape == (2, 4)\n", set()),
        ("def evaluate(model, x, y):\n    loss = criterion(model(x), y)\n    loss.backward()\n", set()),
    ],
)
def test_evaluation_outside_loops_spellings(code, rules):
    source = "criterion = nn.CrossEntropyLoss()\nmodel = Net()\n" + code
    assert {f.rule for f in analyze(source)[0]} == rules


# --------------------------------------------------------------------------- DL041 data flow


def test_backward_on_a_no_grad_loss_is_found_through_the_data_flow():
    source = (CORPUS / "dl041_loss_from_no_grad_outputs.py").read_text()
    lines = source.splitlines()
    findings, _ = analyze(source)
    backwards = [(lines[f.line - 1].strip(), f.rule) for f in findings]
    assert backwards == [
        ("loss.backward()", "DL041"),
        ("scaler.scale(criterion(logits, batch[1]) / 2).backward()", "DL041"),
        ("loss.backward()", "DL041"),
        ("loss.backward()", "DL041"),
    ]
    assert "outputs = model(inputs)" in findings[0].message and "(line 20)" in findings[0].message
    assert "only called under no_grad" in findings[3].message


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("with torch.no_grad():\n    out = model(x)\nloss = criterion(out, y)\nloss.backward()\n", True),
        ("with torch.no_grad():\n    out = model(x)\ncriterion(out.view(-1), y).mean().backward()\n", True),
        ("with torch.no_grad():\n    loss = criterion(model(x), y)\ntorch.autograd.backward(loss)\n", True),
        ("with torch.no_grad():\n    loss = criterion(model(x), y)\naccelerator.backward(loss)\n", True),
        (
            "with torch.no_grad():\n    out = model(x)\nloss = criterion(out, y)\nloss = loss * 2\nloss.backward()\n",
            True,
        ),
        # not: an assignment with autograd on in between, a trained model on top, a grad-carrying
        # operand, requires_grad_() (a leaf: no error, though nothing trains), enable_grad()
        ("with torch.no_grad():\n    out = model(x)\nout = model(x)\ncriterion(out, y).backward()\n", False),
        ("with torch.no_grad():\n    f = backbone(x)\nloss = criterion(head(f), y)\nloss.backward()\n", False),
        ("with torch.no_grad():\n    l1 = criterion(model(x), y)\nloss = l1 + penalty\nloss.backward()\n", False),
        ("with torch.no_grad():\n    loss = criterion(model(x), y)\nloss.requires_grad_().backward()\n", False),
        (
            "with torch.no_grad():\n    with torch.enable_grad():\n        loss = criterion(model(x), y)\n"
            "loss.backward()\n",
            False,
        ),
        ("loss = criterion(model(x), y)\nwith torch.inference_mode():\n    loss.backward()\n", False),
        ("with torch.no_grad():\n    out = model(x)\nloss = criterion(student(x), out)\nloss.backward()\n", False),
    ],
)
def test_backward_on_no_grad_tensors_spellings(code, flagged):
    source = "criterion = nn.CrossEntropyLoss()\nmodel = Net()\n" + code
    assert ("DL041" in {f.rule for f in analyze(source)[0]}) == flagged


@pytest.mark.torch
def test_pytorch_raises_exactly_where_dl041_fires(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import runpy

    monkeypatch.chdir(tmp_path)
    positive = CORPUS / "dl041_loss_from_no_grad_outputs.py"
    errors = runpy.run_path(str(positive))["errors"]
    assert len(errors) == len(analyze(positive.read_text())[0]) == 4
    assert all("does not require grad and does not have a grad_fn" in str(error) for error in errors)
    fixed = tmp_path / "fixed.py"  # --diff unwraps the two no_grad blocks; the decorated steps stay
    fixed.write_text(analyze(positive.read_text())[1])
    assert len(runpy.run_path(str(fixed))["errors"]) == len(analyze(fixed.read_text())[0]) == 2
    negative = CORPUS / "clean_no_grad_around_training.py"
    runpy.run_path(str(negative))  # every backward() succeeds
    assert analyze(negative.read_text())[0] == []


# --------------------------------------------------------------------------- an independent oracle


def simulate_is_correct(body: tuple[str, ...], iterations: int = 4) -> bool:
    """Run ``body`` (Z=zero_grad, B=backward, S=step) on a gradient buffer: correct when every step
    from the second iteration on applies exactly the current iteration's gradient, once."""
    grad: Counter[int] = Counter()
    for t in range(iterations):
        for op in body:
            if op == "Z":
                grad.clear()
            elif op == "B":
                grad[t] += 1
            elif t >= 1 and grad != Counter({t: 1}):
                return False
    return True


ORDERINGS = sorted({order for zeros in range(3) for order in itertools.permutations("B" + "S" + "Z" * zeros)})
STATEMENTS = {"Z": "optimizer.zero_grad()", "B": "loss.backward()", "S": "optimizer.step()"}
PRELUDE = """import torch
from torch import nn
model = nn.Linear(4, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for inputs, labels in train_loader:
    outputs = model(inputs)
    loss = criterion(outputs, labels)
"""


@pytest.mark.parametrize("order", ORDERINGS, ids="".join)
def test_ordering_rules_agree_with_gradient_buffer_simulation(order):
    source = PRELUDE + "".join(f"    {STATEMENTS[op]}\n" for op in order)
    findings, corrected = analyze(source)
    ordering_rules = {f.rule for f in findings} & {"DL001", "DL002", "DL003"}
    assert bool(ordering_rules) == (not simulate_is_correct(order))
    if ordering_rules:  # the mechanical fix gives a loop the simulation accepts
        body = [line.strip() for line in corrected.splitlines()[8:]]
        fixed = tuple(next(op for op, text in STATEMENTS.items() if text == line) for line in body)
        assert simulate_is_correct(fixed), (order, fixed)


# --------------------------------------------------------------------------- spellings (Hypothesis)

identifiers = st.sampled_from(["model", "net", "classifier", "my_model", "encoder"])
optimizers = st.sampled_from(["optimizer", "opt", "optim", "optimizer_g"])
pairs = st.sampled_from([("x", "y"), ("images", "labels"), ("data", "target"), ("inputs", "targets"), ("xb", "yb")])
criteria = st.sampled_from(["criterion", "loss_fn", "loss_func", "crit"])


@given(identifiers, optimizers, pairs, criteria, st.booleans(), st.booleans())
def test_argument_order_and_zero_grad_across_spellings(model, opt, pair, crit, swapped, with_zero_grad):
    inputs, targets = pair
    args = f"{targets}, out" if swapped else f"out, {targets}"
    zero = f"        {opt}.zero_grad()\n" if with_zero_grad else ""
    source = (
        f"{model} = Net()\n{crit} = nn.CrossEntropyLoss()\n{opt} = torch.optim.Adam({model}.parameters())\n"
        f"for epoch in range(3):\n    for i, ({inputs}, {targets}) in enumerate(tqdm(train_loader)):\n"
        f"        {inputs}, {targets} = {inputs}.to(device), {targets}.to(device)\n{zero}"
        f"        out = {model}({inputs})\n        loss = {crit}({args})\n"
        f"        loss.backward()\n        {opt}.step()\n"
    )
    rules = {f.rule for f in analyze(source)[0]}
    expected = ({"DL010"} if swapped else set()) | (set() if with_zero_grad else {"DL001"})
    assert rules == expected


# --------------------------------------------------------------------------- live PyTorch


@pytest.mark.torch
def test_pytorch_confirms_the_exam_bugs_and_the_fix(tmp_path):
    torch = pytest.importorskip("torch")
    import runpy

    source = (CORPUS / "exam_2b.py").read_text()
    # The argument order is a real error: CrossEntropyLoss(labels, preds) is refused by PyTorch.
    with pytest.raises(RuntimeError):
        runpy.run_path(str(CORPUS / "exam_2b.py"))
    # Without zero_grad the gradient after two identical backward passes is twice one gradient.
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    torch.nn.functional.cross_entropy(model(x), y).backward()
    once = model.weight.grad.clone()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    assert torch.allclose(model.weight.grad, 2 * once)
    # The corrected file (from --diff) runs and its loop trains.
    _, corrected = analyze(source, "exam_2b.py")
    fixed = tmp_path / "fixed.py"
    fixed.write_text(corrected + "\nfinal_loss = loss.item()\n")
    torch.manual_seed(0)
    namespace = runpy.run_path(str(fixed))
    assert namespace["final_loss"] == pytest.approx(namespace["final_loss"])  # finite
    assert analyze(corrected)[0] == []


# --------------------------------------------------------------------------- the Solution and the CLI


def test_solution_fields():
    solution = solve((CORPUS / "exam_2b.py").read_text(), "exam_2b.py", diff=True)
    assert solution.answer["clean"] is False
    assert solution.answer["rules"] == ["DL001", "DL010"]
    finding = solution.answer["findings"][0]
    assert set(finding) == {"file", "line", "col", "rule", "message", "why", "fix"}
    assert solution.answer["diff"].startswith("--- a/exam_2b.py\n+++ b/exam_2b.py\n")
    assert solution.quiet == solution.answer["diff"]


def test_cli_exit_status_and_json(cli):
    clean = cli("train-loop", str(CORPUS / "clean_mnist_example.py"), "--json")
    assert clean.exit_code == 0
    assert clean.json()["answer"]["clean"] is True
    buggy = cli("train-loop", str(CORPUS / "exam_2b.py"), "--json")
    assert buggy.exit_code == 1
    assert [f["rule"] for f in buggy.json()["answer"]["findings"]] == ["DL001", "DL010"]
    quiet = cli("train-loop", str(CORPUS / "exam_2b.py"), "-q")
    assert quiet.exit_code == 1
    assert quiet.stdout.splitlines()[0].endswith(
        "exam_2b.py:19:1: DL001 " + buggy.json()["answer"]["findings"][0]["message"]
    )
    rich = cli("train-loop", str(CORPUS / "exam_2b.py"))
    assert rich.exit_code == 1 and "DL010" in rich.stdout


def test_cli_stdin_and_diff(cli):
    source = (CORPUS / "dl002_zero_grad_between.py").read_text()
    result = cli("train-loop", "-", "--diff", "-q", stdin=source)
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/stdin\n+++ b/stdin\n")
    assert "-    optimizer.zero_grad()" in result.stdout and "+    optimizer.zero_grad()" in result.stdout


def test_cli_bad_input(cli):
    syntax = cli("train-loop", "-", "--json", stdin="for x in loader\n    pass\n")
    assert syntax.exit_code == 2
    assert "<stdin>:1:" in syntax.json()["error"]["message"]
    missing = cli("train-loop", "/no/such/file.py")
    assert missing.exit_code == 2 and "cannot read file" in missing.stderr
    empty = cli("train-loop", "-", stdin="")
    assert empty.exit_code == 2


def test_cli_help_has_an_example(cli):
    result = cli("train-loop", "--help")
    assert "dlsolve train-loop tests/data/train_loops/exam_2b.py" in result.stdout


@given(st.text(max_size=200))
def test_fuzz_any_text_gives_a_clean_exit(text):
    from tests.conftest import run_cli

    result = run_cli("train-loop", "-", "--json", stdin=text)
    assert result.exit_code in (0, 1, 2)
    json.loads(result.stdout)


@given(
    st.lists(
        st.sampled_from(
            [
                *STATEMENTS.values(),
                "if i % 4 == 0:",
                "with torch.no_grad():",
                "total += loss",
                "model.eval()",
                "scheduler.step()",
            ]
        ),
        max_size=8,
    )
)
def test_fuzz_generated_loops_never_crash(lines):
    body = "".join(f"    {line}\n" + ("        pass\n" if line.endswith(":") else "") for line in lines)
    findings, corrected = analyze(PRELUDE + body)
    ast.parse(corrected)
    assert all(f.rule in RULES for f in findings)


@pytest.mark.parametrize(
    "source",
    [
        "model = nn.DataParallel(net)\nfor x, y in test_loader:\n    out = model(x)\n",
        "model = Net().to(device)\nclass Net:\n    pass\nfor x, y in val_loader:\n    out = model(x)\n",
        "for m in model.modules():\n    m.eval()\n",
        "def f():\n    return f()\nfor x in loader:\n    f()\n",
        "class Net(nn.Module):\n    def forward(self, x):\n        inner = Net()\n"
        "        y = inner(x)\n        return y\n"
        "net = Net()\nfor x, y in test_loader:\n    out = net(x)\n",
    ],
)
def test_regressions_never_crash(source):
    _, corrected = analyze(source)
    ast.parse(corrected)


@given(st.sampled_from(CORPUS_FILES), st.sets(st.integers(0, 120), max_size=6), st.integers(0, 120))
def test_fuzz_mutated_corpus_never_crashes_and_diff_parses(path, dropped, duplicated):
    from hypothesis import assume

    lines = path.read_text().splitlines(keepends=True)
    mutated = [line for index, line in enumerate(lines) if index not in dropped]
    if duplicated < len(mutated):
        mutated.insert(duplicated, mutated[duplicated])
    source = "".join(mutated)
    try:
        ast.parse(source)
    except SyntaxError:
        assume(False)
    findings, corrected = analyze(source)
    ast.parse(corrected)
    assert all(f.rule in RULES for f in findings)


# --------------------------------------------------------------------------- correct real-world scripts

CORRECT = CORPUS / "correct"
CORRECT_FILES = sorted(CORRECT.glob("*.py"))


def test_correct_scripts_give_no_finding_and_no_fix():
    """Real-world-style correct training scripts (nested functions, trainer classes, chained calls,
    helpers from other modules, GANs, accumulation, AMP, manual SGD, ...): no rule may fire."""
    assert len(CORRECT_FILES) >= 40
    for path in CORRECT_FILES:
        assert expected_rules(path) == set(), path.name
        source = path.read_text()
        findings, corrected = analyze(source, path.name)
        assert findings == [], [(f.file, f.line, f.rule, f.message) for f in findings]
        assert corrected == source, path.name


@pytest.mark.torch
@pytest.mark.slow
def test_correct_scripts_run_under_pytorch(tmp_path, monkeypatch):
    """Every self-contained correct script (``# runnable`` on its second line) runs and trains
    under PyTorch: the corpus really is correct code, not just code dlsolve accepts."""
    pytest.importorskip("torch")
    import contextlib
    import io
    import runpy
    import warnings

    monkeypatch.chdir(tmp_path)
    runnable = [path for path in CORRECT_FILES if path.read_text().splitlines()[1] == "# runnable"]
    assert len(runnable) >= 35
    for path in runnable:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            runpy.run_path(str(path), run_name="__main__")


# --------------------------------------------------------------------------- the false findings of issue 14


def test_mode_is_judged_by_the_order_of_calls_not_of_definitions():
    # evaluate() is defined before model.eval() and called after it: in a with block, in an if
    source = (CORRECT / "clean_nested_eval_called_after_eval.py").read_text()
    assert analyze(source)[0] == []
    # called before model.eval() (the eval() moved after the call): DL030 at the evaluation loop
    moved = source.replace(
        "        model.eval()\n        with torch.no_grad():\n            history.append(evaluate(val_loader))\n",
        "        with torch.no_grad():\n            history.append(evaluate(val_loader))\n        model.eval()\n",
    )
    assert moved != source
    assert [(f.line, f.rule) for f in analyze(moved)[0]] == [(20, "DL030")]


@pytest.mark.parametrize(
    ("mode_calls", "rules"),
    [
        (("model.to(device).train()", "model.eval()"), set()),
        (("model.train().to(device)", "model.eval().cpu()"), set()),
        (("model.cuda(0).train()", "model.to(device).eval()"), set()),
        # a chained eval() with no train() anywhere: training resumes in eval mode
        (("pass", "model.to(device).eval()"), {"DL032"}),
        (("pass", "model.eval().cpu()"), {"DL032"}),
    ],
)
def test_chained_mode_calls_count(mode_calls, rules):
    train, evaluate = mode_calls
    source = (
        "model = Net()\ncriterion = nn.CrossEntropyLoss()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        f"for epoch in range(3):\n    {train}\n    for x, y in train_loader:\n        optimizer.zero_grad()\n"
        "        criterion(model(x), y).backward()\n        optimizer.step()\n"
        f"    {evaluate}\n    with torch.no_grad():\n        for x, y in val_loader:\n            model(x)\n"
    )
    assert {f.rule for f in analyze(source)[0]} == rules


@pytest.mark.parametrize(
    ("forward", "rules"),
    [
        ("return self.fc(x)", {"DL022"}),  # nn.Linear: visibly raw logits
        ("x = self.fc(x)\n        return x.view(len(x), -1)", {"DL022"}),
        ("return self.fc(x) + self.skip(x)", {"DL022"}),
        ("return F.log_softmax(self.fc(x), dim=1)", set()),
        # what dlsolve cannot see into is unknown: no finding
        ("return self.backbone(x)", set()),
        ("return self.remote.rpc_sync().forward(x)", set()),
        ("return helpers.head(self.fc(x))", set()),
        ("return self.fc(x) + self.backbone(x)", set()),
    ],
)
def test_an_origin_dlsolve_cannot_see_is_unknown(forward, rules):
    source = (
        "import torch.nn.functional as F\nfrom torch import nn\nimport helpers\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 3)\n        self.skip = nn.Linear(4, 3)\n"
        "        self.backbone = timm.create_model('resnet18')\n        self.remote = rpc.remote('w', Net)\n"
        f"    def forward(self, x):\n        {forward}\n"
        "model = Net()\nfor x, y in train_loader:\n    loss = F.nll_loss(model(x), y)\n"
    )
    assert {f.rule for f in analyze(source)[0]} == rules


def test_a_model_class_of_another_module_is_not_the_local_class_of_that_name():
    source = (
        "from torch import nn\nimport models\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 3)\n"
        "    def forward(self, x):\n        return self.fc(x)\n"
        "model = models.Net()\ncriterion = nn.NLLLoss()\nfor x, y in train_loader:\n    loss = criterion(model(x), y)\n"
    )
    assert analyze(source)[0] == []
    assert [f.rule for f in analyze(source.replace("models.Net()", "Net()"))[0]] == ["DL022"]


# --------------------------------------------------------------------------- --diff leaves no finding it can fix


def test_diff_of_a_validation_inside_the_epoch_loop_restores_training_mode():
    source = (CORPUS / "dl030_dl031_validation_in_epoch_loop.py").read_text()
    findings, corrected = analyze(source)
    assert [(f.line, f.rule) for f in findings] == [(20, "DL030"), (20, "DL031")]
    assert (
        "    model.eval()\n    with torch.no_grad():\n        for x, y in val_loader:\n"
        "            correct += (model(x).argmax(1) == y).sum().item()\n    model.train()\n    print(epoch, correct)\n"
    ) in corrected
    assert analyze(corrected)[0] == []  # no DL032 on dlsolve's own patch


# --------------------------------------------------------------------------- the answer


def test_each_finding_is_listed_once_in_words_with_its_line():
    solution = solve((CORPUS / "exam_2b.py").read_text(), "exam_2b.py")
    assert not solution.working_built  # the answer needs no working
    messages = [f["message"] for f in solution.answer["findings"]]
    assert solution.answer["bugs"] == [
        f"line 19, zero_grad() missing (DL001): {messages[0]}",
        f"line 21, loss arguments swapped (DL010): {messages[1]}",
    ]
    for bug in solution.answer["bugs"]:
        assert bug in solution.summary  # the Answer box says what is wrong, not only the codes
    working = "\n".join(f"{step.title}\n{step.text}" for step in solution.steps)
    assert all(working.count(message) == 1 for message in messages)
    findings = [step for step in solution.steps if step.kind == "train-loop.finding"]
    assert [step.title for step in findings] == [
        "Line 19: zero_grad() missing (DL001)",
        "Line 21: loss arguments swapped (DL010)",
    ]
    assert all(not step.blocks and not step.substeps for step in solution.steps)  # no table, no repeats
    assert "Why: " in findings[0].text and "Fix: " in findings[0].text


def test_no_rule_fired_says_how_many_were_checked_and_what_is_not_checked():
    solution = solve((CORPUS / "clean_mnist_example.py").read_text(), "mnist.py")
    assert solution.answer["clean"] is True and solution.answer["training_code"] is True
    assert solution.summary.startswith(f"mnist.py: no rule fired ({len(RULES)} rules checked); not checked: ")
    assert "data leakage" in solution.summary and "initialization scale" in solution.summary
    assert solution.quiet == solution.summary and "clean" not in solution.summary
    assert [step.kind for step in solution.steps] == ["train-loop.no-finding"]  # no "parsed with ast" step


def test_findings_are_the_working_and_paths_are_normalised():
    """The working is the findings, each once; a problem file's relative path reads as the file's own."""
    solution = solve((CORPUS / "exam_2b.py").read_text(), "problems/../tests/data/train_loops/exam_2b.py")
    assert {step.kind for step in solution.steps} == {"train-loop.finding"}
    assert solution.summary.startswith("2 findings in tests/data/train_loops/exam_2b.py: (1) line 19")
    assert solution.quiet.startswith("tests/data/train_loops/exam_2b.py:19:")
    assert solve("x = 1\n", "<stdin>").summary.startswith("<stdin>: no training loop found")


@pytest.mark.parametrize("source", ["", "\n\n", "# a comment\nimport torch\n", "def helper(x):\n    return x + 1\n"])
def test_a_file_without_training_code_says_no_training_loop_was_found(source):
    solution = solve(source, "empty.py")
    assert solution.answer["training_code"] is False and solution.answer["count"] == 0
    assert "no training loop found" in solution.summary and "no rule fired" not in solution.summary
    assert solution.steps[-1].kind == "train-loop.no-training-code"


def test_cli_empty_file_says_no_training_loop(cli, tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("")
    result = cli("train-loop", str(empty), "-q")
    assert result.exit_code == 0
    assert "no training loop found" in result.stdout


def test_step_kinds_are_declared():
    from dlsolve.solvers.train_loop import STEP_KINDS
    from dlsolve.step_kinds import all_kinds

    declared = all_kinds()
    for name, diff in [("exam_2b", True), ("clean_mnist_example", False), ("dl002_zero_grad_between", True)]:
        solution = solve((CORPUS / f"{name}.py").read_text(), name, diff=diff)
        kinds = {step.kind for step in solution.steps}
        assert kinds <= set(STEP_KINDS) and kinds <= set(declared)
    assert solve("", "e.py").steps[-1].kind in STEP_KINDS


def test_the_rule_list_is_written_once():
    import dlsolve.solvers.train_loop as package
    from dlsolve.solvers.train_loop import rules_help, rules_markdown

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert rules_markdown() in readme  # kept current by cog (tests/test_readme.py)
    for code, rule in RULES.items():
        assert f"{code} {rule.title}" in rules_help()
        assert f"* {code} {rule.finding}." in (package.__doc__ or "")


# --------------------------------------------------------------------------- models whose mode changes nothing


@pytest.mark.parametrize(
    ("model", "mode_matters"),
    [
        ("nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))", False),
        ("nn.Linear(4, 2)", False),
        ("nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))", True),
        ("nn.Sequential(nn.Conv2d(1, 4, 3), nn.InstanceNorm2d(4), nn.Flatten())", False),
        ("nn.Sequential(nn.Conv2d(1, 4, 3), nn.InstanceNorm2d(4, track_running_stats=True))", True),
        ("Net()", False),
        ("RecurrentDropout()", True),
        ("NormNet()", True),
        ("FunctionalDropout()", True),
        ("Wrapper()", True),  # its backbone comes from another module
        ("resnet18()", True),
        ("models.Net()", True),
    ],
)
def test_evaluation_without_eval_is_a_finding_only_when_the_mode_matters(model, mode_matters):
    source = (
        "import torch.nn.functional as F\nfrom torch import nn\nimport models\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.rnn = nn.LSTM(4, 8, 2)\n        self.head = nn.Linear(8, 2)\n"
        "    def forward(self, x):\n        return self.head(self.rnn(x)[0])\n"
        "class RecurrentDropout(Net):\n    def __init__(self):\n        super().__init__()\n"
        "        self.rnn = nn.LSTM(4, 8, 2, dropout=0.2)\n"
        "class NormNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.BatchNorm1d(4)])\n"
        "    def forward(self, x):\n        for layer in self.layers:\n            x = layer(x)\n        return x\n"
        "class FunctionalDropout(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n"
        "    def forward(self, x):\n        return self.fc(F.dropout(x, 0.5, training=self.training))\n"
        "class Wrapper(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.backbone = models.backbone()\n"
        "    def forward(self, x):\n        return self.backbone(x)\n"
        f"model = {model}\n"
        "with torch.no_grad():\n    predictions = model(x_test)\n"
    )
    assert {f.rule for f in analyze(source)[0]} == ({"DL030"} if mode_matters else set())


def test_training_after_eval_is_harmless_when_the_mode_changes_nothing():
    loop = (
        "criterion = nn.CrossEntropyLoss()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for epoch in range(3):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n"
        "        criterion(model(x), y).backward()\n        optimizer.step()\n    model.eval()\n"
    )
    plain = "model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))\n"
    dropout = "model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.1), nn.Linear(8, 2))\n"
    assert analyze(plain + loop)[0] == []
    assert [f.rule for f in analyze(dropout + loop)[0]] == ["DL032"]


@pytest.mark.parametrize(
    "code",
    [
        "def _prepare_single_device_module(rank):\n    net = Net()\n    return net.to(rank)\n",  # not 'dev'(ice)
        "def evaluate_shapes():\n    return Net(), Classifier(4)\n",  # constructors, not forward passes
        "sigmoid = nn.Sigmoid()\ndef bce_test(i):\n    return sigmoid(i)\n",  # an activation, not a model
    ],
)
def test_constructors_and_activations_are_not_evaluations(code):
    assert analyze("from torch import nn\n" + code)[0] == []


def test_the_cli_help_takes_the_rule_list_from_the_package():
    from dlsolve import registry
    from dlsolve.solvers.train_loop import rules_help

    command = registry.get("train-loop")
    assert command is not None and rules_help() in (command.function.__doc__ or "")


def test_parameters_passed_on_through_growing_attribute_chains_are_unknown():
    # f passes a.inner to g, g passes b.inner back to f: "a.crit" would become a.inner.inner...crit forever
    source = (
        "def f(a, out, y):\n    loss = a.crit(out, y)\n    g(a.inner, out, y)\n"
        "def g(b, out, y):\n    f(b.inner, out, y)\n"
    )
    assert analyze(source)[0] == []


def test_zero_grad_before_the_loop_is_found_in_the_order_of_calls():
    # reset() is defined after the loop and called before it: DL004, and no edit moving opt.zero_grad()
    # out of reset() (the name opt does not exist in main)
    source = (
        "import torch\ndef main(model, loader, criterion):\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n    reset(optimizer)\n"
        "    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n"
        "        optimizer.step()\ndef reset(opt):\n    opt.zero_grad()\n"
    )
    findings, corrected = analyze(source)
    assert [(f.line, f.rule) for f in findings] == [(10, "DL004")]
    assert corrected == source


def test_a_dropout_built_anywhere_in_the_model_class_makes_the_mode_matter():
    source = (
        "from torch import nn\nfrom torch.nn import Dropout\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        setattr(self, 'drop', DROPOUT)\n"
        "    def forward(self, x):\n        return self.fc(getattr(self, 'drop')(x))\n"
        "model = Net()\nwith torch.no_grad():\n    predictions = model(x_test)\n"
    )
    assert [f.rule for f in analyze(source.replace("DROPOUT", "nn.Dropout(0.5)"))[0]] == ["DL030"]
    assert [f.rule for f in analyze(source.replace("DROPOUT", "Dropout(0.5)"))[0]] == ["DL030"]
    assert analyze(source.replace("DROPOUT", "nn.Identity()"))[0] == []


def test_an_optimizer_built_by_a_factory_passed_in_is_known_by_its_name():
    # Learner(opt_func=torch.optim.SGD): self.opt = opt_func(...) is an optimizer (named like one)
    source = (CORRECT / "clean_callbacks_trainer.py").read_text()
    assert analyze(source)[0] == []
    no_zero = source.replace("        self.opt.zero_grad()\n", "")
    assert no_zero != source
    assert [f.rule for f in analyze(no_zero)[0]] == ["DL001"]


def test_an_evaluation_written_as_a_comprehension_over_a_validation_loader_is_checked():
    source = (CORRECT / "clean_reduce_on_plateau.py").read_text()
    assert analyze(source)[0] == []
    guarded = "    with torch.no_grad():\n        valid_loss = sum("
    autograd_on = source.replace(guarded, "    if True:\n        valid_loss = sum(")
    assert autograd_on != source
    assert [f.rule for f in analyze(autograd_on)[0]] == ["DL031"]  # no DL030: the model has no dropout


def test_the_correct_scripts_are_understood_not_ignored():
    """Remove the zero_grad() calls from the correct scripts: each must then get DL001 or DL004 (so
    that 'no finding' on them means the loop was understood), except where no optimizer step
    is visible: SAM's first_step/second_step and the word language model's manual update."""
    blind = {"clean_sam_two_passes.py", "clean_word_language_model_style.py"}
    mutated_count = 0
    for path in CORRECT_FILES:
        source = path.read_text()
        mutated = re.sub(r"(?m)^(\s*)\w[\w.]*\.zero_grad\((set_to_none=True)?\)\s*$", r"\1pass", source)
        if mutated == source:
            continue
        mutated_count += 1
        rules = {f.rule for f in analyze(mutated)[0]}
        assert bool(rules & {"DL001", "DL004"}) == (path.name not in blind), (path.name, rules)
    assert mutated_count >= 40
