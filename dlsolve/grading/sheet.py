"""Grading: a verdict per answer, one student's sheet or a whole class, and the gradebook.

Verdicts: ``correct``, ``wrong`` (with the diagnosed mistakes, when one reproduces the answer
exactly), ``missing`` (no answer given) and ``unreadable`` (the answer cannot be read as a number,
shape, vector, matrix or words; that problem only, never the run).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput, DlsolveError
from dlsolve.grading.compare import DEFAULT_TOL, PRIMARY_FIELDS, choose_field, expected_rows, lookup, matches, show
from dlsolve.grading.mistakes import Mistake, mistakes_for
from dlsolve.solution import Solution, Step, Table

if TYPE_CHECKING:
    from dlsolve.problems import Outcome

#: The steps this module writes (see :mod:`dlsolve.step_kinds`).
STEP_KINDS = {
    "grading.verdicts": "each problem's verdict: expected, given, and the mistake that explains a wrong answer",
    "grading.class": "per problem, how many answered right, and the diagnosed mistakes by count",
}

VERDICTS = ("correct", "wrong", "missing", "unreadable")


class Verdict:
    """The verdict on one answer: which answer ``field`` it was compared with, what was expected and
    given (as shown), and for a wrong answer the mistakes whose recomputation gives it exactly."""

    def __init__(
        self, problem: str, verdict: str, field: str = "", expected: str = "", given: str = "",
        diagnoses: list[Mistake] | None = None,
    ) -> None:  # fmt: skip
        self.problem = problem
        self.verdict = verdict
        self.field = field
        self.expected = expected
        self.given = given
        self.diagnoses = diagnoses or []

    def to_dict(self) -> dict[str, Any]:
        diagnosis = None
        if self.diagnoses:
            diagnosis = {
                "mistake": self.diagnoses[0].name,
                "explanation": self.diagnoses[0].explanation,
                "step": self.diagnoses[0].step,
                "also": [{"mistake": m.name, "explanation": m.explanation} for m in self.diagnoses[1:]],
            }
        return {
            "id": self.problem,
            "verdict": self.verdict,
            "field": self.field,
            "expected": self.expected,
            "given": self.given,
            "diagnosis": diagnosis,
        }

    @property
    def diagnosis_text(self) -> str:
        if self.verdict != "wrong":
            return ""
        if not self.diagnoses:
            return "no known mistake reproduces this answer"
        return " or ".join(f"{m.name}: {m.explanation}" for m in self.diagnoses)


def graded_value(answer: dict[str, Any], field: str) -> Any:
    """The value an answer field is graded against: its exact form (``output_exact``) when it has one.
    ``grad.x`` is the entry ``x`` of the field ``grad``."""
    exact = lookup(answer, f"{field}_exact")
    return exact if exact is not None and expected_rows(exact) is not None else lookup(answer, field)


def _dotted(fields: list[str], answer: dict[str, Any]) -> list[str]:
    """``fields`` with each table-valued field (``grad``: {x: ..., y: ...}) replaced by its entries."""
    return [
        f"{field}.{key}" if isinstance(answer.get(field), dict) else field
        for field in fields
        for key in (answer[field] if isinstance(answer.get(field), dict) else [None])
    ]


class Grader:
    """Grades answers to one solved problem; remembers each mistake's recomputation (a class of 500
    students costs one recomputation per mistake, not 500)."""

    def __init__(
        self, problem: str, command: str, kwargs: dict[str, Any], solution: Solution, fields: list[str] | None = None,
        tol: float = DEFAULT_TOL,
    ) -> None:  # fmt: skip
        self.problem = problem
        self.command = command
        self.kwargs = kwargs
        self.solution = solution
        self.fields = _dotted(fields or PRIMARY_FIELDS.get(command) or list(solution.answer), solution.answer)
        self.tol = tol
        self._recomputed: list[tuple[Mistake, dict[str, Any]]] | None = None

    def recomputed(self) -> list[tuple[Mistake, dict[str, Any]]]:
        if self._recomputed is None:
            self._recomputed = []
            for mistake in mistakes_for(self.command):
                try:
                    found = mistake.recompute(self.kwargs, self.solution)
                except DlsolveError:
                    found = None
                # a mistake may give alternatives (a fork's first or last path): each is tried
                for fields in found if isinstance(found, list) else [found]:
                    if fields:
                        self._recomputed.append((mistake, fields))
        return self._recomputed

    def grade(self, given: Any) -> Verdict:
        """The verdict on ``given`` (text, a typed value, or a table ``{field: value}``)."""
        from dlsolve.parsing import parse_answer

        if given is None or (isinstance(given, str) and not given.strip()):
            return Verdict(self.problem, "missing", expected=self._expected_text(self.fields))
        named = isinstance(given, str) and "=" in given.split(",")[0]
        if named and all(part.isidentifier() for part in given.split("=")[0].strip().split(".")):
            field, _, value = given.partition("=")  # `params=1728`: an answer to one named field
            given = {field.strip(): value.strip()}
        if isinstance(given, dict):
            return self._grade_table(given)
        try:
            answer = parse_answer(given)
        except BadInput:
            return Verdict(self.problem, "unreadable", given=str(given), expected=self._expected_text(self.fields))
        if answer.kind == "words":
            return self._grade_words(answer)
        field = choose_field(answer, self.solution.answer, self.fields)
        if field is None:
            return Verdict(self.problem, "unreadable", given=str(given))
        value = graded_value(self.solution.answer, field)
        expected = show(value)
        if matches(answer, value, self.tol):
            return Verdict(self.problem, "correct", field, expected, answer.text)
        diagnoses = [
            m for m, fields in self.recomputed() if field in fields and matches(answer, fields[field], self.tol)
        ]
        return Verdict(self.problem, "wrong", field, expected, answer.text, diagnoses)

    def _grade_words(self, answer: Any) -> Verdict:
        """Words against the answer's words: a list field (rule codes, run labels) as a set; else every
        word of the string fields (``horizontal`` and ``edge``) must appear in the answer."""
        fields = [f for f in self.fields if isinstance(self.solution.answer.get(f), list | str)]
        listed = next((f for f in fields if isinstance(self.solution.answer[f], list)), None)
        if listed is not None and not any(isinstance(self.solution.answer[f], str) for f in fields):
            value: Any = self.solution.answer[listed]
            shown = listed
        else:
            texts = [
                f for f in PRIMARY_FIELDS.get(self.command, fields) if isinstance(self.solution.answer.get(f), str)
            ]
            value = " ".join(self.solution.answer[f] for f in texts)
            shown = ", ".join(texts)
        if not value:
            return Verdict(self.problem, "unreadable", given=answer.text)
        verdict = "correct" if matches(answer, value, self.tol) else "wrong"
        diagnoses = (
            []
            if verdict == "correct"
            else [m for m, fields in self.recomputed() if shown in fields and matches(answer, fields[shown], self.tol)]
        )
        return Verdict(self.problem, verdict, shown, show(value), answer.text, diagnoses)

    def _grade_table(self, given: dict[str, Any]) -> Verdict:
        verdicts = []
        for field, value in given.items():
            if lookup(self.solution.answer, field) is None:
                return Verdict(self.problem, "unreadable", field, given=f"{field} = {value!r} (no such answer field)")
            grader = Grader(self.problem, self.command, self.kwargs, self.solution, [field], self.tol)
            grader._recomputed = self._recomputed
            verdicts.append(grader.grade(value))
            self._recomputed = grader._recomputed
        bad = next((v for v in verdicts if v.verdict != "correct"), None)
        combined = bad or verdicts[0]
        return Verdict(
            self.problem,
            combined.verdict,
            ", ".join(v.field for v in verdicts),
            "; ".join(f"{v.field} = {v.expected}" for v in verdicts),
            "; ".join(f"{v.field} = {v.given}" for v in verdicts),
            combined.diagnoses,
        )

    def _expected_text(self, fields: list[str]) -> str:
        field = next(
            (f for f in _dotted(fields, self.solution.answer) if lookup(self.solution.answer, f) is not None), None
        )
        return "" if field is None else show(graded_value(self.solution.answer, field))


# --------------------------------------------------------------------------- answers files


def read_answers(path_text: str, option: str = "--answers") -> dict[str, dict[str, Any]]:
    """Student -> problem id -> answer, from a TOML sheet (``id = answer``; one student, named after
    the file) or a CSV with columns ``student, problem, answer`` (a class)."""
    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(
            f"cannot read {path_text!r}: {getattr(error, 'strerror', None) or error}", option=option
        ) from None
    if path.suffix.lower() == ".csv":
        return _read_csv(text, option)
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"{path_text}: malformed TOML: {error}", option=option) from None
    sheet = data.get("answers", data)
    if not isinstance(sheet, dict):
        raise BadInput(f"{path_text}: expected `problem id = answer` lines", option=option)
    student = str(data.get("student", path.stem)) if isinstance(data.get("student", ""), str) else path.stem
    return {student: {str(key): value for key, value in sheet.items() if key != "student"}}


def _read_csv(text: str, option: str) -> dict[str, dict[str, Any]]:
    import csv

    reader = csv.DictReader(text.splitlines())
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    missing = [name for name in ("student", "problem", "answer") if name not in columns]
    if missing:
        raise BadInput(
            f"the CSV needs the columns student, problem, answer; missing: {', '.join(missing)}", option=option
        )
    answers: dict[str, dict[str, Any]] = {}
    for row in reader:
        student = (row.get(columns["student"]) or "").strip()
        problem = (row.get(columns["problem"]) or "").strip()
        if student and problem:
            answers.setdefault(student, {})[problem] = (row.get(columns["answer"]) or "").strip()
    return answers


# --------------------------------------------------------------------------- sheets and classes


def _graders(outcomes: list[Outcome], tol: float) -> dict[str, Grader | None]:
    graders: dict[str, Grader | None] = {}
    for outcome in outcomes:
        problem = outcome.problem
        if outcome.solution is None or outcome.kwargs is None:
            graders[problem.id] = None
            continue
        expected = [key for key in problem.expected if key in outcome.solution.answer]
        primary = PRIMARY_FIELDS.get(problem.command, [])
        fields = list(dict.fromkeys([*(f for f in primary if f in expected), *expected, *primary]))
        graders[problem.id] = Grader(problem.id, problem.command, outcome.kwargs, outcome.solution, fields, tol)
    return graders


def grade_students(
    outcomes: list[Outcome], answers: dict[str, dict[str, Any]], tol: float = DEFAULT_TOL
) -> tuple[dict[str, list[Verdict]], list[str]]:
    """Each student's verdicts (in problem order), and warnings (answers to unknown problem ids)."""
    graders = _graders(outcomes, tol)
    unknown = sorted({pid for sheet in answers.values() for pid in sheet if pid not in graders})
    warnings = []
    if unknown:
        warnings.append(
            f"answers for unknown problem id(s) {', '.join(unknown)} were ignored (ids: {', '.join(graders)})"
        )
    results: dict[str, list[Verdict]] = {}
    for student, sheet in answers.items():
        verdicts = []
        for pid, grader in graders.items():
            if grader is None:
                verdicts.append(Verdict(pid, "unreadable", given="the problem itself has no answer"))
            else:
                verdicts.append(grader.grade(sheet.get(pid)))
        results[student] = verdicts
    return results, warnings


