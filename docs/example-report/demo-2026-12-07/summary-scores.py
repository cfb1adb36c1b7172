#!/usr/bin/env python3
"""The held-out verifiable pairs scored by each verdict's summary instead of its stated score.

`srlm eval` journals every verdict it samples (`OUT/journal/MODEL-…-judging.jsonl`: the judge
prompt as the key, the sampled completions). This matches each journaled judge prompt to its
held-out record (`verifiable-held-out.jsonl`, origin `verifiable:F/N`), scores each response
twice — the mean of the stated `Score: N`, and the mean of the score its summary implies
(`summary_score` of `stated-counts.py`) — and prints pairwise accuracy over the pairs the checks
order (a tie or an unscored side counts wrong), a 95 % bootstrap interval over prompts, and the
chance floor (scores shuffled among each prompt's responses, 200 shuffles), as `srlm eval` does.

Usage: python3 summary-scores.py runs/demo/verifiable-held-out.jsonl JOURNAL.jsonl [...]
"""
import importlib.util
import itertools
import json
import pathlib
import random
import sys

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("stated_counts", HERE / "stated-counts.py")
stated_counts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stated_counts)


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def accuracy(truth, by_prompt, scores, prompts):
    right = total = 0
    for prompt in prompts:
        for a, b in itertools.combinations(by_prompt[prompt], 2):
            if truth[a] == truth[b]:
                continue
            total += 1
            sa, sb = scores[a], scores[b]
            if sa is not None and sb is not None and sa != sb and (sa > sb) == (truth[a] > truth[b]):
                right += 1
    return right / total if total else float("nan"), total


def main(held_out, journals):
    truth = {}
    with open(held_out, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            truth[(record["prompt"], record["response"])] = int(record["origin"].split(":")[1].split("/")[0])
    rng = random.Random(0)
    for journal in journals:
        samples = {}
        for context, response, judged in stated_counts.judgements(journal):
            keys = [k for k in truth if k[1] == response and k[0] in context]
            if len(keys) == 1:
                samples[keys[0]] = [(stated, stated_counts.summary_score(t)) for t, stated in judged]
        by_kind = {
            "stated": {k: mean(s for s, _ in v) for k, v in samples.items()},
            "summary": {k: mean(i for _, i in v) for k, v in samples.items()},
        }
        for kind, scores in by_kind.items():
            by_prompt = {}
            for key in scores:
                by_prompt.setdefault(key[0], []).append(key)
            prompts = list(by_prompt)
            point, pairs = accuracy(truth, by_prompt, scores, prompts)
            draws = sorted(
                accuracy(truth, by_prompt, scores, [rng.choice(prompts) for _ in prompts])[0]
                for _ in range(1000)
            )
            floors = []
            for _ in range(200):
                shuffled = {}
                for prompt in prompts:
                    values = [scores[k] for k in by_prompt[prompt]]
                    rng.shuffle(values)
                    shuffled.update(zip(by_prompt[prompt], values))
                floors.append(accuracy(truth, by_prompt, shuffled, prompts)[0])
            print(
                f"{pathlib.Path(journal).name[:24]} {kind:8} {pairs} pairs: {point:.3f} "
                f"[{draws[25]:.3f}, {draws[974]:.3f}], chance {sum(floors) / len(floors):.3f}"
            )


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
