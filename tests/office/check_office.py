#!/usr/bin/env python3
"""Reads a migfit Word and Excel table back with independent readers (python-docx, openpyxl)
and compares every cell with the JSON result it was made from.

    check_office.py RESULT.json TABLE.xlsx TABLE.docx [--show coef|margins] [--digits 3]

The tables must be made with `migfit table RESULT.json -o TABLE.xlsx` (stacked layout, the
default stars 0.01,0.05, English labels). Checks, per model column:
- xlsx: every estimate and standard error of the JSON is one numeric cell holding exactly the
  JSON's number (not text), with the number format `0.000` plus the stars its p-value earns
  (`0.000"**"`), the SE cell under it with `(0.000)`; N is a numeric cell; no other numbers;
- docx: the Word table has the same cells as text: `0.375**` and `(0.052)`;
- both: the row label of each estimate is the term's label from the JSON's `variables`.
Exit 0 when every cell matches, 1 with a list of mismatches, 77 when a reader is missing.
"""
import json
import sys

try:
    import docx  # python-docx
    import openpyxl
except ImportError as e:  # pragma: no cover
    print(f"check_office: skipped: {e} (pip install python-docx openpyxl)")
    sys.exit(77)


def stars(p, thresholds=(0.01, 0.05)):
    if p is None:
        return ""
    n = len(thresholds)
    for i, t in enumerate(sorted(thresholds)):
        if p < t:
            return "*" * (n - i)
    return ""


def fixed(v, d):
    s = f"{v:.{d}f}"
    if s.startswith("-") and set(s[1:]) <= set("0."):
        s = s[1:]
    return s


def labels(report):
    """term -> expected row label (English)."""
    out = {"(Intercept)": "Constant"}
    for v in report.get("variables", []):
        name = v["name"]
        out[name] = v.get("label") or name
        prefix = v.get("term_prefix")
        for lv in v.get("levels", []):
            if prefix:
                out[f"{prefix}[{lv['name']}]"] = lv.get("label") or lv["name"]
    return out


def entries(report, show):
    """Per column: list of (term, estimate, se, p)."""
    cols = []
    for m in report["models"]:
        rows = m["margins"] if show == "margins" else m["coefficients"]
        cols.append([(r["term"], r["estimate"], r["std_error"], r["p_value"]) for r in rows])
    if show == "margins" and report.get("combined"):
        cols.append([(r["term"], r["estimate"], r["std_error"], r["p_value"]) for r in report["combined"]["margins"]])
    return cols


def main(argv):
    args = argv[1:]
    show, digits = "coef", 3
    if "--show" in args:
        i = args.index("--show")
        show = args[i + 1]
        del args[i : i + 2]
    if "--digits" in args:
        i = args.index("--digits")
        digits = int(args[i + 1])
        del args[i : i + 2]
    jpath, xpath, dpath = args
    report = json.load(open(jpath, encoding="utf-8"))
    lab = labels(report)
    cols = entries(report, show)
    errors = []
    checked = 0

    # --- xlsx
    ws = openpyxl.load_workbook(xpath).worksheets[0]
    grid = [[c for c in row] for row in ws.iter_rows()]
    numeric = {}
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                numeric[(r, c)] = cell
    used = set()
    base = "0" if digits == 0 else "0." + "0" * digits
    for j, col in enumerate(cols):
        for term, est, se, p in col:
            hits = [(r, c) for (r, c), cell in numeric.items() if c == j + 1 and cell.value == est and (r, c) not in used]
            # Equal estimates in two rows: the one whose row carries the term's label.
            hits.sort(key=lambda rc: grid[rc[0]][0].value != lab.get(term))
            if not hits:
                errors.append(f"xlsx: column {j+1}: no numeric cell holds {term} = {est!r}")
                continue
            r, c = hits[0]
            used.add((r, c))
            want = base + (f'"{stars(p)}"' if stars(p) else "")
            if numeric[(r, c)].number_format != want:
                errors.append(f"xlsx: {term}: number format {numeric[(r, c)].number_format!r}, expected {want!r}")
            below = numeric.get((r + 1, c))
            if below is None or below.value != se or below.number_format != f"({base})":
                errors.append(f"xlsx: {term}: the SE cell under it is not {se!r} with format ({base})")
            else:
                used.add((r + 1, c))
            label = grid[r][0].value
            if lab.get(term) is not None and label != lab[term] and not str(label).endswith(lab[term]):
                errors.append(f"xlsx: {term}: row label {label!r}, expected {lab[term]!r}")
            checked += 2
    for j, m in enumerate(report["models"]):
        if not any(cell.value == m["n_obs"] and c == j + 1 for (r, c), cell in numeric.items()):
            errors.append(f"xlsx: column {j+1}: no numeric N = {m['n_obs']}")
    # --- docx
    d = docx.Document(dpath)
    if not d.tables:
        errors.append("docx: no table")
    else:
        t = d.tables[0]
        rows = [[cell.text for cell in row.cells] for row in t.rows]
        for j, col in enumerate(cols):
            for term, est, se, p in col:
                text = fixed(est, digits) + stars(p)
                hits = [i for i, row in enumerate(rows) if len(row) > j + 1 and row[j + 1] == text]
                ok = [i for i in hits if i + 1 < len(rows) and rows[i + 1][j + 1] == f"({fixed(se, digits)})"]
                if not ok:
                    errors.append(f"docx: column {j+1}: no cell '{text}' with '({fixed(se, digits)})' under it ({term})")
                    continue
                # The same text may stand in several rows: one of them must carry the label.
                want = lab.get(term)
                if want is not None and not any(rows[i][0] == want or rows[i][0].endswith(want) for i in ok):
                    errors.append(f"docx: {term}: row labels {[rows[i][0] for i in ok]}, expected {want!r}")
                checked += 2
    if errors:
        print("\n".join(errors))
        return 1
    print(f"check_office: {checked} cells of {xpath} and {dpath} match {jpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