def _totals(verdicts: list[Verdict]) -> dict[str, int]:
    counts = Counter(v.verdict for v in verdicts)
    return {
        **{name: counts.get(name, 0) for name in VERDICTS},
        "score": counts.get("correct", 0),
        "total": len(verdicts),
    }


def sheet_solution(verdicts: list[Verdict], warnings: list[str], student: str = "") -> Solution:
    """One student's sheet, graded: a verdict per problem, with the diagnosis of each wrong answer."""
    totals = _totals(verdicts)
    rows = [[v.problem, v.verdict, v.expected, v.given, v.diagnosis_text] for v in verdicts]
    quiet = "\n".join(
        f"{v.problem}: {v.verdict}" + (f" (expected {v.expected}; {v.diagnosis_text})" if v.verdict == "wrong" else "")
        for v in verdicts
    )
    wrong = [v for v in verdicts if v.verdict == "wrong"]
    summary = f"{totals['score']}/{totals['total']} correct" + (
        "; wrong: "
        + ", ".join(f"{v.problem} ({v.diagnoses[0].name if v.diagnoses else 'no known mistake'})" for v in wrong)
        if wrong
        else ""
    )

    def working() -> list[Step]:
        return [
            Step(
                f"Verdicts{f' for {student}' if student else ''}",
                "Each answer is compared with the computed one (exact values exactly; a decimal must round "
                "the exact value at its own precision). A wrong answer is recomputed under each known "
                "mistake; the one that gives exactly the student's answer is the diagnosis.",
                blocks=[Table(["problem", "verdict", "expected", "given", "diagnosis"], rows)],
                kind="grading.verdicts",
            )
        ]

    return Solution(
        command="grade",
        inputs={"student": student} if student else {},
        answer={"problems": [v.to_dict() for v in verdicts], "totals": totals},
        summary=summary,
        quiet=quiet + f"\nscore: {totals['score']}/{totals['total']}",
        steps=working,
        warnings=warnings,
    )


