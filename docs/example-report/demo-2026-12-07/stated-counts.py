#!/usr/bin/env python3
"""What the self-judge says it counted, against what is there, and whether its score follows.

Verifiable EFT targets state a count before the score ("The user asked for less than 50 words;
the response has 60."). This reads every self-judgement of a loop iteration
(`RUN/iterN/judgements.jsonl`) or every verdict `srlm eval` journaled, takes the counts it
states for words and for bullet points, and compares them with the counts IFEval's checkers take
of the same response (words: `\\w+` tokens as nltk's `RegexpTokenizer(r"\\w+")`; bullets:
lines starting with `* ` or `-`).

It also reads each verdict's summary ("It follows 2 of the 3 instructions.") and compares the
score the verifiable targets give that summary (all followed 4, none 1, at least half 3, fewer 2:
`srlm_data::eft::verifiable_score`) with the score the verdict gives.

Usage: python3 stated-counts.py runs/demo/iter1/judgements.jsonl [runs/demo/iter2/...]
       python3 stated-counts.py runs/demo/report-judge/journal/M1-…-judging.jsonl
"""
import json
import re
import statistics
import sys


def bullets(text):
    return len(re.findall(r"^\s*\*[^\*].*$", text, flags=re.M)) + len(
        re.findall(r"^\s*-.*$", text, flags=re.M)
    )


def words(text):
    return len(re.findall(r"\w+", text))


STATED = {
    "words": (re.compile(r"\d+ words[;,.] the response has (\d+)"), words),
    "bullets": (re.compile(r"exactly (\d+) bullet points?[;,.] the response has (\d+)"), bullets),
}


SUMMARIES = [
    (re.compile(r"It follows the instruction\."), lambda m: (1, 1)),
    (re.compile(r"It follows all (\d+) instructions"), lambda m: (int(m[1]), int(m[1]))),
    (re.compile(r"It does not follow the instruction"), lambda m: (0, 1)),
    (re.compile(r"It follows none of the (\d+) instructions"), lambda m: (0, int(m[1]))),
    (re.compile(r"It follows (\d+) of the (\d+) instructions"), lambda m: (int(m[1]), int(m[2]))),
]


def summary_score(text):
    """The score the verifiable targets give the verdict's summary, or None without one."""
    for pattern, counts in SUMMARIES:
        m = pattern.search(text)
        if m:
            followed, total = counts(m)
            if total == 0 or followed >= total:
                return 4
            if followed == 0:
                return 1
            return 3 if 2 * followed >= total else 2
    return None


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(xs, ys):
    a, b = ranks(xs), ranks(ys)
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    var = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return cov / var if var else float("nan")


def judgements(path):
    """(context, response, [(verdict text, stated score or None)]) for every judged response in a
    loop iteration's `judgements.jsonl` (context: the prompt) or every entry of an `srlm eval`
    journal (`…-judging.jsonl`; context: the whole judge prompt, its key)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if "key" in entry:
                found = re.search(r"<response>(.*)</response>", entry["key"], re.S)
                if not found:
                    continue
                samples = []
                for completion in entry["completions"]:
                    scores = re.findall(r"Score:\s*(\d+)", completion["text"])
                    samples.append((completion["text"], int(scores[-1]) if scores else None))
                yield entry["key"], found.group(1), samples
                continue
            for response in entry["responses"]:
                judgement = response.get("judgement") or {}
                samples = []
                for text, sample in zip(judgement.get("texts", []), judgement.get("samples", [])):
                    score = sample.get("score")
                    samples.append((text, round(score) if score is not None else None))
                yield entry["prompt"], response["response"], samples


def main(paths):
    for path in paths:
        found = {"words": [], "bullets": []}
        summaries = {}
        for _, response, samples in judgements(path):
            for text, stated in samples:
                implied = summary_score(text)
                if implied is not None and stated is not None:
                    summaries[(implied, stated)] = summaries.get((implied, stated), 0) + 1
                for kind, (pattern, count) in STATED.items():
                    m = pattern.search(text)
                    if m:
                        found[kind].append((m.groups(), count(response)))
        w = [(int(g[0]), true) for g, true in found["words"]]
        print(f"{path}")
        if w:
            exact = sum(s == t for s, t in w)
            print(
                f"  words: {len(w)} stated counts, {exact} exact; median stated "
                f"{statistics.median(s for s, _ in w)}, median true "
                f"{statistics.median(t for _, t in w)}; Spearman "
                f"{spearman([s for s, _ in w], [t for _, t in w]):+.2f}"
            )
        b = [(int(g[0]), int(g[1]), true) for g, true in found["bullets"]]
        if b:
            print(
                f"  bullets (exactly N asked): {len(b)} stated counts, "
                f"{sum(s == t for _, s, t in b)} equal the true count, "
                f"{sum(s == n for n, s, _ in b)} equal the N asked for, "
                f"{sum(t == n for n, _, t in b)} responses have N"
            )
        if summaries:
            total = sum(summaries.values())
            same = sum(v for (i, g), v in summaries.items() if i == g)
            print(f"  scored verdicts with a summary: {total}, score as the summary implies: {same}")
            for implied in (1, 2, 3, 4):
                row = [summaries.get((implied, given), 0) for given in (1, 2, 3, 4)]
                print(f"    summary implies {implied}: scores 1-4 given {row}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
