#!/usr/bin/env python3
"""Summarises `perf script -F comm,tid,ip,sym` output of a --call-graph dwarf recording.

Usage: perf_breakdown.py SCRIPT_OUTPUT [PATTERN ...]

Prints, over all samples in the file: the inclusive share of every sample whose stack has a
frame containing PATTERN (each sample counted once, so inlined frames do not double-count),
then the top self (leaf) frames.
"""
import collections
import sys


def samples(path):
    cur = []
    for line in open(path, errors="replace"):
        if not line.strip() or not line.startswith((" ", "\t")):
            if cur:
                yield cur
            cur = []
            continue
        parts = line.strip().split(None, 1)
        cur.append(parts[1] if len(parts) > 1 else "?")
    if cur:
        yield cur


def main():
    all_samples = list(samples(sys.argv[1]))
    n = max(len(all_samples), 1)
    print(f"samples: {len(all_samples)}")
    print("--- inclusive")
    for pat in sys.argv[2:]:
        c = sum(1 for s in all_samples if any(pat in f for f in s))
        print(f"{100 * c / n:6.1f}%  {pat}")
    print("--- self (leaf frame)")
    leaf = collections.Counter(s[0] for s in all_samples if s)
    for f, c in leaf.most_common(30):
        print(f"{100 * c / n:6.1f}%  {f[:120]}")


if __name__ == "__main__":
    main()