def class_solution(results: dict[str, list[Verdict]], warnings: list[str]) -> Solution:
    """A class, graded: per student the score; per problem how many got it right and which mistakes."""
    problems = [v.problem for v in next(iter(results.values()), [])]
    per_problem = []
    for index, pid in enumerate(problems):
        verdicts = [sheet[index] for sheet in results.values()]
        mistakes = Counter(m.name for v in verdicts for m in v.diagnoses[:1])
        undiagnosed = sum(1 for v in verdicts if v.verdict == "wrong" and not v.diagnoses)
        per_problem.append({
            "id": pid,
            "correct": sum(v.verdict == "correct" for v in verdicts),
            "total": len(verdicts),
            "mistakes": dict(mistakes.most_common()),
            "undiagnosed": undiagnosed,
        })  # fmt: skip
    students = [
        {"student": s, "score": _totals(v)["score"], "problems": [x.to_dict() for x in v]} for s, v in results.items()
    ]
    summary_rows = [
        [
            p["id"],
            f"{p['correct']}/{p['total']}",
            ", ".join(f"{name} × {count}" for name, count in p["mistakes"].items())
            + (f"{', ' if p['mistakes'] else ''}unexplained × {p['undiagnosed']}" if p["undiagnosed"] else ""),
        ]
        for p in per_problem
    ]
    mean = sum(s["score"] for s in students) / len(students) if students else 0

    def working() -> list[Step]:
        return [
            Step(
                "Per problem",
                f"{len(students)} students; mean score {mean:.2f}/{len(problems)}. Mistakes are counted by "
                "their diagnosis (the first, where two reproduce the same answer).",
                blocks=[Table(["problem", "right", "diagnosed mistakes"], summary_rows)],
                kind="grading.class",
            )
        ]

    return Solution(
        command="grade",
        inputs={"students": len(students)},
        answer={"students": students, "per_problem": per_problem, "totals": {"students": len(students), "mean": mean}},
        summary=f"{len(students)} students graded; mean score {mean:.2f}/{len(problems)}",
        quiet="\n".join(f"{p['id']}: {p['correct']}/{p['total']} right" for p in per_problem),
        steps=working,
        warnings=warnings,
    )


def write_gradebook(path_text: str, results: dict[str, list[Verdict]]) -> None:
    """One row per student: each problem's verdict and the score (for a spreadsheet or an LMS import)."""
    import csv

    problems = [v.problem for v in next(iter(results.values()), [])]
    try:
        with open(path_text, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["student", *problems, "score", "total"])
            for student, verdicts in results.items():
                writer.writerow([student, *(v.verdict for v in verdicts), _totals(verdicts)["score"], len(verdicts)])
    except OSError as error:
        raise BadInput(f"cannot write {path_text!r}: {error.strerror or error}", option="--gradebook") from None
