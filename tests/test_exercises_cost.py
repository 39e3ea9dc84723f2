"""The exercises of chapter 18: each solution in the chapter passes its check; typical
wrong answers fail with specific feedback."""

import numpy as np
from nbtools import problems, run_solution

from helpers.exercises.cost import check_assign_buckets, check_bucket_batches, check_padding_fraction

CHAPTER = "18_cost_of_padding"


# ---------------------------------------------------------------- padding fraction

def test_padding_fraction_solution_passes():
    fn = run_solution(CHAPTER, "ex-18-padding-fraction", "padding_fraction")
    result = check_padding_fraction(fn)
    assert result.passed, problems(result)
    assert "correct" in repr(result)


def test_padding_fraction_mean_of_batch_fractions_fails():
    def mean_of_fractions(batches):
        return float(np.mean([np.mean(np.asarray(b) == 0) for b in batches]))

    result = check_padding_fraction(mean_of_fractions)
    assert not result.passed
    assert "mean of the per-batch fractions" in problems(result)


def test_padding_fraction_real_fraction_and_stub_fail():
    def real_fraction(batches):
        return sum(int((np.asarray(b) != 0).sum()) for b in batches) / sum(np.asarray(b).size for b in batches)

    assert "fraction of REAL timesteps" in problems(check_padding_fraction(real_fraction))

    def stub(batches):
        raise NotImplementedError

    assert "not written yet" in problems(check_padding_fraction(stub))


# ---------------------------------------------------------------- buckets

def test_assign_buckets_solution_passes():
    fn = run_solution(CHAPTER, "ex-18-assign-buckets", "assign_buckets")
    result = check_assign_buckets(fn)
    assert result.passed, problems(result)


def test_assign_buckets_boundary_off_by_one_fails():
    def left(lengths, boundaries):
        return np.searchsorted(boundaries, lengths, side="left")

    result = check_assign_buckets(left)
    assert not result.passed
    assert "length 8 (position 1) should go to bucket 1, got 0" in problems(result)
    assert "starts the next bucket" in problems(result)


def test_assign_buckets_without_last_bucket_fails():
    def clipped(lengths, boundaries):
        return np.minimum(np.searchsorted(boundaries, lengths, side="right"), len(boundaries) - 1)

    result = check_assign_buckets(clipped)
    assert "go to the last bucket" in problems(result)


# ---------------------------------------------------------------- bucket batches

def test_bucket_batches_solution_passes():
    fn = run_solution(CHAPTER, "ex-18-bucket-batches", "bucket_batches")
    result = check_bucket_batches(fn)
    assert result.passed, problems(result)


def test_bucket_batches_mixing_buckets_fails():
    def plain_batches(lengths, boundaries, batch_size):
        idx = list(range(len(lengths)))
        return [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]

    result = check_bucket_batches(plain_batches)
    assert "mixes lengths [3, 30] from buckets [0, 1]" in problems(result)


def test_bucket_batches_never_flushing_early_fails():
    def one_batch_per_bucket(lengths, boundaries, batch_size):
        buckets = {}
        for i, length in enumerate(lengths):
            buckets.setdefault(sum(length >= b for b in boundaries), []).append(i)
        return list(buckets.values())

    result = check_bucket_batches(one_batch_per_bucket)
    assert not result.passed
    assert "more than batch_size=2" in problems(result)


def test_bucket_batches_losing_the_remainder_fails():
    def drop_remainder(lengths, boundaries, batch_size):
        open_, out = {}, []
        for i, length in enumerate(lengths):
            b = sum(length >= x for x in boundaries)
            open_.setdefault(b, []).append(i)
            if len(open_[b]) == batch_size:
                out.append(open_.pop(b))
        return out

    assert "are in no batch" in problems(check_bucket_batches(drop_remainder))
