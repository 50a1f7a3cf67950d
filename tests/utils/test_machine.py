"""`tfrec.utils.machine`: the matmul rate recorded beside training times."""

import time

from tfrec.utils import machine

import pytest


def test_matmul_rate_counts_two_mkn_flops_per_product(monkeypatch):
    # A clock that advances 0.1 s per reading: the products' count and the elapsed time are
    # then known exactly, whatever the machine's real speed.
    clock = iter(step * 0.1 for step in range(1000))
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    rate = machine.matmul_rate(4, 5, 6, seconds=0.25)
    # Readings: start 0.0; after product 1: 0.1, product 2: 0.2, product 3: 0.3 (>= 0.25, stop);
    # the final reading 0.4 is the elapsed time: 3 products of 2*4*5*6 FLOPs in 0.4 s.
    assert rate == pytest.approx(3 * 2 * 4 * 5 * 6 / 0.4 / 1e9)


def test_snapshot_measures_a_positive_rate_and_reads_the_load():
    snapshot = machine.machine_snapshot(seconds=0.05)
    assert snapshot["fp32_matmul_gflops"] > 0
    assert snapshot["load_average"] is None or snapshot["load_average"] >= 0


def test_describe_snapshot_names_the_rate_and_the_load():
    line = machine.describe_snapshot({"fp32_matmul_gflops": 119.7, "load_average": 0.33})
    assert line == "fp32 matmul 119.7 GFLOP/s, load average 0.33"
    unknown = machine.describe_snapshot({"fp32_matmul_gflops": 5.0, "load_average": None})
    assert unknown == "fp32 matmul 5.0 GFLOP/s, load average None"
